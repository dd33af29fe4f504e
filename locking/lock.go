package locking

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/safeopen"
)

// Lock is a mailbox held under all of its methods: the dot-lock, refreshed in
// the background, and kernel locks on the mailbox file, opened by
// safeopen.OpenIn once the dot-lock is held.
type Lock struct {
	o     Options
	path  string
	dir   safeopen.Dir // the mailbox's directory, checked before anything else
	dot   *Dotlock     // nil without a dot-lock
	fd    int
	kinds []sys.LockKind // kernel locks held on fd

	mu       sync.Mutex
	lastOK   time.Time // last proof of ownership, by the local clock
	err      error     // why the lock was lost
	stopped  bool
	lost     chan struct{}
	refreshT *time.Timer // refreshTick
	watchT   *time.Timer // watchTick
	running  sync.WaitGroup
}

// Acquire locks mailbox in the order of docs/locking.md §10.6 (Debian Policy
// §11.6, non-blocking variant): the dot-lock first, never while holding a
// kernel lock; then open; then each kernel lock without blocking. If a kernel
// lock cannot be had, everything is released and, after a random wait,
// everything is tried again, until o.Timeout. That order cannot deadlock
// against peers that lock in either order (mutt: fcntl first; procmail,
// Postfix: dot-lock first).
//
// First of all, before anything is created, the mailbox's directory is
// opened by safeopen.OpenDir, which refuses (ErrUnsafe) a symlink on its
// path that an ordinary user could have planted; the dot-lock and the
// mailbox are then worked on relative to that directory only, so a
// directory swapped for a symlink later cannot redirect them.
//
// With open set, the mailbox is opened under the dot-lock by safeopen.OpenIn
// with those options, and the Lock owns the descriptor (FD); a mailbox
// that does not exist, when open does not create it, gives FD -1: there is
// nothing to lock, and the dot-lock alone keeps deliveries out. Without
// open nothing is opened, and kernel methods are ignored.
//
// Kernel methods on an NFS mount that keeps them on this machine are
// refused before anything is created (a *LocalLockError, shared.go),
// unless m.TrustLocal.
//
// Errors are those of safeopen.OpenDir, AcquireDotlock and safeopen.OpenIn,
// a *LocalLockError, and a *BusyError when a kernel lock stays taken. On
// success the caller owes Release; it should call Check before it commits
// (fsync) and watch Lost while it writes.
func Acquire(ctx context.Context, mailbox string, m Methods, o Options, open *safeopen.Options) (*Lock, error) {
	o = o.withDefaults()
	s := o.Sys
	dir, err := safeopen.OpenDir(s, dirOf(mailbox))
	if err != nil {
		return nil, err
	}
	l, err := acquire(ctx, dir, mailbox, m, o, open)
	if err != nil {
		s.Close(dir.FD)
	}
	return l, err
}

// acquire is Acquire in the directory dir; the Lock it returns owns dir.
func acquire(ctx context.Context, dir safeopen.Dir, mailbox string, m Methods, o Options, open *safeopen.Options) (*Lock, error) {
	s := o.Sys
	start := s.Now()
	deadline := start.Add(o.Timeout)
	backoff := 10 * time.Millisecond
	if open != nil && len(m.Kernel) > 0 && !m.TrustLocal {
		if err := checkShared(s, dir.FD, mailbox, m.Kernel); err != nil {
			return nil, err
		}
	}
	kernelBusy := false // the kernel lock, not the dot-lock, kept us out
	busy := func(err error) error {
		if be, ok := err.(*BusyError); ok {
			be.Waited = s.Now().Sub(start)
			if kernelBusy && be.Holder == "" {
				be.Lock, be.Holder = mailbox, "a kernel lock on the mailbox"
			}
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		var dot *Dotlock
		if m.Dotlock {
			// The first attempt is always made, however short the timeout:
			// a timeout of ~0 means "try once".
			oo := o
			oo.Timeout = deadline.Sub(s.Now())
			if oo.Timeout <= 0 && attempt > 0 {
				return nil, busy(&BusyError{Lock: mailbox + ".lock"})
			}
			oo.Timeout = max(oo.Timeout, time.Nanosecond)
			var err error
			dot, err = acquireDotlock(ctx, lockDir{s, dir}, mailbox, oo)
			switch {
			case err == nil:
			case m.DotlockMayFail && denied(err):
				o.Log.Warn("continuing without dot-lock", "mailbox", mailbox, "err", err)
			default:
				return nil, busy(err)
			}
		}
		l := &Lock{o: o, path: mailbox, dir: dir, dot: dot, fd: -1, lost: make(chan struct{})}
		if open != nil {
			fd, err := safeopen.OpenIn(s, dir, filepath.Base(mailbox), *open)
			if err != nil && !(errors.Is(err, unix.ENOENT) && open.Mode != safeopen.Append) {
				l.release()
				return nil, err
			}
			l.fd = fd
		}
		taken, err := l.kernelLock(m.Kernel)
		if err == nil {
			l.undoInterrupted()
			l.lastOK = s.Now()
			if dot != nil {
				// Timers, not goroutines: nothing runs until they fire, which
				// keeps a short hold (the common case) cheap. They are set
				// under mu, which their callbacks take first (enter), so a
				// callback never sees them unset.
				l.mu.Lock()
				l.refreshT = time.AfterFunc(o.Refresh, l.refreshTick)
				l.watchT = time.AfterFunc(l.watchEvery(), l.watchTick)
				l.mu.Unlock()
			}
			return l, nil
		}
		l.release()
		if !taken {
			return nil, err
		}
		kernelBusy = true
		// Debian Policy §11.6 footnote: the second lock is taken: "remove the
		// first lock, wait a (random) time, and start over".
		d := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, maxBackoff)
		left := deadline.Sub(s.Now())
		if left <= 0 {
			return nil, busy(&BusyError{Lock: mailbox})
		}
		t := time.NewTimer(min(d, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, &InterruptedError{Mailbox: mailbox, Err: ctx.Err()}
		}
	}
}

// kernelLock takes each kernel lock on l.fd without blocking, retrying a
// few times over some milliseconds (cf. Postfix deliver_flock()). taken
// reports that a lock is held by someone else.
func (l *Lock) kernelLock(kinds []sys.LockKind) (taken bool, err error) {
	if l.fd < 0 {
		return false, nil
	}
	s := l.o.Sys
	for _, k := range kinds {
		for try := 0; ; try++ {
			err = s.SetLock(l.fd, k, true)
			if err == nil {
				l.kinds = append(l.kinds, k)
				break
			}
			conflict := errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EWOULDBLOCK)
			if !conflict {
				// ENOLCK (no lock manager on an NFS mount), EBADF...:
				// delivering without the lock is not safe.
				return false, fmt.Errorf("lock %s (%s): %w", l.path, k, err)
			}
			if try == 3 {
				return true, fmt.Errorf("lock %s (%s): %w", l.path, k, err)
			}
			time.Sleep(time.Millisecond + rand.N(4*time.Millisecond))
		}
	}
	return false, nil
}

// FD returns the descriptor of the open mailbox, or -1.
func (l *Lock) FD() int { return l.fd }

// Lost is closed when the lock is found lost while held; Check then returns
// the reason. A writer must stop and roll back.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Check proves the lock is still held: it was not found lost, it was proven
// ours recently enough that no other machine may have broken it, and the
// dot-lock still names our inode and token now. A writer calls it before it
// commits; an error means it must roll back.
func (l *Lock) Check() error {
	l.mu.Lock()
	err, last := l.err, l.lastOK
	l.mu.Unlock()
	if err != nil || l.dot == nil {
		return err
	}
	if since := l.o.Sys.Now().Sub(last); since > l.o.watchdog() {
		return l.fail(fmt.Errorf("%s: %w: not verified for %s", l.dot.path, ErrLost, since.Round(time.Second)))
	}
	if err := l.dot.Verify(); err != nil {
		if errors.Is(err, ErrLost) {
			return l.fail(err)
		}
		return err
	}
	l.ok()
	return nil
}

func (l *Lock) ok() {
	l.mu.Lock()
	l.lastOK = l.o.Sys.Now()
	l.mu.Unlock()
}

// fail records that the lock is lost, once, and returns the reason.
func (l *Lock) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		l.o.Log.Error("lock lost", "mailbox", l.path, "err", err)
		close(l.lost)
	}
	return l.err
}

// enter reports whether a timer callback may run, and counts it as running
// so that Release can wait for it.
func (l *Lock) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || l.err != nil {
		return false
	}
	l.running.Add(1)
	return true
}

// refreshTick proves ownership and touches the dot-lock, every o.Refresh
// (docs/locking.md §10.3).
func (l *Lock) refreshTick() {
	if !l.enter() {
		return
	}
	defer l.running.Done()
	switch err := l.dot.Refresh(); {
	case err == nil:
		l.ok()
	case errors.Is(err, ErrLost):
		l.fail(err)
		return
	default:
		// A transient error proves nothing either way; the watchdog
		// decides if it lasts.
		l.o.Log.Warn("cannot refresh lock", "lock", l.dot.path, "err", err)
	}
	l.refreshT.Reset(l.o.Refresh)
}

func (l *Lock) watchEvery() time.Duration { return max(l.o.watchdog()/4, time.Millisecond) }

// watchTick declares the lock lost when ownership has not been proven for
// longer than o.watchdog(): a refresh stuck on a hung server cannot show that
// the lock was not broken meanwhile (row 28).
func (l *Lock) watchTick() {
	if !l.enter() {
		return
	}
	defer l.running.Done()
	l.mu.Lock()
	since := l.o.Sys.Now().Sub(l.lastOK)
	l.mu.Unlock()
	if since > l.o.watchdog() {
		l.fail(fmt.Errorf("%s: %w: not verified for %s", l.dot.path, ErrLost, since.Round(time.Millisecond)))
		return
	}
	l.watchT.Reset(l.watchEvery())
}

// Release gives up every lock in reverse order — kernel locks, the
// descriptor, the dot-lock — and returns the first error. The caller must have
// made its data durable before. An error wrapping ErrLost means the dot-lock
// was not ours any more at the end, so what was written may have raced.
func (l *Lock) Release() error {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	if l.dot != nil {
		l.refreshT.Stop()
		l.watchT.Stop()
	}
	// A refresh in progress may be stuck on a hung server; Release waits for
	// it, since the dot-lock must not be released under it.
	l.running.Wait()
	err := l.release()
	if l.dir.FD >= 0 {
		// Once: a second Release must not close a descriptor number the
		// process has since reused for something else.
		l.o.Sys.Close(l.dir.FD)
		l.dir.FD = -1
	}
	if lerr := l.errLost(); err == nil && lerr != nil {
		err = lerr
	}
	return err
}

func (l *Lock) errLost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Lock) release() error {
	s := l.o.Sys
	var errs []error
	for i := len(l.kinds) - 1; i >= 0; i-- {
		if err := s.SetLock(l.fd, l.kinds[i], false); err != nil {
			errs = append(errs, fmt.Errorf("unlock %s (%s): %w", l.path, l.kinds[i], err))
		}
	}
	l.kinds = nil
	if l.fd >= 0 {
		if err := s.Close(l.fd); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", l.path, err))
		}
		l.fd = -1
	}
	if l.dot != nil {
		if err := l.dot.Release(); err != nil {
			errs = append(errs, err)
		}
		l.dot = nil
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
