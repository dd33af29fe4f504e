// Package sys is the narrow seam through which letterbox makes every system
// call that touches a mailbox or its lock.
//
// The lock and the format writers never call the kernel directly: they take a
// Sys. Real is the kernel; package sys/faulty wraps it to inject the faults an
// NFS client shows (lost replies, replays, stale attributes, skewed clocks,
// ENOSPC, EIO), which the real kernel cannot be made to produce on demand.
// SyncDir and ReaderAt are built on a Sys, so they are faulted too.
//
// Errors of the system calls are returned as the kernel gave them (a
// unix.Errno), unwrapped, so callers can classify them with errors.Is and
// wrap them with the action that failed. Real retries open, read, pread and
// write on EINTR; Lstat asks the file server, not the attribute cache, where
// the kernel has statx (AT_STATX_FORCE_SYNC); Touch sets server time. The
// *At calls (OpenAt, LstatAt, LinkAt, RenameAt, UnlinkAt, TouchAt,
// ReadDirFD) do the same relative to a directory descriptor, so that code
// which proved a directory safe once (safeopen.OpenDir) keeps working in
// that directory even if its path is swapped for a symlink afterwards.
//
// What it refuses: no method follows a symlink in the last path component
// unless it says so, and Write is one write(2), which may be short. What the
// caller still owes: O_CLOEXEC on Open, looping over short writes, closing
// what it opened, and passing the same Sys down to everything it calls, so
// that a test's faults reach every step. Calls that touch no mailbox and no
// lock (the spool, the configuration, the user database, privileges,
// syslog) go to the kernel directly.
//
// It is written by hand because os.File hides the errno in a PathError and
// offers none of link-by-fd, OFD locks or forced statx, and an interface of
// its own is what lets faulty stand in for the kernel.
package sys
