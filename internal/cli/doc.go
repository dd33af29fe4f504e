// Package cli is what letterbox's commands share around their flags: the
// one status line on failure and the exit code that goes with it
// (ExitCode), usage errors and --help (UsageError, Flags), the flags of
// "letterbox lmtp", which both binaries parse (LMTPFlags), and the logger
// the configuration asks for (Env.Logger).
//
// A command's --help is printed from the flag set that parses its
// arguments, so the two cannot disagree; it goes to standard output with
// exit status 0, while a bad command line is a status line on standard
// error and exit 64.
//
// It guarantees that a failed command writes exactly one line on standard
// error before anything else, its RFC 3463 status, because an MTA reads
// that first line as the delivery's status: log lines bound for standard
// error are held back (at most 64 KiB) until Env.Flush, which the caller
// owes once the status line is out. The syslog destination is opened on
// the first message, so a run that logs nothing pays nothing for it.
//
// It is used by cmd/letterbox and cmd/letterbox-lmtp; the second is a
// binary of its own so that the LMTP server's dependencies (package net,
// crypto/tls) do not slow the start of every "letterbox deliver".
package cli
