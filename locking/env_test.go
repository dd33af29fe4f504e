package locking

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// env is one test's mail directory with a mailbox M and its lock M.lock.
type env struct {
	t    *testing.T
	dir  string
	mbox string
	lock string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, mbox: filepath.Join(dir, "M"), lock: filepath.Join(dir, "M.lock")}
	if err := os.WriteFile(e.mbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// sys returns a fault injector over the real system.
func (e *env) sys() *faulty.Sys {
	return faulty.New(sys.Real{})
}

// host returns a fault injector that plays another machine: its own host
// name and boot id, so pids in its locks mean nothing here and vice versa.
func (e *env) host(name string) *faulty.Sys {
	f := e.sys()
	f.SetIdentity(func(id *sys.Identity) {
		id.Host = name
		id.Boot = "boot-of-" + name
	})
	return f
}

// opts are short limits, so that the matrix runs in seconds.
func (e *env) opts(s sys.Sys) Options {
	return Options{
		Sys:          s,
		Timeout:      2 * time.Second,
		StaleOwn:     300 * time.Millisecond,
		StaleForeign: 400 * time.Millisecond,
		Refresh:      30 * time.Millisecond,
		Log:          slog.New(slog.NewTextHandler(testWriter{e.t}, nil)),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) acquire(o Options) (*Dotlock, error) {
	e.t.Helper()
	return AcquireDotlock(context.Background(), e.mbox, o)
}

func (e *env) mustAcquire(o Options) *Dotlock {
	e.t.Helper()
	d, err := e.acquire(o)
	if err != nil {
		e.t.Fatalf("acquire: %v", err)
	}
	return d
}

// mustLock takes the combined lock: dot-lock and OFD lock on M.
func (e *env) mustLock(o Options) *Lock {
	e.t.Helper()
	l, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
	if err != nil {
		e.t.Fatalf("acquire: %v", err)
	}
	return l
}

// foreign writes a lock the way procmail and liblockfile do: content "0".
func (e *env) foreign() sys.Stat {
	e.t.Helper()
	return e.writeLock("0")
}

// writeLock puts a lock with content c in place, atomically.
func (e *env) writeLock(c string) sys.Stat {
	e.t.Helper()
	tmp := e.lock + ".tmp-test"
	if err := os.WriteFile(tmp, []byte(c), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.lock); err != nil {
		e.t.Fatal(err)
	}
	return e.stat(e.lock)
}

// ownLock writes a lock in letterbox's format for a holder with identity id.
func (e *env) ownLock(id sys.Identity) sys.Stat {
	e.t.Helper()
	o, err := newOwner(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.writeLock(o.String())
}

func (e *env) stat(path string) sys.Stat {
	e.t.Helper()
	st, err := sys.Real{}.Lstat(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// age makes f report the inode of st as last changed d ago (mtime and
// ctime), as a server would for a lock that old. The fake follows the inode,
// not the name, as real attributes do.
func (e *env) age(f *faulty.Sys, st sys.Stat, d time.Duration) {
	then := time.Now().Add(-d)
	f.Add(&faulty.Rule{Op: faulty.Lstat, Stat: func(s *sys.Stat) {
		if s.SameFile(st) {
			s.Mtime, s.Ctime = then, then
		}
	}})
}

// names lists the directory, without the mailbox.
func (e *env) names() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	var n []string
	for _, de := range ents {
		if de.Name() != "M" {
			n = append(n, de.Name())
		}
	}
	return n
}

// only asserts the directory holds exactly the given names besides M.
func (e *env) only(names ...string) {
	e.t.Helper()
	got := e.names()
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		e.t.Fatalf("directory holds %q, want %q", got, names)
	}
}

// holds asserts M.lock is the inode st with content c.
func (e *env) holds(st sys.Stat, c string) {
	e.t.Helper()
	now := e.stat(e.lock)
	if !now.SameFile(st) {
		e.t.Fatalf("M.lock is inode %d, want %d", now.Ino, st.Ino)
	}
	b, err := os.ReadFile(e.lock)
	if err != nil {
		e.t.Fatal(err)
	}
	if !bytes.Equal(b, []byte(c)) {
		e.t.Fatalf("M.lock holds %q, want %q", b, c)
	}
}

func isBusy(err error) bool {
	_, ok := err.(*BusyError)
	return ok
}

func mustBusy(t *testing.T, err error) *BusyError {
	t.Helper()
	be, ok := err.(*BusyError)
	if !ok {
		t.Fatalf("got %v, want a *BusyError", err)
	}
	return be
}

// calls counts f's calls of op on path (either side for link and rename).
func calls(f *faulty.Sys, op faulty.Op, path string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == op && (c.Path == path || c.Path2 == path) {
			n++
		}
	}
	return n
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return pid
}

// kernelHeld reports whether some open file description holds a lock on
// path, as another process would see it.
func kernelHeld(t *testing.T, path string) bool {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	held, err := sys.Real{}.LockHolder(fd)
	if err != nil {
		t.Fatal(err)
	}
	return held
}
