// Package safeopen opens mailbox files the way a delivery agent must: the
// way Postfix's safe_open and mbox_open do, with the checks Postfix lacks.
//
// Every entry point that opens an mbox file to lock or write it — deliver,
// convert, "letterbox lock", and the kernel-lock probe that the stale-lock
// rule and "letterbox check" use — opens it here, so a file one of them
// refuses is refused by all. "letterbox check" reads the mailbox itself
// without this: it reports a hard link or a foreign owner, it does not
// refuse to look.
//
// Open guarantees, for the descriptor it returns:
//
//   - the path's directories hold no symlink an ordinary user could have
//     planted (only a root-owned link in a root-owned directory that neither
//     group nor others may write is followed: only root could have made it),
//     in a relative path too;
//   - the last component is not a symlink, except such a trusted one;
//   - the file is a regular file (a FIFO is opened without blocking and then
//     refused; a directory or device is refused);
//   - it has exactly one link (a hard link lets whoever made it read the
//     mail, and lets a user make root write into a file of theirs);
//   - it is owned by Options.Owner, when that is not -1;
//   - the name still names the inode that was opened (no rename-and-replace
//     between open and check);
//   - a file it created has its directory fsynced, so the new name is as
//     durable as the data.
//
// The directory is opened first, by OpenDir, which owns this rule: it
// walks the path one component at a time with O_NOFOLLOW, each open
// relative to the directory before, and returns a descriptor of the very
// directory the checked walk reached (Dir). The file is then opened
// relative to that descriptor (OpenIn), and so is every later check of its
// name. A caller that must create, rename or remove files beside the
// mailbox — the dot-lock — opens the directory with OpenDir before it does
// anything and works only relative to the Dir: checking a path and then
// using it again by name would let a directory swapped for a symlink in
// between redirect root's files (issue 12).
//
// Every refusal wraps ErrUnsafe: an operator must look, and mail is retried
// meanwhile (4.2.0). Other errors (ENOENT, EACCES, EIO) are returned wrapped
// with the operation that failed.
//
// A mailbox Open created stays, empty, if a later step fails (the
// directory fsync): an empty mbox is a valid one.
//
// The caller owns the descriptor. After taking its locks it should call
// Recheck, which proves that the name still leads to the file it locked.
//
// This is written by hand because no library opens a file with these
// guarantees: os.OpenFile follows symlinks and blocks on FIFOs, and the
// checks must go through the syscall seam (internal/sys) so that tests can
// fault each step.
package safeopen
