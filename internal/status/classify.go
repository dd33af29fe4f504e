package status

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"letterbox/locking"
	"letterbox/safeopen"
)

// Of is the status of a failure to lock, open or write the mailbox at
// mailbox: the one mapping every command uses (deliver, lock, convert), so
// the same failure tells every MTA the same thing. Everything that is not
// certainly permanent is temporary (docs/design.md §2.1): an MTA retries a
// temporary failure, and a bounce cannot be taken back.
//
//   - an *Error is returned as it is: its maker knew better;
//   - a busy lock, a wait cut short by a signal, a lock lost while held,
//     a lock path that is not a file, an unsafe mailbox: 4.2.0, someone
//     must let go or an operator must look;
//   - a full disk: 4.3.1;
//   - a kernel lock that an NFS mount keeps on this machine: 4.3.5, the
//     system is not configured to deliver there safely;
//   - a quota or file-size limit (EDQUOT, EFBIG): Size's policy;
//   - a write cut short by a signal: 4.2.0, the append undone;
//   - anything else (EIO, ESTALE, a missing directory, EACCES): 4.2.0.
//
// quotaTempfail is the configuration's quota_tempfail. Of(nil) is nil.
func Of(err error, mailbox string, quotaTempfail bool) *Error {
	var se *Error
	var busy *locking.BusyError
	var intr *locking.InterruptedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.As(err, &busy), errors.As(err, &intr):
		return Temp("4.2.0", err)
	case errors.Is(err, unix.EDQUOT), errors.Is(err, unix.EFBIG):
		return Size(quotaTempfail, fmt.Errorf("%s: %w", mailbox, err))
	case errors.Is(err, locking.ErrLocalKernelLock):
		return Temp("4.3.5", err)
	case errors.Is(err, unix.ENOSPC):
		return Temp("4.3.1", fmt.Errorf("%s: %w", mailbox, err))
	case errors.Is(err, locking.ErrLost), errors.Is(err, locking.ErrNotLockFile), errors.Is(err, safeopen.ErrUnsafe):
		return Temp("4.2.0", err)
	case errors.Is(err, context.Canceled):
		return Temp("4.2.0", fmt.Errorf("%s: delivery interrupted; undone", mailbox))
	}
	return Temp("4.2.0", fmt.Errorf("%s: %w", mailbox, err))
}

// Size is a size-limit failure (message_size_limit, mailbox_size_limit, a
// quota, a file-size limit): 4.2.2 and a retry when quotaTempfail (the
// default: the user may make room), else 5.2.2 and EX_CANTCREAT.
func Size(quotaTempfail bool, err error) *Error {
	if quotaTempfail {
		return Temp("4.2.2", err)
	}
	return Perm("5.2.2", CantCreat, err)
}
