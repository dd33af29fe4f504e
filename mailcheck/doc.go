// Package mailcheck reads an mbox or a Maildir and reports whether it is
// sound (docs/design.md §2.4): the number of messages, the mbox variant, and every
// defect a reader would trip over — an unescaped From_ line, a wrong
// Content-Length, a truncated message, CRLF line ends, a stray tmp/ file, a
// stale lock file. A Maildir is checked with its Maildir++ folders, each
// counted on its own and in the total.
//
// It only reads: it takes no lock, writes nothing, and its memory is
// bounded whatever the mailbox size (a report lists at most maxListed
// defects of a kind, and counts the rest).
//
// What it guarantees: a Report's Problems are defects and its Notes are not
// (a live lock, a delivery in progress), so Sound is exactly "no
// problems". An mbox's variant and where its messages start come from
// mbox.Detect and mbox.Reader, a Maildir is judged by maildir.Is and its
// folders named by maildir.ParseDir, and an mbox's dot-lock is judged by
// locking.Inspect: so check agrees with convert on the variant, the
// messages and the folders, with deliver on what a Maildir is, and with a
// waiting delivery on when a lock is stale.
//
// What it refuses: a path that is a symlink or neither a regular file nor a
// directory, or a directory that is not a Maildir, is an error, not a
// report. A Maildir's lock is not looked at (a Maildir has none).
//
// What the caller still owes: the exit status (0 sound, 1 problems, 2
// unreadable) and the Options' lock policy from the configuration. Without
// writing, Inspect measures a lock's age by the local clock, so on NFS with
// a skewed clock the stale verdict is approximate (docs/locking.md §10.2).
package mailcheck
