// Command letterbox is a mail delivery agent: it appends a message to an mbox
// under an NFS-safe lock or drops it into a Maildir, migrates and checks
// mailboxes, and lends its mailbox lock to scripts. See README.md and
// docs/design.md.
//
// Usage:
//
//	letterbox deliver [flags] [MAILBOX]                  docs/design.md §2.1
//	letterbox lock [flags] MAILBOX -- COMMAND [ARG...]   docs/design.md §2.2
//	letterbox convert [flags] SOURCE DEST                docs/design.md §2.3
//	letterbox check [-c FILE] [--json] MAILBOX           docs/design.md §2.4
//	letterbox config check [-c FILE]                     docs/design.md §2.5
//	letterbox lmtp [-c FILE] [--listen ADDR]...          docs/design.md §2.5
//	letterbox sieve check|test ...                       docs/design.md §2.5
//	letterbox version | help [COMMAND]
//
// Every command's flags are defined once, in the function that builds its
// flag set (newDeliverFlags, ...); parsing, --help, "help COMMAND" and the
// man page docs/letterbox.1 all use it (help_test.go, man_test.go).
//
// This package is the command line only: flags, the command table, the
// switch to the recipient's user, the status line and logging. The work is
// done by deliver, locking, convert and mailcheck.
//
// An error a command returns becomes one line on standard error that starts
// with its RFC 3463 code, holds no line break and is at most 4096 bytes, and
// the sysexits code that goes with it (internal/status); an error without a
// status is 4.3.0, exit 75. Log lines bound for standard error are held back
// until that line is out, since an MTA reads the first line (docs/design.md
// §2). A panic is reported as 4.3.0 and exit 75, its stack after the status
// line: a bug must not bounce mail. An exit status that is a command's own
// answer (check's 1 and 2, convert's 1, the status of lock's COMMAND) has no
// status line; a bad command line is 5.3.0, exit 64.
//
// letterbox is never setuid. deliver becomes the recipient (Recipient.Become)
// before it opens -p FILE or touches the mailbox, and refuses to deliver for
// another user when run as a third one (docs/design.md §3). What the MTA or
// operator owes: run it as the recipient, or as root with -d USER; read the
// status line before the exit code; and retry on 75.
package main

//go:generate env LETTERBOX_UPDATE_MAN=1 go test -count=1 -run ^TestManPage$ .
