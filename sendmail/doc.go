// Package sendmail submits a message to the local MTA by running its
// sendmail program, the way Postfix's local(8) forwards mail and
// Pigeonhole sends vacation replies and redirects when it has no SMTP
// relay: "sendmail -i -f SENDER -- RECIPIENT...", the message on standard
// input.
//
// # What it guarantees
//
// The program is run directly (no shell) with exactly those arguments: -i,
// so a line of a single dot does not end the message; -f, so the envelope
// sender is what the caller says (the null sender as "<>", which Postfix's,
// Exim's and Sendmail's sendmail all read as the empty reverse path —
// Postfix parses the -f value as an RFC 822 address and keeps its
// content, so "<>" and "" are one); and "--", so no recipient is read as
// an option. Its environment is only PATH and the variables Postfix's
// export_environment passes by default (TZ, MAIL_CONFIG, LANG), taken from
// ours when set. It runs in a process group of its own, killed whole when
// the context ends or the timeout passes, so a hung submission cannot hold
// a delivery forever. A message that cannot be read to its end is never
// submitted cut short: the group is killed before its standard input is
// closed. Its standard output and error are kept, up to
// MaxOutput bytes each, for the error message.
//
// # How its exit status is read
//
// sysexits.h (FreeBSD/Linux, 4.3BSD's) gives the meaning of 64..78. A
// delivery agent must not bounce what a retry could deliver (docs/design.md
// §2.1), and a bounce cannot be taken back, so only an answer that says the
// message or its address is wrong is permanent; everything else is a
// temporary *status.Error (4.3.0, EX_TEMPFAIL):
//
//	0                   success
//	65 EX_DATAERR       permanent, 5.6.0: the input data was incorrect
//	67 EX_NOUSER        permanent, 5.1.1: addressee unknown
//	68 EX_NOHOST        permanent, 5.1.2: host name unknown
//	75 EX_TEMPFAIL      temporary
//	64 EX_USAGE, 78 EX_CONFIG, 77 EX_NOPERM, 72 EX_OSFILE, 73 EX_CANTCREAT
//	                    temporary: our arguments or the MTA's setup are
//	                    wrong (an incompatible sendmail_path, a submitter not
//	                    authorised); an operator fixes them, and mail must
//	                    wait for that, not bounce
//	66, 69, 70, 71, 74, 76 (EX_NOINPUT, EX_UNAVAILABLE, EX_SOFTWARE,
//	                    EX_OSERR, EX_IOERR, EX_PROTOCOL), any other status,
//	                    a signal, the timeout, a program that cannot be run
//	                    temporary
//
// Postfix's own table (sys_exits.c) calls most of 64..78 hard; it maps the
// status of a program it delivers to, while here the program is the MTA's
// submission front end, whose failures are almost all local and fixable.
//
// # What it refuses
//
// A sendmail path that is not absolute (Postfix's sendmail_path is a path,
// not a command line: arguments in it are refused, not split); no
// recipients; a sender or recipient that is empty, starts with "-" or
// holds a control byte or white space (an argument that could be read as
// an option, or a header injection further on). These are temporary
// errors too: they are the caller's or the configuration's mistake.
//
// # What the caller owes
//
// A message with CRLF or LF line ends as the MTA accepts it, and a
// context with the deadline the delivery allows (without one, Send applies
// DefaultTimeout). Whether a permanent failure of a redirect or a vacation
// reply fails the delivery is the caller's decision.
package sendmail
