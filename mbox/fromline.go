package mbox

import (
	"time"
)

// NullSender is what the From_ line says for the null sender (<>), as
// Postfix, procmail and Dovecot write it.
const NullSender = "MAILER-DAEMON"

// FromLine returns the From_ line that starts a message from sender
// delivered at t: "From SENDER  Www Mmm dd hh:mm:ss yyyy\n" — two spaces,
// asctime form, in t's location (the caller passes local time, DESIGN §9).
//
// An empty sender is the null sender. Whitespace and control characters in
// sender are written as '_': a From_ line is split on whitespace by every
// reader, and Postfix's `From "john doe"@x  ...` breaks them
// (postfix-dovecot.md, "Where these anchors fall short" 8).
func FromLine(sender string, t time.Time) []byte {
	if sender == "" {
		sender = NullSender
	}
	b := make([]byte, 0, len("From ")+len(sender)+2+24+1)
	b = append(b, "From "...)
	for i := 0; i < len(sender); i++ {
		c := sender[i]
		if c <= ' ' || c == 0x7f {
			c = '_'
		}
		b = append(b, c)
	}
	b = append(b, "  "...)
	b = t.AppendFormat(b, "Mon Jan _2 15:04:05 2006")
	return append(b, '\n')
}
