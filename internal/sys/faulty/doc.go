// Package faulty wraps a sys.Sys to inject the faults an NFS client shows: a
// lost reply (the operation is done, an error is returned), a replay of an
// earlier operation at a chosen later moment, stale attributes or a cached
// negative lookup, a skewed local or server clock, ENOSPC/EIO/EDQUOT, short
// writes and delays. It is for tests; nothing in letterbox's binary uses it.
//
// A Rule names the call it fires on (Op, a base-name pattern, a Match
// function, Skip and Count) and what happens: Err instead of the call, or
// after it with Lost; Do before and After after the call; Delay; Stat
// rewriting attributes; Short writes. Of the rules that match a call, the
// first that is due fires, and only it. Every call is recorded (Calls), and
// Replay runs a recorded link, rename or unlink again on the real system.
// An *At call is recorded and matched as the path-based call it stands for
// (Call.At set, Path its directory's path joined with the name), so a rule
// fires whichever way the code names the file.
//
// What it guarantees: without rules, skews or SetIdentity a Sys answers as
// the one it wraps, and it may be called from many goroutines; a lost reply
// to an open closes the descriptor the caller never gets. What it refuses:
// replaying any other call. What the caller owes: New, not a zero Sys; and
// hooks (Do, After) that call Base when their own calls must not be
// faulted or recorded.
package faulty
