package locking

// The fault matrix of docs/locking.md §11, one named subtest
// per row, each asserting the row's "Expected outcome" through the
// fault-injecting seam. Every row is expressed in-process; the multi-host
// end-to-end versions run on a FUSE filesystem later (issue 7).

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

func TestFaultMatrix(t *testing.T) {
	rows := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"01_link_done_reply_lost_EEXIST", row01},
		{"02_link_done_reply_lost_EIO", row02},
		{"03_link_failed_but_nlink_says_2", row03},
		{"04_link_done_but_nlink_stuck_at_1", row04},
		{"05_lost_link_reply_and_cached_ENOENT", row05},
		{"06_release_done_reply_lost_ENOENT", row06},
		{"07a_replayed_rename_during_release", row07a},
		{"07b_late_replay_after_another_host_locked", row07b},
		{"08_stale_lock_replaced_before_break", row08},
		{"09_two_breakers_one_relocks_first", row09},
		{"10_lock_vanishes_before_stale_check", row10},
		{"11_client_clock_ahead_live_lock_kept", row11},
		{"12_client_clock_behind_dead_lock_broken", row12},
		{"13_old_lock_first_check", row13},
		{"14a_holder_killed_same_host", row14a},
		{"14b_holder_killed_other_host", row14b},
		{"15_long_hold_with_refresh_never_broken", row15},
		{"16_lock_after_long_wait_is_fresh", row16},
		{"17_directory_not_writable", row17},
		{"18_ENOSPC_EDQUOT_on_unique_file", row18},
		{"19_same_hostname_and_pid_on_two_hosts", row19},
		{"20_dead_holder_pid_reused", row20},
		{"21_lock_is_directory_or_symlink", row21},
		{"22_breaking_not_permitted", row22},
		{"23_partitioned_holder_aborts", row23},
		{"24_dotlock_forced_away_while_held", row24},
		{"25_fcntl_locker_excluded", row25},
		{"26_other_fd_closed_keeps_OFD_lock", row26},
		{"27_server_reboot_between_link_and_check", row27},
		{"28_refresh_hangs_writer_aborts", row28},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			r.run(t, newEnv(t))
		})
	}
}

// linkTo matches link calls whose new name is path.
func linkTo(path string) func(faulty.Call) bool {
	return func(c faulty.Call) bool { return c.Path2 == path }
}

// from matches calls whose (first) path is path.
func from(path string) func(faulty.Call) bool {
	return func(c faulty.Call) bool { return c.Path == path }
}

// Row 1: link(U, L) is performed but EEXIST comes back (lost reply, DRC
// miss). Expected: the fresh lookup of L has U's inode, so the lock is ours,
// and U is removed.
func row01(t *testing.T, e *env) {
	f := e.sys()
	r := f.Add(&faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Count: 1, Lost: true, Err: unix.EEXIST})
	d := e.mustAcquire(e.opts(f))
	if r.Fired() != 1 {
		t.Fatal("fault not injected")
	}
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	e.only("M.lock")
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	e.only()
}

// Row 2: as row 1, but the soft mount reports EIO.
func row02(t *testing.T, e *env) {
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Count: 1, Lost: true, Err: unix.EIO})
	d := e.mustAcquire(e.opts(f))
	e.only("M.lock")
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	e.only()
}

// Row 3: link really fails (someone holds L) but the filesystem reports
// nlink 2 for everything. Expected: not acquired (L's inode is not U's).
func row03(t *testing.T, e *env) {
	held := e.foreign()
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Lstat, Stat: func(s *sys.Stat) { s.Nlink = 2 }})
	f.Add(&faulty.Rule{Op: faulty.Fstat, Stat: func(s *sys.Stat) { s.Nlink = 2 }})
	o := e.opts(f)
	o.Timeout = 300 * time.Millisecond
	o.StaleForeign = time.Hour
	_, err := e.acquire(o)
	mustBusy(t, err)
	e.holds(held, "0")
	e.only("M.lock")
}

// Row 4: link succeeded but the attribute cache keeps nlink at 1.
// Expected: acquired through the inode comparison.
func row04(t *testing.T, e *env) {
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Lstat, Stat: func(s *sys.Stat) { s.Nlink = 1 }})
	f.Add(&faulty.Rule{Op: faulty.Fstat, Stat: func(s *sys.Stat) { s.Nlink = 1 }})
	d := e.mustAcquire(e.opts(f))
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	e.only()
}

// Row 5: a lost-reply link and then a lookup of L answered from a cached
// negative entry. Expected: link again (the server is the oracle), EEXIST,
// fresh lookup, ours.
func row05(t *testing.T, e *env) {
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Count: 1, Lost: true, Err: unix.EEXIST})
	cached := f.Add(&faulty.Rule{Op: faulty.Lstat, Match: from(e.lock), Count: 1, Err: unix.ENOENT})
	d := e.mustAcquire(e.opts(f))
	if cached.Fired() != 1 {
		t.Fatal("fault not injected")
	}
	if n := calls(f, faulty.Link, e.lock); n < 2 {
		t.Fatalf("%d link calls, want a retry", n)
	}
	e.only("M.lock")
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	e.only()
}

// Row 6: the release's rename and unlink are performed but report ENOENT.
// Expected: release succeeds, verified by lstat of the private name.
func row06(t *testing.T, e *env) {
	f := e.sys()
	d := e.mustAcquire(e.opts(f))
	f.Add(&faulty.Rule{Op: faulty.Rename, Match: from(e.lock), Count: 1, Lost: true, Err: unix.ENOENT})
	f.Add(&faulty.Rule{Op: faulty.Unlink, Path: "M.lock.rel.*", Count: 1, Lost: true, Err: unix.ENOENT})
	if err := d.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	e.only()
}

// Row 7, first case: our release rename is done, host B takes the lock, and
// the server then executes our rename again (a retransmission it did not
// recognise) before we see the reply: B's lock lands on our private name.
// Expected: the lstat of the private name shows a foreign inode, which is put
// back with link; B still holds its lock.
func row07a(t *testing.T, e *env) {
	fa := e.sys()
	a := e.mustAcquire(e.opts(fa))
	fb := e.host("b")
	var b *Dotlock
	fa.Add(&faulty.Rule{Op: faulty.Rename, Match: from(e.lock), Count: 1, After: func(c faulty.Call) {
		b = e.mustAcquire(e.opts(fb))
		if err := fa.Replay(c); err != nil {
			t.Errorf("replay: %v", err)
		}
	}})
	err := a.Release()
	if !errors.Is(err, ErrLost) {
		t.Fatalf("release: %v, want the displacement reported", err)
	}
	if err := b.Verify(); err != nil {
		t.Fatalf("B lost its lock: %v", err)
	}
	e.only("M.lock")
	if err := b.Release(); err != nil {
		t.Fatal(err)
	}
}

// Row 7, second case: the replay comes late, after our release returned and
// B holds the lock; nobody is there to put B's lock back. Expected: B's
// refresh detects that the lock is not its own any more and reports it lost
// (a writer rolls back).
func row07b(t *testing.T, e *env) {
	fa := e.sys()
	a := e.mustAcquire(e.opts(fa))
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	var rel faulty.Call
	for _, c := range fa.Calls() {
		if c.Op == faulty.Rename && c.Path == e.lock {
			rel = c
		}
	}
	b := e.mustLock(e.opts(e.host("b")))
	if err := fa.Replay(rel); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("B did not notice that its lock was moved away")
	}
	if err := b.Check(); !errors.Is(err, ErrLost) {
		t.Fatalf("check: %v, want ErrLost", err)
	}
	if err := b.Release(); !errors.Is(err, ErrLost) {
		t.Fatalf("release: %v, want ErrLost", err)
	}
	if _, err := os.Lstat(e.lock); !os.IsNotExist(err) {
		t.Fatal("release created or kept a lock it does not own")
	}
}

// Row 8: a stale lock is replaced by a fresh one between the staleness
// decision and the removal. Expected: the rename-aside moves the fresh lock,
// the check sees another inode, and it is restored; no two holders.
func row08(t *testing.T, e *env) {
	stale := e.foreign()
	f := e.sys()
	e.age(f, stale, time.Hour)
	// The replacement is a live letterbox lock of this very process.
	id, _ := sys.Real{}.Identity()
	o, _ := newOwner(id)
	var fresh sys.Stat
	f.Add(&faulty.Rule{Op: faulty.Rename, Match: from(e.lock), Count: 1, Do: func(faulty.Call) {
		fresh = e.writeLock(o.String())
	}})
	opt := e.opts(f)
	opt.Timeout = 500 * time.Millisecond
	_, err := e.acquire(opt)
	mustBusy(t, err)
	e.holds(fresh, o.String())
	e.only("M.lock")
}

// Row 9: two breakers judge the same stale lock; the first breaks and takes
// the lock before the second renames. Expected: the second moves the first's
// new lock aside, sees a foreign inode, restores it.
func row09(t *testing.T, e *env) {
	stale := e.foreign()
	f1, f2 := e.sys(), e.sys()
	e.age(f1, stale, time.Hour)
	e.age(f2, stale, time.Hour)
	var first *Dotlock
	f2.Add(&faulty.Rule{Op: faulty.Rename, Match: from(e.lock), Count: 1, Do: func(faulty.Call) {
		first = e.mustAcquire(e.opts(f1))
	}})
	o := e.opts(f2)
	o.Timeout = 500 * time.Millisecond
	_, err := e.acquire(o)
	mustBusy(t, err)
	if first == nil {
		t.Fatal("first breaker never ran")
	}
	if err := first.Verify(); err != nil {
		t.Fatalf("first breaker lost its lock: %v", err)
	}
	e.only("M.lock")
}

// Row 10: the lock vanishes between "it exists" and the stale check.
// Expected: treated as gone, link retried; L is never unlinked by name.
func row10(t *testing.T, e *env) {
	e.foreign()
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Open, Match: func(c faulty.Call) bool { return c.Path == e.lock }, Count: 1, Do: func(faulty.Call) {
		os.Remove(e.lock)
	}})
	d := e.mustAcquire(e.opts(f))
	if n := calls(f, faulty.Unlink, e.lock); n != 0 {
		t.Fatalf("unlinked the lock by name %d times", n)
	}
	d.Release()
}

// Row 11: our clock runs an hour ahead of the server; another host's live
// lock is refreshed. Expected: never broken (ages in server time).
func row11(t *testing.T, e *env) {
	holder := e.mustLock(e.opts(e.sys()))
	defer holder.Release()
	f := e.host("b")
	f.SkewClock(time.Hour)
	o := e.opts(f)
	o.Timeout = time.Second
	_, err := e.acquire(o)
	mustBusy(t, err)
	if err := holder.Check(); err != nil {
		t.Fatalf("live lock broken: %v", err)
	}
}

// Row 12: our clock runs an hour behind; another host's lock is dead.
// Expected: broken after StaleOwn of server time, not an hour later.
func row12(t *testing.T, e *env) {
	e.ownLock(sys.Identity{Host: "gone", Boot: "boot-gone", PidNS: "1", Pid: 4242, Start: 1})
	f := e.host("b")
	f.SkewClock(-time.Hour)
	o := e.opts(f)
	start := time.Now()
	d := e.mustAcquire(o)
	if waited := time.Since(start); waited < o.StaleOwn/2 {
		t.Fatalf("broken after %s, before it was stale", waited)
	}
	d.Release()
}

// Row 13: a lock two hours old that nobody has read (atime == mtime).
// Expected: its true age is seen at the first check, with the defaults.
func row13(t *testing.T, e *env) {
	st := e.foreign()
	f := e.sys()
	e.age(f, st, 2*time.Hour)
	o := e.opts(f)
	o.StaleOwn, o.StaleForeign = 0, 0 // defaults: 180 s, 1200 s
	o.Refresh = 30 * time.Millisecond
	d := e.mustAcquire(o)
	d.Release()
	e.only()
}

// Row 14, same host: the holder was SIGKILLed; its pid is dead. Expected:
// broken at once, and its leftover unique file swept.
func row14a(t *testing.T, e *env) {
	id, err := sys.Real{}.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id.Pid = deadPid(t)
	o, _ := newOwner(id)
	e.writeLock(o.String())
	u, _ := uniqueName(e.lock, o)
	if err := os.WriteFile(u, []byte(o.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := e.opts(e.sys())
	opt.StaleOwn, opt.StaleForeign = time.Hour, time.Hour
	opt.Refresh = time.Minute
	d := e.mustAcquire(opt)
	e.only("M.lock")
	d.Release()
}

// Row 14, other host: a dead holder elsewhere is judged by age. Expected:
// broken after StaleOwn (plus confirmation); its old leftovers are swept.
func row14b(t *testing.T, e *env) {
	e.ownLock(sys.Identity{Host: "a", Boot: "boot-a", PidNS: "1", Pid: 4242, Start: 1})
	f := e.host("b")
	junk := filepath.Join(e.dir, "M.lock.rel.0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(junk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.age(f, e.stat(junk), 2*time.Hour)
	o := e.opts(f)
	start := time.Now()
	d := e.mustAcquire(o)
	if waited := time.Since(start); waited < o.StaleOwn {
		t.Fatalf("broken after %s, before StaleOwn", waited)
	}
	e.only("M.lock")
	d.Release()
}

// Row 15: a hold longer than every peer's stale limit, with refresh.
// Expected: never broken, neither by letterbox on another host nor by a
// liblockfile-style rule (mtime older than a limit by the local clock).
func row15(t *testing.T, e *env) {
	holder := e.mustLock(e.opts(e.sys()))
	const peerLimit = 150 * time.Millisecond // stands for liblockfile's 300 s
	var wouldBreak atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if st, err := os.Stat(e.lock); err == nil && time.Since(st.ModTime()) > peerLimit {
				wouldBreak.Add(1)
			}
		}
	}()
	o := e.opts(e.host("b"))
	o.Timeout = 1500 * time.Millisecond // 5x StaleOwn
	_, err := e.acquire(o)
	close(stop)
	wg.Wait()
	mustBusy(t, err)
	if n := wouldBreak.Load(); n > 0 {
		t.Fatalf("lock looked older than %s to a peer %d times", peerLimit, n)
	}
	if err := holder.Check(); err != nil {
		t.Fatal(err)
	}
	if err := holder.Release(); err != nil {
		t.Fatal(err)
	}
}

// Row 16: a waiter that gets the lock after a long wait. Expected: the lock
// it creates is fresh in server time (its unique file was touched before
// each link), not as old as the wait.
func row16(t *testing.T, e *env) {
	holder := e.mustAcquire(e.opts(e.sys()))
	go func() {
		time.Sleep(600 * time.Millisecond)
		holder.Release()
	}()
	o := e.opts(e.sys())
	o.StaleOwn = time.Hour
	d := e.mustAcquire(o)
	if age := time.Since(e.stat(e.lock).Mtime); age > 200*time.Millisecond {
		t.Fatalf("lock born %s old", age)
	}
	d.Release()
}

// Row 17: the lock directory is not writable, or read-only. Expected: fail
// at once, not after the timeout, with nothing left behind.
func row17(t *testing.T, e *env) {
	for _, errno := range []unix.Errno{unix.EACCES, unix.EROFS} {
		f := e.sys()
		f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Err: errno})
		start := time.Now()
		_, err := e.acquire(e.opts(f))
		if !errors.Is(err, errno) || isBusy(err) {
			t.Fatalf("%v: got %v", errno, err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%v: waited %s for a permanent error", errno, time.Since(start))
		}
		e.only()
	}
}

// Row 18: ENOSPC or EDQUOT creating, writing, closing or linking the unique
// file. Expected: a sporadic one (NFS) is retried; one that lasts spaceRetry
// fails quickly with its own error — not a *BusyError after the whole
// lock_timeout, which would also say "lock busy" (4.2.0) for a full disk
// (4.3.1) — and nothing is left behind.
func row18(t *testing.T, e *env) {
	t.Run("create_then_space", func(t *testing.T) {
		f := e.sys()
		r := f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Count: 3, Err: unix.ENOSPC})
		d := e.mustAcquire(e.opts(f))
		if r.Fired() != 3 {
			t.Fatal("fault not injected")
		}
		d.Release()
		e.only()
	})
	t.Run("write", func(t *testing.T) {
		f := e.sys()
		f.Add(&faulty.Rule{Op: faulty.Write, Path: "M.lock.*", Count: 2, Err: unix.ENOSPC})
		d := e.mustAcquire(e.opts(f))
		d.Release()
		e.only()
	})
	t.Run("link_done_reply_ENOSPC", func(t *testing.T) {
		// As row 2: the lookup, not link's answer, decides.
		f := e.sys()
		f.Add(&faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Count: 1, Lost: true, Err: unix.ENOSPC})
		d := e.mustAcquire(e.opts(f))
		e.only("M.lock")
		d.Release()
		e.only()
	})
	full := []struct {
		name  string
		rule  faulty.Rule
		errno unix.Errno
	}{
		{"create_always_ENOSPC", faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Err: unix.ENOSPC}, unix.ENOSPC},
		{"write_always_ENOSPC", faulty.Rule{Op: faulty.Write, Path: "M.lock.*", Err: unix.ENOSPC}, unix.ENOSPC},
		{"close_always_EDQUOT", faulty.Rule{Op: faulty.Close, Path: "M.lock.*", Err: unix.EDQUOT}, unix.EDQUOT},
		{"link_always_ENOSPC", faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Err: unix.ENOSPC}, unix.ENOSPC},
	}
	for _, tc := range full {
		for _, timeout := range []time.Duration{DefaultTimeout, 300 * time.Millisecond} {
			t.Run(tc.name+"/timeout_"+timeout.String(), func(t *testing.T) {
				f := e.sys()
				rule := tc.rule
				r := f.Add(&rule)
				o := e.opts(f)
				o.Timeout = timeout
				start := time.Now()
				_, err := e.acquire(o)
				waited := time.Since(start)
				var be *BusyError
				if !errors.Is(err, tc.errno) || errors.As(err, &be) {
					t.Fatalf("got %v (%T), want an error wrapping %v", err, err, tc.errno)
				}
				if limit := min(timeout, spaceRetry) + time.Second; waited > limit {
					t.Fatalf("failed after %s, want within %s", waited, limit)
				}
				if r.Fired() < 2 {
					t.Fatalf("tried %d times; a sporadic error deserves a retry", r.Fired())
				}
				e.only()
			})
		}
	}
	t.Run("through_Acquire", func(t *testing.T) {
		f := e.sys()
		f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Err: unix.ENOSPC})
		o := e.opts(f)
		o.Timeout = DefaultTimeout
		m := Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
		start := time.Now()
		_, err := Acquire(context.Background(), e.mbox, m, o, openRW)
		var be *BusyError
		if !errors.Is(err, unix.ENOSPC) || errors.As(err, &be) || time.Since(start) > spaceRetry+time.Second {
			t.Fatalf("after %s: %v", time.Since(start), err)
		}
		if kernelHeld(t, e.mbox) {
			t.Fatal("kernel lock left held")
		}
		e.only()
	})
}

// Row 19: two hosts (containers) with the same short hostname and pid.
// Expected: their unique names never collide (random part), and neither
// judges the other's pid as local (boot id differs).
func row19(t *testing.T, e *env) {
	twin := func(boot string) *faulty.Sys {
		f := e.sys()
		f.SetIdentity(func(id *sys.Identity) { id.Host, id.Boot, id.Pid = "mx", boot, 4242 })
		return f
	}
	fa, fb := twin("boot-a"), twin("boot-b")
	var wg sync.WaitGroup
	for _, f := range []*faulty.Sys{fa, fb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				d, err := e.acquire(e.opts(f))
				if err != nil {
					t.Error(err)
					return
				}
				if err := d.Release(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	e.only()

	// Pid 4242 is not alive here; were B to take A's lock for local, it
	// would break it at once.
	a := e.mustAcquire(e.opts(fa))
	o := e.opts(fb)
	o.StaleOwn = time.Hour
	o.Timeout = 300 * time.Millisecond
	_, err := e.acquire(o)
	mustBusy(t, err)
	if err := a.Verify(); err != nil {
		t.Fatal(err)
	}
	a.Release()
}

// Row 20: the dead holder's pid now belongs to another live process (here:
// this one). Expected: the start time differs, so the lock is stale at once.
func row20(t *testing.T, e *env) {
	id, err := sys.Real{}.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id.Start++ // same pid, another process
	e.ownLock(id)
	o := e.opts(e.sys())
	o.StaleOwn, o.StaleForeign, o.Refresh = time.Hour, time.Hour, time.Minute
	d := e.mustAcquire(o)
	d.Release()
}

// Row 21: L is a directory or a symlink. Expected: never broken, reported at
// once.
func row21(t *testing.T, e *env) {
	for _, kind := range []string{"directory", "symlink", "dangling symlink"} {
		switch kind {
		case "directory":
			os.Mkdir(e.lock, 0o755)
		case "symlink":
			os.Symlink(e.mbox, e.lock)
		case "dangling symlink":
			os.Symlink(filepath.Join(e.dir, "nowhere"), e.lock)
		}
		before := e.stat(e.lock)
		o := e.opts(e.sys())
		o.StaleForeign = time.Nanosecond // even when "stale"
		_, err := e.acquire(o)
		if !errors.Is(err, ErrNotLockFile) {
			t.Fatalf("%s: got %v", kind, err)
		}
		if !e.stat(e.lock).SameFile(before) {
			t.Fatalf("%s was touched", kind)
		}
		e.only("M.lock")
		os.Remove(e.lock)
	}
}

// Row 22: breaking is not permitted (sticky directory, immutable file).
// Expected: reported, and waiting goes on until the deadline.
func row22(t *testing.T, e *env) {
	st := e.foreign()
	f := e.sys()
	e.age(f, st, time.Hour)
	f.Add(&faulty.Rule{Op: faulty.Rename, Match: from(e.lock), Err: unix.EPERM})
	o := e.opts(f)
	o.Timeout = 500 * time.Millisecond
	start := time.Now()
	_, err := e.acquire(o)
	be := mustBusy(t, err)
	if !errors.Is(be, unix.EPERM) || !strings.Contains(be.Error(), "cannot break") {
		t.Fatalf("error %q does not report the refusal", be)
	}
	if time.Since(start) < o.Timeout {
		t.Fatal("gave up before the deadline")
	}
	e.holds(st, "0")
}

// Row 23: the holder is cut off (its calls hang), others break its lock,
// then the partition heals. Expected: the holder learns it lost the lock
// before anyone else can have it, so no late write lands.
func row23(t *testing.T, e *env) {
	fh := e.sys()
	holder := e.mustLock(e.opts(fh))
	fh.Add(&faulty.Rule{Op: faulty.Lstat, Match: from(e.lock), Delay: time.Second})
	fh.Add(&faulty.Rule{Op: faulty.Touch, Match: from(e.lock), Delay: time.Second})
	start := time.Now()
	lostAt := make(chan time.Duration, 1)
	go func() {
		<-holder.Lost()
		lostAt <- time.Since(start)
	}()
	// The server drops a cut-off client's kernel locks when its lease
	// expires (NFSv4: 90 s, shorter than stale_lock_own); here, at half the
	// stale time.
	fd := holder.FD()
	expired := make(chan struct{})
	time.AfterFunc(e.opts(nil).StaleOwn/2, func() {
		defer close(expired)
		if err := (sys.Real{}).SetLock(fd, sys.OFD, false); err != nil {
			t.Errorf("expire lease: %v", err)
		}
	})
	o := e.opts(e.host("b"))
	d := e.mustAcquire(o)
	gotAt := time.Since(start)
	<-expired
	select {
	case <-holder.Lost():
	default:
		t.Fatal("holder not told")
	}
	if at := <-lostAt; at >= gotAt {
		t.Fatalf("holder told at %s, other host got the lock at %s", at, gotAt)
	}
	if err := holder.Check(); !errors.Is(err, ErrLost) {
		t.Fatalf("check: %v", err)
	}
	fh.Reset() // the partition heals
	if err := holder.Release(); !errors.Is(err, ErrLost) {
		t.Fatalf("release: %v", err)
	}
	if err := d.Verify(); err != nil {
		t.Fatalf("the healed holder's release hurt the new one: %v", err)
	}
	d.Release()
}

// Row 24: a mutt user forces the dot-lock away while we hold the mailbox.
// Expected: mutt's fcntl lock fails while we hold ours; a dot-lock-only tool
// that removes L is detected by the refresh, and the holder told.
func row24(t *testing.T, e *env) {
	l := e.mustLock(e.opts(e.sys()))
	fd, err := unix.Open(e.mbox, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := (sys.Real{}).SetLock(fd, sys.POSIX, true); err == nil {
		t.Fatal("mutt's fcntl lock succeeded while we hold the mailbox")
	}
	os.Remove(e.lock)
	select {
	case <-l.Lost():
	case <-time.After(time.Second):
		t.Fatal("removal not detected")
	}
	if err := l.Check(); !errors.Is(err, ErrLost) {
		t.Fatalf("check: %v", err)
	}
	if err := l.Release(); !errors.Is(err, ErrLost) {
		t.Fatalf("release: %v", err)
	}
	e.only()
}

// Row 25: NeoMutt, which ignores dot-locks, syncs the mailbox. Expected: its
// fcntl lock (and a flock) fails while we hold our OFD lock.
func row25(t *testing.T, e *env) {
	l := e.mustLock(e.opts(e.sys()))
	defer l.Release()
	fd, err := unix.Open(e.mbox, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, k := range []sys.LockKind{sys.POSIX, sys.OFD} {
		if err := (sys.Real{}).SetLock(fd, k, true); !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			t.Fatalf("%s lock while we hold the mailbox: %v", k, err)
		}
	}
}

// Row 26: other code in the process opens and closes the mailbox while we
// hold it. Expected: the OFD lock stays (a classic POSIX lock would be gone,
// which is shown for contrast).
func row26(t *testing.T, e *env) {
	closeOther := func() {
		fd, err := unix.Open(e.mbox, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	l := e.mustLock(e.opts(e.sys()))
	closeOther()
	if !kernelHeld(t, e.mbox) {
		t.Fatal("OFD lock dropped by an unrelated close")
	}
	l.Release()

	p, err := Acquire(context.Background(), e.mbox, Methods{Kernel: []sys.LockKind{sys.POSIX}}, e.opts(e.sys()), openRW)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	closeOther()
	if kernelHeld(t, e.mbox) {
		t.Fatal("expected the classic lock to be dropped (why OFD is the default)")
	}
}

// Row 27: the server reboots between our link and its reply; the reply
// cache is gone, the retransmitted link fails with EEXIST. Expected: as row
// 1 — the inode comparison finds the lock ours.
func row27(t *testing.T, e *env) {
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Link, Match: linkTo(e.lock), Count: 1, After: func(c faulty.Call) {
		// The retransmission, executed by the rebooted server.
		if err := f.Replay(c); !errors.Is(err, unix.EEXIST) {
			t.Errorf("replayed link: %v", err)
		}
	}, Lost: true, Err: unix.EEXIST})
	d := e.mustAcquire(e.opts(f))
	e.only("M.lock")
	d.Release()
}

// Row 28: the refresh cannot run (the server hangs) for longer than half the
// time after which others may break the lock. Expected: the holder is told
// the lock is lost and Check fails, so a writer aborts before it commits.
func row28(t *testing.T, e *env) {
	f := e.sys()
	o := e.opts(f)
	l := e.mustLock(o)
	f.Add(&faulty.Rule{Op: faulty.Lstat, Match: from(e.lock), Delay: 2 * time.Second})
	select {
	case <-l.Lost():
	case <-time.After(time.Second):
		t.Fatal("hung refresh not detected")
	}
	if err := l.Check(); !errors.Is(err, ErrLost) {
		t.Fatalf("check: %v", err)
	}
	f.Reset()
	l.Release()
}
