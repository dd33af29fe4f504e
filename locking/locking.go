package locking

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// Options configures a lock. The zero value is the default policy
// (DefaultPolicy); Policy.Options fills it from the configuration.
type Options struct {
	Sys sys.Sys // nil: sys.Real

	Timeout      time.Duration // give up acquiring after this long; default 300s
	StaleOwn     time.Duration // age at which a letterbox lock from another machine is stale; default 180s
	StaleForeign time.Duration // age at which another program's lock is stale; default 1200s
	Refresh      time.Duration // touch a held lock this often; default 30s

	Log *slog.Logger // nil: no log
}

func (o Options) withDefaults() Options {
	if o.Sys == nil {
		o.Sys = sys.Real{}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StaleOwn <= 0 {
		o.StaleOwn = DefaultStaleOwn
	}
	if o.StaleForeign <= 0 {
		o.StaleForeign = DefaultStaleForeign
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// confirm is how long a stale-looking lock must stay unchanged before it is
// broken: longer than one refresh interval, so a holder that refreshes is
// always seen doing it (docs/locking.md §10.0, W).
func (o Options) confirm() time.Duration { return o.Refresh + o.Refresh/6 }

// watchdog is how long a holder may go without proving ownership before it
// must assume the lock was broken: half the time after which another machine
// may break it (fault matrix row 28).
func (o Options) watchdog() time.Duration { return o.StaleOwn / 2 }

var (
	// ErrLost reports that a held lock is no longer ours: it was broken,
	// removed, or could not be verified in time. A writer must roll back.
	ErrLost = errors.New("lock lost")
	// ErrNotLockFile reports that the lock path is a directory, a symlink or
	// another non-regular file. Such a thing is never broken (row 21).
	ErrNotLockFile = errors.New("lock path is not a regular file")

	errNameTooLong = unix.ENAMETOOLONG
)

// BusyError reports that the lock was not acquired before the deadline.
type BusyError struct {
	Lock   string
	Waited time.Duration
	Holder string // who holds it, as far as its content tells; may be empty
	Cause  error  // the last error that kept us from it (e.g. ENOSPC, EPERM on breaking); may be nil
}

func (e *BusyError) Error() string {
	s := fmt.Sprintf("%s: lock busy for %s", e.Lock, e.Waited.Round(time.Second))
	if e.Holder != "" {
		s += " (held by " + e.Holder + ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *BusyError) Unwrap() error { return e.Cause }

// InterruptedError reports that a wait for the lock was ended by its
// context (a signal, a shutdown) before the lock was had. It is also
// context.Canceled (or DeadlineExceeded): errors.Is sees the cause.
type InterruptedError struct {
	Mailbox string
	Err     error // the context's error
}

func (e *InterruptedError) Error() string {
	return e.Mailbox + ": interrupted while waiting for the lock"
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// transient reports whether err may go away by itself, so that acquiring
// should retry within the deadline rather than fail (docs/locking.md §10.0).
// ENOSPC and EDQUOT are among them because NFS reports them sporadically,
// but only for spaceRetry (noSpace, row 18).
func transient(err error) bool {
	switch {
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), errors.Is(err, unix.EIO),
		errors.Is(err, unix.ETIMEDOUT), errors.Is(err, unix.ESTALE), errors.Is(err, unix.EINTR),
		errors.Is(err, unix.EAGAIN), errors.Is(err, unix.ENOMEM), errors.Is(err, unix.ENFILE),
		errors.Is(err, unix.EMFILE):
		return true
	}
	return false
}

// denied reports whether err says the lock directory may not be written:
// the case dotlock_may_fail allows to continue with the kernel lock only.
func denied(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)
}

// spaceRetry bounds how long ENOSPC or EDQUOT keep failing to make the lock
// (creating, writing, closing or linking the unique file) before acquiring
// gives up with that error (docs/locking.md §11 row 18). NFS reports them
// sporadically, so they are retried for a moment; a file system that is
// really full stays full, and waiting the whole lock_timeout for it only
// delays the MTA's retry while the message sits in its queue. The error, not
// a *BusyError, goes back, so that status.Of says 4.3.1 (or the size policy
// for EDQUOT) rather than "lock busy".
const spaceRetry = time.Second

// noSpace reports whether err says the file system or the quota is full.
func noSpace(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }
