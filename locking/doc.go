// Package locking implements the mailbox lock: an NFS-safe dot-lock
// (MAILBOX.lock, created by link(2) and verified by inode), kernel locks
// (OFD fcntl, classic fcntl, flock), and the two combined in the order of
// Debian Policy §11.6. It knows nothing about mail.
//
// The algorithm is specified in docs/locking.md §10; the
// comments name the fault-matrix rows (§11) each check exists for. In short:
// a lock is ours exactly when a fresh lookup of MAILBOX.lock finds the inode
// of the unique file we linked to it, whatever link(2) returned; ages are
// measured only in the file server's time; a stale lock is broken by renaming
// it aside and checking what was moved; and a lock is released the same way,
// so the only name-based destructive call ever made is on a private name.
//
// It also holds the lock's policy (policy.go: the method names of
// mbox_locks, the defaults, Policy), which config parses and every command
// uses, and Inspect (inspect.go), "letterbox check"'s read-only judgement of
// a dot-lock by a waiter's rules. Acquire opens the mailbox through
// safeopen, under the dot-lock, so a file deliver would refuse is refused
// here too; the stale-lock probe opens it the same way.
//
// Before anything is created, Acquire and AcquireDotlock open the
// mailbox's directory with safeopen.OpenDir, which refuses a symlink on its
// path that an ordinary user could have planted (ErrUnsafe); every
// operation on a lock file, and the mailbox's open, then goes relative to
// that directory's descriptor until the lock is released (lockDir), so a
// directory swapped for a symlink later cannot redirect them
// (docs/locking.md §10.0).
//
// What it refuses: a lock path that is a directory, symlink or other
// non-regular file is never taken or broken (ErrNotLockFile); a kernel lock
// that an NFS mount keeps on this machine (nolock, local_lock=) is not
// taken unless Methods.TrustLocal says so (*LocalLockError, shared.go); a
// lock is not broken while the mailbox is kernel-locked; a wait past Options.Timeout
// ends in a *BusyError, and one cut short by the context in an
// *InterruptedError.
//
// What the caller owes: Release of every Lock (after its data is durable);
// Check before it commits, rolling back on an error; watching Lost while it
// writes and stopping at once when it closes; and a deployment as
// docs/locking.md §10.7 describes (mount options, NTP, the spool's group).
//
// It is written by hand because no well-kept library takes a dot-lock that
// survives lost NFS replies: the peers' lock code, liblockfile's among it,
// compares ages with the local clock, and all of it unlinks a stale lock by
// name (docs/peers.md §C).
package locking
