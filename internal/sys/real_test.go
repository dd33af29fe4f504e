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
