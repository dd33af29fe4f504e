package sys

import (
	"time"
)

// Sys is the set of system calls letterbox's storage code may use.
//
// Paths are used as given: relative paths resolve against the working
// directory. No method follows a symlink in the last path component unless it
// says so.
type Sys interface {
	// Open is open(2). Callers should pass O_CLOEXEC.
	Open(path string, flags int, perm uint32) (fd int, err error)
	Close(fd int) error
	Read(fd int, p []byte) (int, error)
	// Pread is pread(2): a read at offset off that leaves the file offset.
	Pread(fd int, p []byte, off int64) (int, error)
	// Write is one write(2); it may write less than len(p).
	Write(fd int, p []byte) (int, error)
	Fsync(fd int) error
	Ftruncate(fd int, size int64) error
	Fstat(fd int) (Stat, error)
	// SetTimes sets the atime and mtime of the file open at fd:
	// futimens(2). The times are the caller's, not the server's: for dates
	// a file must carry (a message's delivery date), not for lock ages.
	SetTimes(fd int, atime, mtime time.Time) error
	// Syncfs makes everything written to the filesystem holding fd
	// durable: syncfs(2). One call replaces an fsync per file when many
	// files were written.
	Syncfs(fd int) error

	// Lstat returns fresh attributes of path without following a final
	// symlink: statx(2) with AT_STATX_FORCE_SYNC, so that on NFS the answer
	// comes from the server, not the attribute cache. The name-to-inode
	// mapping may still come from the client's dentry cache.
	Lstat(path string) (Stat, error)
	Link(oldpath, newpath string) error
	// LinkFD gives the file open at fd, made with O_TMPFILE and so
	// without a name, the name newpath: linkat(2) of /proc/self/fd/FD
	// with AT_SYMLINK_FOLLOW, which needs no privilege. Like link(2) it
	// never replaces newpath (EEXIST).
	LinkFD(fd int, newpath string) error
	Rename(oldpath, newpath string) error
	Unlink(path string) error
	Mkdir(path string, perm uint32) error
	// ReadDir returns the names in dir, without "." and "..".
	ReadDir(dir string) ([]string, error)
	// Touch sets the atime and mtime of path to the file server's current
	// time: utimensat(path, NULL, AT_SYMLINK_NOFOLLOW). On NFS a NULL time is
	// sent as SET_TO_SERVER_TIME; an explicit time would be the client's clock.
	Touch(path string) error

	// The *At calls are those above, on a name relative to the directory
	// open at dir (any descriptor of it, O_PATH included; unix.AT_FDCWD is
	// the working directory), so that a directory proven safe once cannot
	// be swapped for a symlink under them: the name is looked up in that
	// directory, not by its path again. LinkAt and RenameAt keep both
	// names in dir: links cannot cross file systems, and every lock file
	// lives beside the lock.

	// OpenAt is openat(2). Callers should pass O_CLOEXEC.
	OpenAt(dir int, name string, flags int, perm uint32) (fd int, err error)
	// LstatAt is Lstat relative to dir: statx(dir, name,
	// AT_SYMLINK_NOFOLLOW|AT_STATX_FORCE_SYNC).
	LstatAt(dir int, name string) (Stat, error)
	LinkAt(dir int, oldname, newname string) error
	RenameAt(dir int, oldname, newname string) error
	UnlinkAt(dir int, name string) error
	// TouchAt is Touch relative to dir.
	TouchAt(dir int, name string) error
	// ReadDirFD returns the names in the directory open at dir, without
	// "." and "..". It reads through a descriptor of its own, so dir's
	// offset is left alone and dir may be an O_PATH descriptor.
	ReadDirFD(dir int) ([]string, error)

	// SetLock places or removes a kernel lock on fd without blocking; see
	// LockKind. It returns EAGAIN (or EACCES, EWOULDBLOCK) when another holder
	// conflicts.
	SetLock(fd int, kind LockKind, lock bool) error
	// LockHolder reports whether some other open file description holds a
	// conflicting fcntl lock on fd's whole file (F_OFD_GETLK).
	LockHolder(fd int) (held bool, err error)
	// Mount describes the file system holding the file open at fd (any
	// descriptor, O_PATH included): fstatfs(2), and for NFS the mount's
	// options from /proc/self/mountinfo, which say whether kernel locks
	// reach the server.
	Mount(fd int) (Mount, error)

	// Now is the local clock. Deadlines are measured as differences of Now,
	// never compared with file timestamps.
	Now() time.Time
	// Identity describes this process, for lock ownership.
	Identity() (Identity, error)
	// ProcStart returns the start time of process pid in clock ticks since
	// boot (field 22 of /proc/PID/stat); ENOENT when there is no such
	// process or it is a zombie.
	ProcStart(pid int) (uint64, error)
}

// LockKind selects a kernel lock.
type LockKind int

const (
	// OFD is an open-file-description fcntl lock (F_OFD_SETLK): it belongs to
	// the open file, not the process, so closing another descriptor of the
	// same file elsewhere in the process does not drop it.
	OFD LockKind = iota
	// POSIX is a classic fcntl lock (F_SETLK), for filesystems or peers that
	// do not handle OFD locks.
	POSIX
	// Flock is flock(2). On Linux NFS it is emulated as a POSIX lock on the
	// server and conflicts with fcntl locks taken by the same process.
	Flock
)

func (k LockKind) String() string {
	switch k {
	case OFD:
		return "fcntl"
	case POSIX:
		return "fcntl-classic"
	case Flock:
		return "flock"
	}
	return "unknown"
}

// Mount is what letterbox needs to know of a file system.
type Mount struct {
	// NFS is set for an NFS mount (statfs type NFS_SUPER_MAGIC), any
	// version.
	NFS bool
	// Options are an NFS mount's options as the kernel shows them (the
	// super options of /proc/self/mountinfo: "rw,vers=3,...,local_lock=all");
	// empty for other file systems.
	Options string
}

// Stat is the part of a file's attributes letterbox decides on.
type Stat struct {
	Dev, Ino uint64
	Mode     uint32 // type and permission bits, as st_mode
	Nlink    uint64
	Uid, Gid uint32
	Size     int64
	Mtime    time.Time
	Ctime    time.Time
}

// SameFile reports whether s and t describe the same inode.
func (s Stat) SameFile(t Stat) bool { return s.Dev == t.Dev && s.Ino == t.Ino }

// Identity names a process across hosts and reboots: a pid is meaningful only
// together with the boot and the pid namespace it was issued in, and only
// while the process started at Start is still the one holding it.
type Identity struct {
	Host  string // hostname, as the kernel reports it; no DNS
	Boot  string // /proc/sys/kernel/random/boot_id
	PidNS string // inode of /proc/self/ns/pid
	Pid   int
	Start uint64 // clock ticks after boot
}
