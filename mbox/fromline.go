package mbox

import (
	"strings"
	"time"
)

// FromPrefix begins every From_ line: the line that starts a message in an
// mbox, and the one an MTA may put before a message it hands over (Postfix's
// mailbox_command, pipe(8) flag F).
const FromPrefix = "From "

// fromPrefix is FromPrefix for the byte-slice work of Reader and quoter.
var fromPrefix = []byte(FromPrefix)

// The longest From_ line. Writer and reader must agree on it: a line that
// FromLine writes and Reader keeps only in part loses its date, and then
// "letterbox check" calls letterbox's own From_ line an unescaped body line
// (issue 12, 8). This is the one place the relation is stated:
//
//	MaxFromLine = len("From ") + MaxSender + len("  ") + len(asctime) + len("\n")
//	            = 5 + 998 + 2 + 24 + 1 = 1030
//
// FromLine never writes more (it cuts a longer sender to MaxSender), and
// Reader keeps up to MaxFromLine bytes after "From ", which holds the
// longest line whole with its "\r\n" as well.
const (
	// MaxSender is the longest sender token FromLine writes: the longest
	// envelope address deliver accepts (deliver.MaxAddressLen, RFC 5322's
	// 998-byte line), so no delivered sender is ever cut.
	MaxSender = 998
	// MaxFromLine is the longest From_ line FromLine writes, "\n"
	// included, and how much of a From_ line after "From " Reader keeps.
	MaxFromLine = len(FromPrefix) + MaxSender + len("  ") + len(asctime) + len("\n")
)

// asctime is the layout of a From_ line's date: 24 bytes for the years 1000
// to 9999.
const asctime = "Mon Jan _2 15:04:05 2006"

// NullSender is what the From_ line says for the null sender (<>), as
// Postfix, procmail and Dovecot write it.
const NullSender = "MAILER-DAEMON"

// IsNullSender reports whether a sender as given by the MTA (angle brackets
// removed) means the null sender: "", or MAILER-DAEMON in any case, which
// is how Postfix writes the null sender in a From_ line and in pipe(8)'s
// ${sender} (null_sender default).
func IsNullSender(sender string) bool {
	return sender == "" || strings.EqualFold(sender, NullSender)
}

// Spaces is how SenderToken writes the whitespace and control bytes of a
// sender. A reader splits the From_ line at whitespace, and Postfix's
// `From "john doe"@x  ...` breaks them (docs/peers.md §C,
// item 8), so none may stay; the exact sender is kept in
// Return-Path:. The two writers have always differed in a run of such
// bytes, and a converted mbox is recognised again by its From_ lines, so
// the caller says.
type Spaces int

const (
	// EachByte writes every such byte as '_': "a \t b" is "a___b"
	// (FromLine, convert).
	EachByte Spaces = iota
	// EachRun writes every run of them as one '_': "a \t b" is "a_b"
	// (deliver).
	EachRun
)

// SenderToken returns the sender token of a From_ line for sender: NullSender
// for the null sender ("" or "<>"), else sender with its whitespace and
// control bytes (a byte up to ' ', and DEL) written as sp says.
func SenderToken(sender string, sp Spaces) string {
	if sender == "" || sender == "<>" {
		return NullSender
	}
	b := make([]byte, 0, len(sender))
	inRun := false
	for i := 0; i < len(sender); i++ {
		c := sender[i]
		if c <= ' ' || c == 0x7f {
			if !inRun || sp == EachByte {
				b = append(b, '_')
			}
			inRun = true
			continue
		}
		inRun = false
		b = append(b, c)
	}
	return string(b)
}

// FromLine returns the From_ line that starts a message from sender
// delivered at t: "From SENDER  Www Mmm dd hh:mm:ss yyyy\n" — two spaces,
// asctime form, in t's location (the caller passes local time, docs/design.md §9).
// The sender is written as SenderToken(sender, EachByte) writes it; a token
// from SenderToken(sender, EachRun) passes unchanged. A token longer than
// MaxSender is cut to it, so that the line is at most MaxFromLine bytes and
// every reader of it (Reader, "letterbox check") sees its date.
func FromLine(sender string, t time.Time) []byte {
	sender = SenderToken(sender, EachByte)
	if len(sender) > MaxSender {
		// Cut rather than refused: the From_ line's sender only informs —
		// Return-Path: keeps it whole — and convert takes senders from
		// headers, which have no such limit; a message must not fail for
		// it. deliver refuses longer addresses before they get here.
		sender = sender[:MaxSender]
	}
	b := make([]byte, 0, len(FromPrefix)+len(sender)+2+len(asctime)+1)
	b = append(b, FromPrefix...)
	b = append(b, sender...)
	b = append(b, "  "...)
	b = t.AppendFormat(b, asctime)
	return append(b, '\n')
}

// SenderRule is how ParseFromLine finds the sender in a From_ line. The
// readers of a From_ line have always differed here, and what a message's
// envelope sender becomes depends on it, so the caller says.
type SenderRule int

const (
	// SenderBeforeDate: the words before the date, so a sender written
	// with spaces (`"john doe"@x`) is whole; the first word if there is no
	// date. The null sender, written as MAILER-DAEMON, "<>", or not at
	// all (the date right after "From "), is NullSender (Reader, convert).
	SenderBeforeDate SenderRule = iota
	// SenderFirstToken: everything up to the first space or tab, except
	// that a leading quoted string is kept whole, spaces and all; "" when
	// the line begins with a space. The token is as written: the caller
	// maps "", "<>" and MAILER-DAEMON to the null sender (the spool:
	// deliver.Resolve does).
	SenderFirstToken
)

// ParseFromLine reads a From_ line without FromPrefix and without its line
// end. It returns the sender by rule, the asctime date ("Sun Nov 22
// 09:00:00 2026", also without seconds or with a zone name before the
// year) in time.Local, zero if there is none, and whether the line is a
// real From_ line by the lenient rule of Reader: one sender word, a date,
// and nothing after it but a numeric zone or "remote from ...".
func ParseFromLine(s string, rule SenderRule) (sender string, date time.Time, real bool) {
	type field struct{ start, end int }
	var buf [16]field
	fields := buf[:0]
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		fields = append(fields, field{i, j})
		i = j
	}
	words := make([]string, len(fields))
	for k, f := range fields {
		words[k] = s[f.start:f.end]
	}

	at, used := -1, 0
	for i := range words {
		if t, n, ok := parseDate(words[i:]); ok {
			at, used, date = i, n, t
			break
		}
	}
	if rule == SenderFirstToken {
		sender = firstToken(s)
	} else {
		switch {
		case at == 0:
			sender = NullSender
		case at > 0:
			sender = strings.TrimSpace(s[:fields[at].start])
		case len(words) > 0:
			sender = words[0]
		}
		if sender == "<>" {
			sender = NullSender
		}
	}
	if at != 1 {
		return sender, date, false
	}
	rest := words[at+used:]
	switch {
	case len(rest) == 0:
		real = true
	case len(rest) == 1:
		real = numericZone(rest[0])
	default:
		real = rest[0] == "remote" && rest[1] == "from"
	}
	return sender, date, real
}

// firstToken is the sender of SenderFirstToken. A quoted string may hold
// spaces (RFC 5321 §4.1.2 Quoted-string), and the quote of a quoted pair
// (a backslash and the byte after it) does not end it.
func firstToken(s string) string {
	i := 0
	if len(s) > 0 && s[0] == '"' {
		for i = 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++ // a quoted pair: the next byte cannot end the string
			} else if s[i] == '"' {
				i++
				break
			}
		}
	}
	for i < len(s) && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	return s[:min(i, len(s))]
}

var (
	weekdays = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	months   = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// parseDate parses an asctime date at the start of w: "Www Mmm d hh:mm[:ss]
// [ZONE] yyyy". It returns the time in time.Local and the words used.
func parseDate(w []string) (time.Time, int, bool) {
	if len(w) < 5 || indexFold(weekdays[:], w[0]) < 0 {
		return time.Time{}, 0, false
	}
	mon := indexFold(months[:], w[1])
	day, ok := number(w[2], 1, 2)
	if mon < 0 || !ok || day < 1 || day > 31 {
		return time.Time{}, 0, false
	}
	hms := strings.Split(w[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, 0, false
	}
	var clock [3]int
	for i, v := range hms {
		n, ok := number(v, 1, 2)
		if !ok || (i > 0 && len(v) != 2) {
			return time.Time{}, 0, false
		}
		clock[i] = n
	}
	if clock[0] > 23 || clock[1] > 59 || clock[2] > 60 {
		return time.Time{}, 0, false
	}
	used := 4
	if !isYear(w[4]) {
		if !zoneName(w[4]) && !numericZone(w[4]) || len(w) < 6 || !isYear(w[5]) {
			return time.Time{}, 0, false
		}
		used = 5
	}
	year, _ := number(w[used], 4, 4)
	if time.Date(year, time.Month(mon+1), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, 0, false // Feb 31 and the like
	}
	t := time.Date(year, time.Month(mon+1), day, clock[0], clock[1], clock[2], 0, time.Local)
	return t, used + 1, true
}

func indexFold(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// number parses s of minLen to maxLen decimal digits.
func number(s string, minLen, maxLen int) (int, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isYear(s string) bool {
	_, ok := number(s, 4, 4)
	return ok
}

// zoneName is a zone abbreviation such as MET or CEST.
func zoneName(s string) bool {
	if len(s) < 1 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// numericZone is +hhmm or -hhmm.
func numericZone(s string) bool {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return false
	}
	_, ok := number(s[1:], 4, 4)
	return ok
}

// WriterFromLine reports whether s, a From_ line without FromPrefix and
// without its line end, is one that some writer makes: a real From_ line
// (ParseFromLine), or a sender alone, which is what Python's mailbox writes
// for a message given set_from(sender) without a time ("From
// alice@example.org"). A line like "From here on, we" is neither: a body
// line that a writer failed to quote, though after an empty line every
// reader starts a message there.
func WriterFromLine(s string) bool {
	if _, _, real := ParseFromLine(s, SenderBeforeDate); real {
		return true
	}
	s = strings.TrimRight(s, " \t")
	return s != "" && !strings.ContainsAny(s, " \t")
}
