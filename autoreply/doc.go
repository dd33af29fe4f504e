// Package autoreply holds the rules for mail that Sieve makes letterbox
// send on its own: when a vacation reply may go out and what it looks like
// (RFC 5230, RFC 3834), and how a redirect is marked so that it cannot
// loop. It composes; it sends nothing (package sendmail does) and keeps no
// state (package statefile does, under TrackKey).
//
// # Vacation
//
// ShouldReply says no — with the reason, for the log — when any of these
// holds, in this order:
//
//   - the envelope sender is null: there is no one to answer, and a reply
//     to a bounce is how loops start (RFC 3834 §2, §3.1.1);
//   - the sender is a list or system address: MAILER-DAEMON, LISTSERV,
//     majordomo, owner-*, *-request (RFC 5230 §4.6, Pigeonhole's list);
//   - the sender is the user (the recipient, an address of :addresses or
//     the original recipient): never answer oneself (Pigeonhole does the
//     same);
//   - the message has an Auto-Submitted field whose value is not "no"
//     (RFC 3834 §2 and §5);
//   - it has a List-Id (RFC 2919) or List-Help, List-Subscribe,
//     List-Unsubscribe, List-Post, List-Owner or List-Archive field
//     (RFC 2369): list mail (RFC 5230 §4.6);
//   - it has Precedence: bulk, list or junk, the older mark of list and
//     automatic mail (RFC 3834 §2 names it; Pigeonhole checks it);
//   - none of the user's addresses is in To, Cc, Bcc, Resent-To,
//     Resent-Cc or Resent-Bcc (RFC 5230 §4.5): the user got it through a
//     list or an alias, and a reply would go to someone who did not write
//     to them.
//
// Whether this sender had a reply within the interval is the caller's to
// check, with statefile under TrackKey(sender, handle) (RFC 5230 §4.2).
//
// Compose writes the reply (RFC 5230 §5, RFC 3834 §3): To the envelope
// sender of the original (where RFC 3834 §3.1.1 says responses go, never
// its From or Reply-To); From the :from address, else the user's address
// the message was sent to, else the recipient; Subject the :subject, else
// "Auto: " and the original subject (RFC 5230 §4.3, RFC 3834 §3.1.5), else
// "Automated reply"; In-Reply-To and References from the original's
// Message-ID (RFC 5322 §3.6.4, RFC 3834 §3.1.6); Auto-Submitted:
// auto-replied (RFC 3834 §5.2); Precedence: bulk, which Pigeonhole also
// writes, for the responders that know no Auto-Submitted; Date and a new
// Message-ID. The body is text/plain in UTF-8, 7bit when it is ASCII with
// short lines and quoted-printable otherwise (a reply may cross a relay
// without 8BITMIME); with :mime the reason is a MIME entity and is written
// as it is after MIME-Version. The reply's envelope sender is the null
// sender (RFC 5230 §5.1; RFC 3834 §3.3), so nothing answers the answer.
//
// # Redirect
//
// WriteRedirect prepends "X-Sieve-Redirected-From: RECIPIENT" (Pigeonhole's
// field) and copies the message unchanged; RedirectLoop finds that field
// for the recipient, or a Delivered-To of the recipient, in a message
// arriving again (RFC 5228 §4.2 asks for loop control). The envelope
// sender of a redirect is the original's, null included (Pigeonhole's
// default, sieve_redirect_envelope_from = sender; RFC 5228 §4.2 allows it):
// bounces of the forwarded copy then go to the author, not the user.
//
// # What it refuses
//
// Compose refuses a null envelope sender, a :from that is not an address,
// and anything with a line break where a header value goes; WriteRedirect
// a recipient with control bytes. Header values from the original are
// used only after line breaks are taken out.
//
// # What the caller owes
//
// A Header of the message as it arrived, without the envelope block this
// delivery's MTA put on top (deliver strips Return-Path, X-Original-To
// and Delivered-To of that block; a Delivered-To for the recipient there
// would otherwise read as a loop). The envelope, the recipient and the
// user's addresses as plain addr-specs (local@domain, no angle brackets).
package autoreply
