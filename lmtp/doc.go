// Package lmtp is the LMTP server of "letterbox lmtp" (RFC 2033, issue
// 13), on github.com/emersion/go-smtp in LMTP mode. It speaks the protocol
// and decides where each recipient's mail goes; the delivery itself is
// deliver's, called, never copied: deliver.ReadMessage once per
// transaction, then per recipient deliver.DeliverMessage (Maildir),
// deliver.PrepareMbox + deliver.AppendBatch (mbox, group commit), or
// "letterbox deliver -d USER" in a child that becomes the user.
//
// # What it guarantees
//
//   - One reply per accepted RCPT after DATA, in RCPT order, duplicates
//     included; a 250 ("Delivered") only once that recipient's message is durable (the
//     delivery core's guarantee); one recipient's failure does not fail
//     the others. Replies come from Reply: temporary failures are 451 or
//     452 with our RFC 3463 code, and only the permanent DSNs it lists
//     (5.1.1, 5.1.3, 5.1.7, 5.2.2, 5.3.4, 5.4.6, 5.6.0) are 5xx.
//   - The whole message is read (to the final ".") before any delivery
//     begins: a client that goes away mid-DATA gets nothing delivered.
//     Memory is bounded: the message is spooled as deliver spools it.
//   - At RCPT: a local part or domain that is not a safe file name is
//     553 5.1.3; with [lmtp] mailbox unset, an unknown user is 550 5.1.1
//     and a failing user database 451 4.3.0.
//   - In-process deliveries to one mbox are serialised in the process and
//     committed in groups: what queued while an append ran is appended by
//     the next, under one lock with one fsync, and a failure answers every
//     message of that batch with the failure. Maildir deliveries run at
//     once. A reload never puts two configurations in one batch.
//   - Out of sequence commands are 503 (go-smtp says 502; conn rewrites
//     it); BDAT is refused with 502 5.5.1 (go-smtp advertises CHUNKING but
//     a message is taken only through DATA); over-long lines are 500 5.4.0
//     in commands and 554 5.6.0 in a message; every read has the idle
//     timeout; connections over max_connections are 421 4.3.2.
//   - Shutdown closes every connection not inside DATA with 421 4.3.2,
//     lets those inside DATA deliver and answer, then closes them.
//
// # What it refuses
//
// SMTPUTF8 and 8-bit addresses, BDAT, DSN parameters (ORCPT, NOTIFY),
// AUTH and STARTTLS: it is a local delivery agent behind an MTA. The
// protocol limits (max_connections, max_recipients, max_line_length,
// timeout, message_size_limit) are fixed at New; Reload changes only what
// a transaction uses.
//
// # What the caller still owes
//
// Listening (Listen, Activated), the signals (Shutdown on SIGTERM, Reload
// on SIGHUP, Close when Shutdown's context ends), ignoring SIGXFSZ, a
// valid config.Config, and, for system users as root, an Exe that is
// letterbox. Run as root only when delivering to system users: with the
// virtual layout, mail is written with the daemon's own uid.
package lmtp
