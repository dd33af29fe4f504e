// Package privs gives up root for good before a delivery touches a user's
// mailbox (docs/design.md §3, privileges): Drop.
//
// # What it guarantees
//
// After Drop returns nil, the real, effective and saved user and group IDs of
// every thread are the user's, the supplementary groups are exactly those
// given (none when nil), and, for a uid other than 0, an attempt to regain
// root has failed. Each of these is read back, not assumed, as OpenSSH's
// permanently_set_uid does.
//
// # What it refuses
//
// It does not choose: which user, and which groups (the spool directory's,
// docs/peers.md §A.2), are deliver's to say. Without root (CAP_SETUID,
// CAP_SETGID) it fails.
//
// # What the caller still owes
//
// Calling Drop before anything of the mailbox, or -p FILE, is opened. On an
// error the process may be half-switched: the caller must not touch a
// mailbox, and should exit.
//
// # Why it is hand-written
//
// There is nothing to borrow: the standard library's syscall.Setgroups,
// Setresgid and Setresuid already apply to every thread; what is written here
// is their order (groups first, while CAP_SETGID is held) and the check
// afterwards.
package privs
