package sys

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openFile makes a file holding "abc" with mode perm and opens it for
// reading through Real; the descriptor is closed when the test ends.
func openFile(t *testing.T, perm os.FileMode) (p string, fd int) {
	t.Helper()
	p = filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), perm); err != nil {
		t.Fatal(err)
	}
	fd, err := Real{}.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Real{}.Close(fd) })
	return p, fd
}

func TestLstatMatchesFstat(t *testing.T) {
	p, fd := openFile(t, 0o640)
	var r Real
	a, err := r.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Fstat(fd)
	if err != nil {
		t.Fatal(err)
	}
	// statx and fstat encode st_dev differently in the kernel ABI; the seam
	// must make them comparable, or no lock would ever be recognised as ours.
	if !a.SameFile(b) || a.Size != 3 || a.Mode&0o777 != 0o640 || !a.Mtime.Equal(b.Mtime) {
		t.Fatalf("lstat %+v, fstat %+v", a, b)
	}
}

func TestIdentity(t *testing.T) {
	id, err := Real{}.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.Host == "" || len(id.Boot) < 32 || id.PidNS == "" || id.Pid != os.Getpid() || id.Start == 0 {
		t.Fatalf("identity %+v", id)
	}
	if s, err := (Real{}).ProcStart(id.Pid); err != nil || s != id.Start {
		t.Fatalf("ProcStart = %d, %v", s, err)
	}
	if _, err := (Real{}).ProcStart(1 << 30); err != unix.ENOENT {
		t.Fatalf("ProcStart of no process: %v", err)
	}
}

func TestTouchUsesServerNow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, nil, 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	if err := (Real{}).Touch(p); err != nil {
		t.Fatal(err)
	}
	st, _ := Real{}.Lstat(p)
	if time.Since(st.Mtime) > time.Minute {
		t.Fatalf("mtime %s after touch", st.Mtime)
	}
}

func TestLocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "M")
	os.WriteFile(p, nil, 0o600)
	var r Real
	open := func() int {
		fd, err := r.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	a, b := open(), open()
	defer r.Close(a)
	defer r.Close(b)
	for _, k := range []LockKind{OFD, Flock} {
		if err := r.SetLock(a, k, true); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if err := r.SetLock(b, k, true); err == nil {
			t.Fatalf("%s: second open file got the lock too", k)
		}
		if k == OFD {
			if held, err := r.LockHolder(b); !held || err != nil {
				t.Fatalf("LockHolder = %v, %v", held, err)
			}
		}
		if err := r.SetLock(a, k, false); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLock(b, k, true); err != nil {
			t.Fatalf("%s after unlock: %v", k, err)
		}
		r.SetLock(b, k, false)
	}
}

// A killed child that its parent has not reaped yet is a zombie: it holds
// nothing, so it counts as gone.
func TestProcStartZombie(t *testing.T) {
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "60"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	if _, err := (Real{}).ProcStart(p.Pid); err != nil {
		t.Fatalf("live child: %v", err)
	}
	p.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := (Real{}).ProcStart(p.Pid)
		if err == unix.ENOENT {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("zombie still reported alive: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSetTimesAndSyncfs(t *testing.T) {
	p, fd := openFile(t, 0o600)
	var r Real
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := r.SetTimes(fd, when, when); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(when) {
		t.Fatalf("mtime %v, want %v", fi.ModTime(), when)
	}
	if err := r.Syncfs(fd); err != nil {
		t.Fatal(err)
	}
}

func TestLinkFD(t *testing.T) {
	dir := t.TempDir()
	var r Real
	fd, err := r.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Skipf("no O_TMPFILE on this filesystem: %v", err)
	}
	defer r.Close(fd)
	if _, err := r.Write(fd, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "named")
	if err := r.LinkFD(fd, p); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "abc" {
		t.Fatalf("%q %v", b, err)
	}
	// Never replaces.
	fd2, _ := r.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	defer r.Close(fd2)
	if err := r.LinkFD(fd2, p); err != unix.EEXIST {
		t.Fatalf("link over an existing name: %v", err)
	}
}

// The *At calls work on a name in the directory open at the descriptor,
// an O_PATH one included, and stay there when the directory's path is
// swapped for a symlink to another directory: the property the lock's
// directory descriptor exists for.
func TestAtCallsStayInTheirDirectory(t *testing.T) {
	var r Real
	base := t.TempDir()
	d, other := filepath.Join(base, "d"), filepath.Join(base, "other")
	os.Mkdir(d, 0o755)
	os.Mkdir(other, 0o755)
	dir, err := r.Open(d, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(dir)
	// d moves away and a symlink to other takes its name.
	if err := os.Rename(d, d+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, d); err != nil {
		t.Fatal(err)
	}

	fd, err := r.OpenAt(dir, "a", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fst, _ := r.Fstat(fd)
	r.Close(fd)
	st, err := r.LstatAt(dir, "a")
	if err != nil || !st.SameFile(fst) {
		t.Fatalf("LstatAt = %+v, %v; want the file just created", st, err)
	}
	if err := r.LinkAt(dir, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := r.RenameAt(dir, "b", "c"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(d+".moved", "c"), old, old)
	if err := r.TouchAt(dir, "c"); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.LstatAt(dir, "c"); time.Since(st.Mtime) > time.Minute {
		t.Fatalf("mtime %s after TouchAt", st.Mtime)
	}
	if err := r.UnlinkAt(dir, "a"); err != nil {
		t.Fatal(err)
	}
	names, err := r.ReadDirFD(dir)
	if err != nil || len(names) != 1 || names[0] != "c" {
		t.Fatalf("ReadDirFD = %q, %v; want [c]", names, err)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Fatalf("the symlink's target got %v", ents)
	}
	if err := SyncDirFD(r, dir, d); err != nil {
		t.Fatalf("SyncDirFD through an O_PATH descriptor: %v", err)
	}
}
