package locking

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/safeopen"
)

func TestParseMethods(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"dotlock", "fcntl"}, "dotlock,fcntl", true},
		{[]string{"fcntl"}, "fcntl", true},
		{[]string{"dotlock", "fcntl-classic", "flock"}, "dotlock,fcntl-classic,flock", true},
		{[]string{"dotlock", "dotlock"}, "", false},
		{[]string{"fcntl", "fcntl-classic"}, "", false},
		{[]string{"lockf"}, "", false},
		{nil, "", false},
	} {
		m, err := ParseMethods(tc.in)
		if (err == nil) != tc.ok || tc.ok && m.String() != tc.want {
			t.Errorf("ParseMethods(%q) = %q, %v", tc.in, m, err)
		}
	}
}

// A kernel lock held by someone else makes Acquire drop the dot-lock, wait
// and start over (Debian Policy §11.6), and finally report busy — without
// leaving the dot-lock behind for the whole wait.
func TestAcquireKernelLockBusy(t *testing.T) {
	e := newEnv(t)
	fd, err := unix.Open(e.mbox, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := (sys.Real{}).SetLock(fd, sys.OFD, true); err != nil {
		t.Fatal(err)
	}
	f := e.sys()
	o := e.opts(f)
	o.Timeout = 300 * time.Millisecond
	_, err = Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
	be := mustBusy(t, err)
	if be.Holder == "" {
		t.Fatal("busy error does not say what holds the mailbox")
	}
	if n := calls(f, faulty.Rename, e.lock); n < 2 {
		t.Fatalf("dot-lock released %d times, want it dropped and retaken", n)
	}
	e.only()

	// Released by its holder meanwhile: acquired.
	go func() {
		time.Sleep(100 * time.Millisecond)
		(sys.Real{}).SetLock(fd, sys.OFD, false)
	}()
	o.Timeout = 2 * time.Second
	l, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, o, openRW)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	e.only()
}

// ENOLCK (an NFS mount without a lock manager) is not "busy": delivering
// unlocked is not safe, so it fails at once.
func TestAcquireNoLockManager(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.SetLock, Err: unix.ENOLCK})
	_, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(f), openRW)
	if !errors.Is(err, unix.ENOLCK) || isBusy(err) {
		t.Fatalf("got %v", err)
	}
	e.only()
}

// dotlock_may_fail: an unwritable lock directory leaves the kernel lock.
func TestDotlockMayFail(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Err: unix.EACCES})
	m := Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
	if _, err := Acquire(context.Background(), e.mbox, m, e.opts(f), openRW); !errors.Is(err, unix.EACCES) {
		t.Fatalf("without dotlock_may_fail: %v", err)
	}
	m.DotlockMayFail = true
	l, err := Acquire(context.Background(), e.mbox, m, e.opts(f), openRW)
	if err != nil {
		t.Fatal(err)
	}
	if !kernelHeld(t, e.mbox) {
		t.Fatal("kernel lock not held")
	}
	l.Release()
	e.only()
}

// A mailbox that safeopen refuses (here a FIFO) releases the dot-lock, and
// the refusal is returned as it is.
func TestAcquireUnsafeMailbox(t *testing.T) {
	e := newEnv(t)
	os.Remove(e.mbox)
	if err := unix.Mkfifo(e.mbox, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(e.sys()), openRW)
	if !errors.Is(err, safeopen.ErrUnsafe) {
		t.Fatalf("got %v, want ErrUnsafe", err)
	}
	e.only()
}

// A mailbox that does not exist yet has nothing to kernel-lock: the lock
// is the dot-lock alone, with no descriptor.
func TestAcquireMissingMailbox(t *testing.T) {
	e := newEnv(t)
	os.Remove(e.mbox)
	l, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(e.sys()), openRW)
	if err != nil {
		t.Fatal(err)
	}
	if l.FD() != -1 {
		t.Errorf("FD = %d, want -1", l.FD())
	}
	l.Release()
	e.only()
}

// Cancelling the context stops the wait and leaves nothing behind.
func TestAcquireCancel(t *testing.T) {
	e := newEnv(t)
	held := e.foreign()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	o := e.opts(e.sys())
	o.StaleForeign = time.Hour
	start := time.Now()
	_, err := AcquireDotlock(ctx, e.mbox, o)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
	e.holds(held, "0")
	e.only("M.lock")
}

// However long a waiter has waited, it takes a released lock within the
// backoff cap, not after the peers' fixed 5-8 s.
func TestWaiterTakesOverPromptly(t *testing.T) {
	e := newEnv(t)
	d := e.mustAcquire(e.opts(e.sys()))
	o := e.opts(e.sys())
	done := make(chan time.Time, 1)
	go func() {
		w, err := e.acquire(o)
		if err != nil {
			t.Error(err)
		}
		done <- time.Now()
		w.Release()
	}()
	time.Sleep(1500 * time.Millisecond) // the waiter's backoff is now at its cap
	released := time.Now()
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	if got := (<-done).Sub(released); got > maxBackoff+100*time.Millisecond {
		t.Fatalf("waiter took %s to take the released lock", got)
	}
}

// Release never removes a lock that is not ours.
func TestReleaseForeignLockUntouched(t *testing.T) {
	e := newEnv(t)
	d := e.mustAcquire(e.opts(e.sys()))
	os.Remove(e.lock)
	st := e.foreign()
	if err := d.Release(); !errors.Is(err, ErrLost) {
		t.Fatalf("release: %v", err)
	}
	e.holds(st, "0")
}

// A mailbox name long enough that MAILBOX.lock.<host>.<pid>.<token> does
// not fit in NAME_MAX, while MAILBOX.lock does, can still be locked, broken
// and released (dotlockfile can lock it too).
func TestLongMailboxName(t *testing.T) {
	e := newEnv(t)
	e.mbox = e.dir + "/" + strings.Repeat("m", 240)
	e.lock = e.mbox + ".lock"
	o := e.opts(e.sys())
	d := e.mustAcquire(o)
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	// A dead holder's lock, with its leftover unique file, is broken.
	id, _ := sys.Real{}.Identity()
	id.Pid = deadPid(t)
	ow, _ := newOwner(id)
	e.writeLock(ow.String())
	u, _ := uniqueName(e.lock, ow)
	os.WriteFile(u, nil, 0o644)
	d = e.mustAcquire(o)
	d.Release()
	e.only()
}

// The holder whose pid we found dead released the lock, and another took it,
// between our lookup and the liveness check: the new lock must be left
// alone, not renamed aside (which opens a window for a third waiter).
func TestDeadHolderReplacedBeforeBreak(t *testing.T) {
	e := newEnv(t)
	id, _ := sys.Real{}.Identity()
	dead := id
	dead.Pid = deadPid(t)
	od, _ := newOwner(dead)
	e.writeLock(od.String())
	live, _ := newOwner(id) // this process: alive
	var fresh sys.Stat
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.ProcStart, Count: 1, Do: func(faulty.Call) {
		fresh = e.writeLock(live.String())
	}})
	o := e.opts(f)
	o.Timeout = 300 * time.Millisecond
	_, err := e.acquire(o)
	mustBusy(t, err)
	if n := calls(f, faulty.Rename, e.lock); n != 0 {
		t.Fatalf("renamed the new holder's lock %d times", n)
	}
	e.holds(fresh, live.String())
}

// A timeout of ~0 tries exactly once: it succeeds on a free lock and fails
// at once on a held one.
func TestTryOnce(t *testing.T) {
	e := newEnv(t)
	o := e.opts(e.sys())
	o.Timeout = time.Nanosecond
	m := Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
	l, err := Acquire(context.Background(), e.mbox, m, o, openRW)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Acquire(context.Background(), e.mbox, m, o, openRW)
	mustBusy(t, err)
	if time.Since(start) > 100*time.Millisecond {
		t.Fatalf("tried for %s", time.Since(start))
	}
	l.Release()
	e.only()
}

// The reply to the O_EXCL create of the unique file is lost: the file was
// made, the retransmission gets EEXIST. The file is ours (pid and 128 random
// bits in its name) and must not be left behind (found by the NFS harness,
// internal/nfstest).
func TestLostCreateReply(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	r := f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Count: 1, Lost: true, Err: unix.EEXIST})
	d := e.mustAcquire(e.opts(f))
	if r.Fired() != 1 {
		t.Fatal("fault not injected")
	}
	d.Release()
	e.only()
}

// ESTALE from the lookup of our lock: once is asked again (NFS, or the
// kernel's one retry racing a rename); for good, the lock is lost, so that
// Release looks for where it went (found by the NFS harness).
func TestVerifyStale(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	d := e.mustAcquire(e.opts(f))
	once := f.Add(&faulty.Rule{Op: faulty.Lstat, Path: "M.lock", Count: 1, Err: unix.ESTALE})
	if err := d.Verify(); err != nil || once.Fired() != 1 {
		t.Fatalf("one ESTALE: %v (fired %d)", err, once.Fired())
	}
	always := f.Add(&faulty.Rule{Op: faulty.Lstat, Path: "M.lock", Err: unix.ESTALE})
	if err := d.Verify(); !errors.Is(err, ErrLost) || always.Fired() != 3 {
		t.Fatalf("ESTALE for good: %v (fired %d), want ErrLost after 3 lookups", err, always.Fired())
	}
	f.Reset()
	d.Release()
}

// A release whose unlink an NFS client turned into a silly rename (a waiter
// on the same client had the lock open), and whose RENAME the server then
// ran twice after losing its reply cache: the unlink reports ENOENT and the
// file stays as .nfs*, which the client forgot (seen under qemu, v3 with
// local_lock=all). The release finds it by its inode and removes it; a
// .nfs* file of another inode is not touched.
func TestReleaseRemovesLostSillyRename(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	d := e.mustAcquire(e.opts(f))
	other := filepath.Join(e.dir, ".nfs00000000000000990000002")
	if err := os.WriteFile(other, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	silly := filepath.Join(e.dir, ".nfs00000000000000150000001")
	rule := &faulty.Rule{Op: faulty.Unlink, Path: "M.lock.rel.*", Count: 1, Err: unix.ENOENT, Do: func(c faulty.Call) {
		if err := os.Rename(c.Path, silly); err != nil {
			t.Error(err)
		}
	}}
	f.Add(rule)
	if err := d.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if rule.Fired() != 1 {
		t.Fatal("the fault did not happen")
	}
	e.only(filepath.Base(other))
}
