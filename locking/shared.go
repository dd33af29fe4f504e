package locking

import (
	"errors"
	"fmt"
	"strings"

	"letterbox/internal/sys"
)

// ErrLocalKernelLock is wrapped by a *LocalLockError.
var ErrLocalKernelLock = errors.New("kernel locks on this NFS mount stay on this machine")

// LocalLockError refuses a kernel lock that an NFS mount keeps on this
// machine: Option is the mount option that does it.
type LocalLockError struct {
	Mailbox string
	Kind    sys.LockKind
	Option  string
}

func (e *LocalLockError) Error() string {
	return fmt.Sprintf("lock %s (%s): %v (%s): another machine's delivery would not be kept out; mount without it, or set trust_local_locks if only this machine writes here",
		e.Mailbox, e.Kind, ErrLocalKernelLock, e.Option)
}

func (e *LocalLockError) Unwrap() error { return ErrLocalKernelLock }

// checkShared refuses the kernel locks kinds when the file system of the
// directory open at dir keeps them on this machine (docs/locking.md
// §10.9). On NFS the dot-lock can be displaced by a release that the
// server runs twice after losing its reply cache; the kernel lock, kept by
// the server and never replayed, is then all that stops two machines
// appending at once and damaging each other's messages. A lock that stays
// on the client stops nothing of the sort, and no rule on the dot-lock
// alone can make up for it. A local file system is not refused: every
// writer is on this machine, where its kernel locks exclude each other.
func checkShared(s sys.Sys, dir int, mailbox string, kinds []sys.LockKind) error {
	m, err := s.Mount(dir)
	if err != nil {
		return fmt.Errorf("find how %s is mounted: %w", mailbox, err)
	}
	if !m.NFS {
		return nil
	}
	for _, k := range kinds {
		if opt := localBy(m.Options, k); opt != "" {
			return &LocalLockError{Mailbox: mailbox, Kind: k, Option: opt}
		}
	}
	return nil
}

// localBy returns the NFS mount option among opts that keeps a lock of
// kind k on the client (nfs(5)), or "". nolock gives up the lock manager
// altogether; local_lock=posix covers fcntl locks, OFD ones included, and
// local_lock=flock flock(2), which NFS otherwise sends to the server as
// a whole-file fcntl lock.
func localBy(opts string, k sys.LockKind) string {
	for _, o := range strings.Split(opts, ",") {
		switch {
		case o == "nolock", o == "local_lock=all",
			o == "local_lock=posix" && k != sys.Flock,
			o == "local_lock=flock" && k == sys.Flock:
			return o
		}
	}
	return ""
}
