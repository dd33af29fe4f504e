// Package convert migrates mailboxes between mbox and Maildir (docs/design.md
// §2.3): an mbox file to a Maildir and back, and a Maildir++ tree to a
// directory of mbox files and back.
//
// What it guarantees:
//
//   - Streaming: memory is bounded whatever the size of a message or a
//     mailbox (a message of up to 1 MiB is held once, larger ones are read
//     twice instead).
//   - Each mbox, source or destination, is held under the delivery lock for
//     as long as it is read or written, so deliveries wait instead of
//     racing; a lock found lost stops the run.
//   - The source is never written.
//   - Interrupted at any point (even by SIGKILL) and run again, the
//     destination ends with every message exactly once: Maildir names are
//     derived from the source (position, date, content hash) and looked up
//     before writing; an mbox destination remembers where the run began (a
//     state file beside it, removed once the run is done and verified) and
//     is compared message by message with the source on the next run (the
//     whole mbox when there is no state file).
//   - Durable with Fsync: an mbox destination is synced per checkpoint
//     (1000 messages or 64 MiB) and at the end; what a system crash loses
//     after a checkpoint, in whatever order, the re-run adds, and what
//     survived it finds out of order and does not add again.
//   - Verify reads both sides again at the end and compares counts and the
//     SHA-256 of every message's stored bytes.
//
// What changes on the way: the flags move between Status/X-Status/X-Keywords
// and the Maildir info (see state); the From_ line's date becomes the file's
// mtime and name time and back; its sender becomes Return-Path and back; the
// mbox-private header fields are dropped; CRLF becomes LF. Maildir names are
// not carried (mbsync's ,U= and every other field stay behind).
//
// What it refuses, before anything is written (a *PlanError, a usage
// error): SOURCE and DEST the same, a source that is no mailbox or half a
// Maildir, two Maildirs, an mbox to an mbox, a DEST of the wrong format, a
// Maildir++ folder with both messages and subfolders (a file cannot be a
// directory too); and, with StrictOwnership, an mbox destination the
// running user does not own, as deliver refuses it.
//
// What the caller owes: Verify and Fsync as the user and configuration say;
// a ctx that ends on SIGINT, SIGTERM and SIGHUP, so an mbox destination is
// rolled back to its last whole message; reporting Folder.Skipped (data that
// is no message); a status for a *LockError (status.Of); and running as the
// mailboxes' owner: Run switches no user.
package convert
