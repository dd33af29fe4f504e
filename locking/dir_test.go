package locking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/safeopen"
)

// victim makes a directory that an attacker wants root to write into: a
// mailbox M, a stale foreign M.lock an hour old (which a waiter would
// break) and an old leftover release file (which a sweep would remove).
func victim(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for _, n := range []string{"M", "M.lock", "M.lock.rel.0123456789abcdef0123456789abcdef"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("0"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
}

// tree lists dir: every name with its inode, mode, size and mtime.
func tree(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, de := range ents {
		fi, err := os.Lstat(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s ino=%d %s %d %s\n", de.Name(), fi.Sys().(*syscall.Stat_t).Ino, fi.Mode(), fi.Size(), fi.ModTime())
	}
	return b.String()
}

// Issue 12 item 3: root (or anyone) locking DIR/pub/d/M, where d is a
// symlink that anyone could have planted (pub is world-writable), to a
// directory holding a stale M.lock. Before the fix the dot-lock was taken
// before the path was checked: the stale lock there was broken, unique
// and release files were made and leftovers swept. Now the lock is
// refused as unsafe and the link's target is untouched.
func TestPlantedDirectoryLinkRefusedBeforeLocking(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	victim(t, target)
	pub := filepath.Join(base, "pub")
	os.Mkdir(pub, 0o777)
	os.Chmod(pub, 0o777)
	if err := os.Symlink(target, filepath.Join(pub, "d")); err != nil {
		t.Fatal(err)
	}
	mailbox := filepath.Join(pub, "d", "M")
	before := tree(t, target)
	e := &env{t: t}
	o := e.opts(sys.Real{})
	o.StaleForeign = time.Millisecond // the lock there is stale by any rule
	o.Refresh = time.Millisecond

	for _, tc := range []struct {
		name string
		lock func() error
	}{
		{"AcquireDotlock", func() error {
			d, err := AcquireDotlock(context.Background(), mailbox, o)
			if err == nil {
				d.Release()
			}
			return err
		}},
		{"Acquire", func() error {
			l, err := Acquire(context.Background(), mailbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
			if err == nil {
				l.Release()
			}
			return err
		}},
		{"Acquire, kernel lock only", func() error {
			l, err := Acquire(context.Background(), mailbox, Methods{Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
			if err == nil {
				l.Release()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.lock(); !errors.Is(err, safeopen.ErrUnsafe) {
				t.Fatalf("lock through a planted directory link: %v, want ErrUnsafe", err)
			}
			if after := tree(t, target); after != before {
				t.Fatalf("the link's target changed:\n%s->\n%s", before, after)
			}
		})
	}
}

// The race the descriptor closes: the path is checked, and then, before
// the first lock file is made, a directory of the path is swapped for a
// symlink to another directory. Every lock operation (create, link,
// lookup, read, touch, rename, unlink, the mailbox's open) stays in the
// directory that was checked; the symlink's target is never touched, and
// the lock is taken and released normally where it was checked.
func TestDirectorySwappedAfterCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule func(swap func()) *faulty.Rule
	}{
		// Before the unique file is created: the first lock-file call.
		{"before_create", func(swap func()) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Count: 1, Do: func(faulty.Call) { swap() }}
		}},
		// Between link and lookup.
		{"after_link", func(swap func()) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Link, Path: "M.lock.*", Count: 1, After: func(faulty.Call) { swap() }}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			d, target := filepath.Join(base, "d"), filepath.Join(base, "target")
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, "M"), nil, 0o600)
			victim(t, target)
			before := tree(t, target)
			swap := func() {
				if err := os.Rename(d, d+".checked"); err != nil {
					t.Error(err)
				}
				if err := os.Symlink(target, d); err != nil {
					t.Error(err)
				}
			}
			f := faulty.New(sys.Real{})
			r := f.Add(tc.rule(swap))
			e := &env{t: t}
			o := e.opts(f)
			o.StaleForeign = time.Millisecond
			l, err := Acquire(context.Background(), filepath.Join(d, "M"), Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
			if err != nil {
				t.Fatalf("acquire: %v", err)
			}
			if r.Fired() != 1 {
				t.Fatal("the swap never happened")
			}
			if _, err := os.Lstat(filepath.Join(d+".checked", "M.lock")); err != nil {
				t.Errorf("the lock is not in the checked directory: %v", err)
			}
			if err := l.Check(); err != nil {
				t.Errorf("check: %v", err)
			}
			if err := l.Release(); err != nil {
				t.Errorf("release: %v", err)
			}
			if after := tree(t, target); after != before {
				t.Fatalf("the symlink's target changed:\n%s->\n%s", before, after)
			}
			if ents, _ := os.ReadDir(d + ".checked"); len(ents) != 1 {
				t.Errorf("left in the checked directory: %v", ents)
			}
		})
	}
}

// Every operation on a lock file — acquiring, breaking a stale lock,
// sweeping, refreshing, releasing — is made relative to the checked
// directory's descriptor, never by path: one path-based call would reopen
// the race of issue 12.
func TestLockFilesOnlyRelativeToDirectory(t *testing.T) {
	e := newEnv(t)
	stale := e.foreign()
	os.WriteFile(e.lock+".rel.0123456789abcdef0123456789abcdef", nil, 0o644)
	f := e.sys()
	e.age(f, stale, time.Hour)
	o := e.opts(f)
	l := e.mustLock(o)
	if err := l.Record(0, 10); err != nil { // an append in progress, written into the lock
		t.Fatal(err)
	}
	time.Sleep(3 * o.Refresh) // a few refreshes
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	var seen = map[faulty.Op]bool{}
	for _, c := range f.Calls() {
		if c.Op == faulty.Close || c.Op == faulty.Read || c.Op == faulty.Write || c.Op == faulty.Fstat || c.Op == faulty.Ftruncate || c.Op == faulty.SetLock || c.Op == faulty.LockHolder || c.Op == faulty.Mount {
			continue // on a descriptor
		}
		if !c.At {
			t.Errorf("%s by path", c)
		}
		seen[c.Op] = true
	}
	for _, op := range []faulty.Op{faulty.Open, faulty.Lstat, faulty.Link, faulty.Rename, faulty.Unlink, faulty.Touch, faulty.ReadDir} {
		if !seen[op] {
			t.Errorf("no %s call seen; the test no longer covers it", op)
		}
	}
}

// Releasing twice closes the lock directory once: a second close could hit
// a descriptor number the process has reused meanwhile.
func TestReleaseTwiceClosesDirectoryOnce(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	l := e.mustLock(e.opts(f))
	l.Release()
	l.Release()
	d := e.mustAcquire(e.opts(f))
	d.Release()
	d.Release()
	for _, c := range f.Calls() {
		// faulty forgets a descriptor's path when it is closed: a close
		// without one is of a descriptor closed already.
		if c.Op == faulty.Close && c.Path == "" {
			t.Errorf("close(%d) of a descriptor closed already", c.FD)
		}
	}
}
