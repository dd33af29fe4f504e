package sys

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Real is the kernel.
type Real struct{}

var _ Sys = Real{}

func (Real) Open(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, perm)
		// Opening a FIFO or a slow NFS file can be interrupted by a signal
		// the runtime uses for preemption; that is not a failure.
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func (Real) Close(fd int) error { return unix.Close(fd) }

func (Real) Read(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (Real) Pread(fd int, p []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (Real) Write(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (Real) Fsync(fd int) error                 { return unix.Fsync(fd) }
func (Real) Ftruncate(fd int, size int64) error { return unix.Ftruncate(fd, size) }

func (Real) SetTimes(fd int, atime, mtime time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	// futimens(fd, ts) is utimensat(fd, NULL, ts, 0); x/sys has no
	// wrapper that passes a NULL path.
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (Real) Syncfs(fd int) error { return unix.Syncfs(fd) }

func (Real) Fstat(fd int) (Stat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Stat{}, err
	}
	return fromStat(&st), nil
}

func (r Real) Lstat(path string) (Stat, error) { return r.LstatAt(unix.AT_FDCWD, path) }

func (Real) LstatAt(dir int, name string) (Stat, error) {
	var sx unix.Statx_t
	err := unix.Statx(dir, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS, &sx)
	if err == unix.ENOSYS || err == unix.EINVAL {
		// Kernels before 4.11 have no statx; lstat may be served from the
		// attribute cache, which is the best they offer.
		var st unix.Stat_t
		if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return Stat{}, err
		}
		return fromStat(&st), nil
	}
	if err != nil {
		return Stat{}, err
	}
	return Stat{
		Dev:   unix.Mkdev(sx.Dev_major, sx.Dev_minor),
		Ino:   sx.Ino,
		Mode:  uint32(sx.Mode),
		Nlink: uint64(sx.Nlink),
		Uid:   sx.Uid,
		Gid:   sx.Gid,
		Size:  int64(sx.Size),
		Mtime: time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec)),
		Ctime: time.Unix(sx.Ctime.Sec, int64(sx.Ctime.Nsec)),
	}, nil
}

func fromStat(st *unix.Stat_t) Stat {
	return Stat{
		Dev:   uint64(st.Dev),
		Ino:   uint64(st.Ino),
		Mode:  uint32(st.Mode),
		Nlink: uint64(st.Nlink),
		Uid:   st.Uid,
		Gid:   st.Gid,
		Size:  st.Size,
		Mtime: time.Unix(st.Mtim.Unix()),
		Ctime: time.Unix(st.Ctim.Unix()),
	}
}

func (Real) Link(oldpath, newpath string) error { return unix.Link(oldpath, newpath) }

func (Real) LinkFD(fd int, newpath string) error {
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, newpath, unix.AT_SYMLINK_FOLLOW)
}

func (Real) Rename(oldpath, newpath string) error { return unix.Rename(oldpath, newpath) }
func (Real) Unlink(path string) error             { return unix.Unlink(path) }
func (Real) Mkdir(path string, perm uint32) error { return unix.Mkdir(path, perm) }

func (Real) ReadDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, unwrap(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return names, unwrap(err)
}

func (r Real) Touch(path string) error { return r.TouchAt(unix.AT_FDCWD, path) }

func (Real) OpenAt(dir int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flags, perm)
		if err == unix.EINTR { // as in Open
			continue
		}
		return fd, err
	}
}

func (Real) LinkAt(dir int, oldname, newname string) error {
	return unix.Linkat(dir, oldname, dir, newname, 0)
}

func (Real) RenameAt(dir int, oldname, newname string) error {
	return unix.Renameat(dir, oldname, dir, newname)
}

func (Real) UnlinkAt(dir int, name string) error { return unix.Unlinkat(dir, name, 0) }

func (Real) TouchAt(dir int, name string) error {
	return unix.UtimesNanoAt(dir, name, nil, unix.AT_SYMLINK_NOFOLLOW)
}

func (r Real) ReadDirFD(dir int) ([]string, error) {
	// A descriptor of our own, open for reading: dir may be O_PATH, which
	// getdents refuses, and its offset is not ours to move.
	fd, err := r.OpenAt(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return names, unwrap(err)
}

func (Real) SetLock(fd int, kind LockKind, lock bool) error {
	if kind == Flock {
		how := unix.LOCK_UN
		if lock {
			how = unix.LOCK_EX | unix.LOCK_NB
		}
		return unix.Flock(fd, how)
	}
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: 0, Len: 0}
	if lock {
		lk.Type = unix.F_WRLCK
	}
	cmd := unix.F_OFD_SETLK
	if kind == POSIX {
		cmd = unix.F_SETLK
	}
	return unix.FcntlFlock(uintptr(fd), cmd, &lk)
}

func (Real) LockHolder(fd int) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

func (Real) Now() time.Time { return time.Now() }

func (r Real) Identity() (Identity, error) {
	var id Identity
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return id, fmt.Errorf("uname: %w", err)
	}
	id.Host = unix.ByteSliceToString(uts.Nodename[:])
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return id, fmt.Errorf("read boot id: %w", err)
	}
	id.Boot = strings.TrimSpace(string(b))
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return id, fmt.Errorf("read pid namespace: %w", err)
	}
	// "pid:[4026531836]" -> "4026531836"
	id.PidNS = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	id.Pid = os.Getpid()
	if id.Start, err = r.ProcStart(id.Pid); err != nil {
		return id, fmt.Errorf("read own start time: %w", err)
	}
	return id, nil
}

func (Real) ProcStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, unwrap(err)
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses; the fields after the last ')' are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	const startField = 22 - 3 // field 3 (state) is f[0]
	if len(f) <= startField {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	// A zombie (or a dying task) holds nothing: its locks and files are
	// gone; only its parent has not reaped it yet.
	if f[0] == "Z" || f[0] == "X" || f[0] == "x" {
		return 0, unix.ENOENT
	}
	return strconv.ParseUint(f[startField], 10, 64)
}

// unwrap returns the errno inside an *os.PathError or *os.SyscallError, so
// Real returns bare errnos like the rest of the seam.
func unwrap(err error) error {
	switch e := err.(type) {
	case *os.PathError:
		return e.Err
	case *os.SyscallError:
		return e.Err
	}
	return err
}
