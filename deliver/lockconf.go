package deliver

import (
	"log/slog"

	"letterbox/config"
	"letterbox/internal/sys"
	"letterbox/locking"
)

// LockConfig returns the lock methods and options that c asks for
// (mbox_locks, dotlock_may_fail, lock_timeout, stale_lock_own,
// stale_lock_foreign, lock_refresh), for deliveries and for "letterbox lock"
// alike, so that both take the very same lock. The error is that of an
// invalid mbox_locks.
func LockConfig(c config.Config, s sys.Sys, log *slog.Logger) (locking.Methods, locking.Options, error) {
	m, err := locking.ParseMethods(c.MboxLocks)
	if err != nil {
		return m, locking.Options{}, err
	}
	m.DotlockMayFail = c.DotlockMayFail
	return m, locking.Options{
		Sys:          s,
		Timeout:      c.LockTimeout.Duration,
		StaleOwn:     c.StaleLockOwn.Duration,
		StaleForeign: c.StaleLockForeign.Duration,
		Refresh:      c.LockRefresh.Duration,
		Log:          log,
	}, nil
}
