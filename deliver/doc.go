// Package deliver is the delivery core (docs/design.md §3): whom a delivery
// is for and where it goes (ResolveRecipient, Recipient.Become), the spool
// of the MTA's message (ReadMessage), the envelope block and the header
// scan for Delivered-To: loops, the envelope, the size limits, and the
// store: an mbox append under the mailbox lock, or a Maildir delivery
// (DeliverMessage; Deliver does both steps for one message).
//
// An mbox delivery is two phases, exported for a server that appends many
// messages to one mbox under one lock (group commit): PrepareMbox, which
// touches nothing of the mail store, and AppendBatch, the one
// implementation of the append transaction, which DeliverMessage uses too.
//
// # What it guarantees
//
// Nothing is locked or created in the mail store before the input is read to
// EOF. Memory does not grow with the message: past 1 MiB it is spooled to an
// unlinked file. Every error of Deliver, DeliverMessage, ReadMessage,
// ResolveRecipient and Become is a *status.Error carrying the DSN and exit
// code of the docs/design.md §2.1 table; anything not certainly permanent is
// temporary. DeliverMessage returns nil only when the message is written and
// fsynced (with the fsync option on, its default) and, for an mbox, the lock
// was proven ours after the fsync (docs/locking.md §10.3); otherwise an mbox
// append is rolled back and a Maildir leaves nothing in new/. A release that
// fails after that proof is logged, not returned: the message stands, and a
// retry would deliver it twice.
//
// # What it refuses
//
// Addresses with control bytes or over 998 bytes (CheckAddress), a
// Delivered-To: loop (5.4.6), a message over message_size_limit or one
// that would take the mbox past mailbox_size_limit (checked before a byte
// is written), an unsafe mbox (safeopen), a Maildir whose new/ another user
// owns (strict_ownership), and delivering for another user when running as
// a third one.
//
// # What the caller still owes
//
// The caller (cmd/letterbox, the LMTP server) calls Become before it
// opens the message or touches anything as root, Closes a Message from
// ReadMessage, ignores SIGXFSZ and gives a ctx that ends on the signals that
// must stop a delivery, writes the status line, and logs the outcome
// with LogResult, also when the delivery failed before Deliver was called
// (Unresolved): through Request.Log deliver and locking log only their
// warnings and errors, not the one line per delivery.
package deliver
