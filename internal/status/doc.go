// Package status holds the two ways letterbox tells its caller what happened:
// a sysexits(3) exit code, which every MTA understands, and an RFC 3463
// enhanced status code at the start of the one line it writes on failure,
// which Postfix prefers to the exit code.
//
// An Error carries both and its cause; Temp, Perm and Size make one. Of is
// the one mapping of a failure to lock, open or write a mailbox to a status
// (classify.go), used by deliver, lock and convert alike, so the same
// failure tells every MTA the same thing.
//
// # What it guarantees
//
// Error.Line is one line: no CR or LF, at most 4096 bytes with its newline,
// so it can neither be read as two lines nor overflow an MTA's buffer
// (docs/peers.md §A.1). Of keeps an *Error it is given, and makes everything
// that is not certainly permanent temporary (docs/design.md §2.1): an MTA
// retries a temporary failure, and a bounce cannot be taken back. The only
// permanent answer Of gives is a size limit with quota_tempfail = false
// (5.2.2, EX_CANTCREAT).
//
// # What it refuses
//
// Of never matches error text: it knows the failures of locking and
// safeopen by their types and sentinels, and errnos by errors.Is. An error
// it does not recognise is 4.2.0, never a bounce.
//
// # What the caller still owes
//
// Wrapping errors with %w, so that Of can see the cause; making a permanent
// *Error itself where it knows better (an unknown user, a loop, bad usage);
// and writing Line, then exiting with Code.
package status
