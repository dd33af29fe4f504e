// Package statefile keeps a small per-user table of keys with expiry times
// in one file: what vacation's per-sender tracking (RFC 5230 §4.2) and the
// duplicate test (RFC 7352) remember between deliveries. It is safe on NFS
// with several hosts delivering for the same user at once.
//
// # What it guarantees
//
// Update reads and changes the file only under letterbox's own mailbox
// lock (package locking: the dot-lock PATH.lock and the kernel locks the
// policy names, docs/locking.md §10), so two deliveries never lose each
// other's entries. The file is never changed in place: a new one is written
// beside it (PATH.new), fsynced, renamed over it, and the directory fsynced,
// so a reader never sees half a file and a crash leaves either the old
// table or the new one. Since a rename gives the name a new inode, a kernel
// lock taken on the old one protects nothing: Update checks, once it holds
// the lock, that the name still leads to the file it locked, and starts
// over if not.
//
// The file is text, one entry a line: the expiry in Unix seconds, one
// space, the key. Entries past their expiry are dropped when the file is
// read and are gone from the next version written.
//
// # What it refuses
//
// A state file that is a symlink, a hard link, not a regular file or not
// owned by the running uid is refused (safeopen, wrapping
// safeopen.ErrUnsafe), as is a directory path with a symlink an ordinary
// user could have planted. Keys that are empty, longer than MaxKey or
// contain white space or control bytes are refused by Put (Update returns
// the error and writes nothing); callers hash what they track with Key.
//
// # What it tolerates
//
// A corrupt line (no expiry, a bad number, a bad key) is skipped, not an
// error: losing one entry means at worst one more vacation reply, while
// failing would hold up every delivery for the user. Only the first MaxSize
// bytes of the file are read, and at most MaxEntries entries are kept (those
// that expire last), so a file grown by accident cannot make a delivery
// slow or large; the next write shrinks it.
//
// # What the caller owes
//
// A path in a directory that only the user may write (the directory is
// made 0700 when missing; its parent must exist), the lock policy of the
// configuration, and the time: expiry is judged by the caller's now, not
// the file server's, because the entries themselves carry the caller's
// clock. fn must be quick: every other delivery for the user waits for it.
package statefile
