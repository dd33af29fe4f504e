package mbox

import (
	"strings"
	"testing"
	"time"
)

// TestSenderToken holds the cases of deliver's old FromLineSender (EachRun)
// beside FromLine's rule (EachByte).
func TestSenderToken(t *testing.T) {
	for _, tc := range []struct {
		sender    string
		each, run string
	}{
		{"", NullSender, NullSender},
		{"<>", NullSender, NullSender},
		{"alice@example.org", "alice@example.org", "alice@example.org"},
		{`"john doe"@example.org`, `"john_doe"@example.org`, `"john_doe"@example.org`},
		{"a \t b@x", "a___b@x", "a_b@x"},
		{" a@x ", "_a@x_", "_a@x_"},
		{"a\nb@x", "a_b@x", "a_b@x"},
		{"a\x00\x7fb", "a__b", "a_b"},
		{"MAILER-DAEMON", NullSender, NullSender},
		{"mailer-daemon", "mailer-daemon", "mailer-daemon"}, // as written: IsNullSender is the caller's
	} {
		if got := SenderToken(tc.sender, EachByte); got != tc.each {
			t.Errorf("SenderToken(%q, EachByte) = %q, want %q", tc.sender, got, tc.each)
		}
		if got := SenderToken(tc.sender, EachRun); got != tc.run {
			t.Errorf("SenderToken(%q, EachRun) = %q, want %q", tc.sender, got, tc.run)
		}
	}
}

func TestIsNullSender(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "MAILER-DAEMON": true, "mailer-daemon": true,
		"<>":  false, // brackets are removed before: "<>" is ""
		"a@x": false, "MAILER-DAEMON@x": false,
	} {
		if got := IsNullSender(s); got != want {
			t.Errorf("IsNullSender(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestParseFromLineFirstToken is the spool's rule: the token as written.
func TestParseFromLineFirstToken(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct{ line, sender string }{
		{"alice@example.org  Sun Nov 22 00:30:46 2026", "alice@example.org"},
		{"alice@example.org", "alice@example.org"},
		{"MAILER-DAEMON  Sun Nov 22 00:30:46 2026", "MAILER-DAEMON"},
		{"<>  Sun Nov 22 00:30:46 2026", "<>"},
		{" Sun Nov 22 00:30:46 2026", ""},
		{"", ""},
		{`"john doe"@example.org  Sun Nov 22 00:30:46 2026`, `"john doe"@example.org`},
		{`"john doe"@x`, `"john doe"@x`},
		{`"a\" b"@x Sun`, `"a\" b"@x`},
		{`"unterminated b`, `"unterminated b`},
		{`"ends in a pair\`, `"ends in a pair\`},
		{"a@x\tSun", "a@x"},
		{"a@x more words Sun Nov 22 00:30:46 2026", "a@x"},
		{long, long},
	} {
		sender, _, _ := ParseFromLine(tc.line, SenderFirstToken)
		if sender != tc.sender {
			t.Errorf("ParseFromLine(%.40q, SenderFirstToken) = %.40q, want %.40q", tc.line, sender, tc.sender)
		}
	}
	// The date and the lenient rule do not depend on the sender rule.
	_, date, real := ParseFromLine("a  Sun Nov 22 00:30:46 2026", SenderFirstToken)
	if !real || !date.Equal(time.Date(2026, 11, 22, 0, 30, 46, 0, time.Local)) {
		t.Errorf("date %v, real %v", date, real)
	}
}

func TestParseFromLine(t *testing.T) {
	loc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.Local)
	}
	for _, tc := range []struct {
		line   string
		sender string
		date   time.Time
		real   bool
	}{
		{"alice@example.org  Sun Nov 22 09:00:00 2026", "alice@example.org", loc(2026, 11, 22, 9, 0, 0), true},
		{"MAILER-DAEMON  Sun Nov 22 09:00:00 2026", NullSender, loc(2026, 11, 22, 9, 0, 0), true},
		{"<>  Sun Nov 22 09:00:00 2026", NullSender, loc(2026, 11, 22, 9, 0, 0), true},
		{" Sun Nov 22 09:00:00 2026", NullSender, loc(2026, 11, 22, 9, 0, 0), false},
		{"a Sun Mar  1 00:00:00 2026", "a", loc(2026, 3, 1, 0, 0, 0), true},
		{"a\tSun\tMar\t1\t00:00:00\t2026", "a", loc(2026, 3, 1, 0, 0, 0), true},
		{"a Sun Mar 1 7:08 2026", "a", loc(2026, 3, 1, 7, 8, 0), true},
		{"a Wed Nov 25 12:00:00 CET 2026", "a", loc(2026, 11, 25, 12, 0, 0), true},
		{"a Wed Nov 25 12:00:00 +0100 2026", "a", loc(2026, 11, 25, 12, 0, 0), true},
		{"a Wed Nov 25 12:00:00 2026 +0100", "a", loc(2026, 11, 25, 12, 0, 0), true},
		{"a Wed Nov 25 12:00:00 2026 remote from uucp", "a", loc(2026, 11, 25, 12, 0, 0), true},
		{"a wed nov 25 12:00:00 2026", "a", loc(2026, 11, 25, 12, 0, 0), true},
		{"a Wed Nov 25 12:00:00 2026 and some words", "a", loc(2026, 11, 25, 12, 0, 0), false},
		{`"john doe"@x  Sun Nov 22 09:00:00 2026`, `"john doe"@x`, loc(2026, 11, 22, 9, 0, 0), false},
		{"a  Sun Nov 22 09:00:60 2026", "a", loc(2026, 11, 22, 9, 1, 0), true},
		{"Sun  Sun Nov 22 09:00:00 2026", "Sun", loc(2026, 11, 22, 9, 0, 0), true},
		{"a Sun Feb 30 00:00:00 2026", "a", time.Time{}, false},
		{"a Sun Nov 22 24:00:00 2026", "a", time.Time{}, false},
		{"a Sun Nov 22 09:60:00 2026", "a", time.Time{}, false},
		{"a Sun Nov 22 09:00:0 2026", "a", time.Time{}, false},
		{"a Sun Nov 22 09:00:00 26", "a", time.Time{}, false},
		{"a Sun Nov 22 09:00:00", "a", time.Time{}, false},
		{"a Sun, 22 Nov 2026 09:00:00 +0000", "a", time.Time{}, false},
		{"here on, nothing", "here", time.Time{}, false},
		{"", "", time.Time{}, false},
		{"a", "a", time.Time{}, false},
	} {
		sender, date, real := ParseFromLine(tc.line, SenderBeforeDate)
		if sender != tc.sender || !date.Equal(tc.date) || date.Location() != tc.date.Location() && !date.IsZero() || real != tc.real {
			t.Errorf("ParseFromLine(%q, SenderBeforeDate) = %q, %v, %v; want %q, %v, %v", tc.line, sender, date, real, tc.sender, tc.date, tc.real)
		}
	}
}

// TestFromLineLongest: the longest From_ line FromLine writes — for the
// longest address deliver accepts, and for longer senders, which it cuts —
// is read back whole by Reader, sender and date, as the first line, after
// the separating empty line, and (MboxO's lenient rule) after a message
// that lost its end; with "\n" and with "\r\n" (issue 12, 8: Reader kept
// 1000 bytes and lost the date of a 975-998-byte sender's line).
func TestFromLineLongest(t *testing.T) {
	date := time.Date(2026, 11, 22, 9, 0, 0, 0, time.Local)
	longest := strings.Repeat("s", MaxSender-len("@example.org")) + "@example.org"
	for _, tc := range []struct {
		name, sender, token string
	}{
		{"longest address", longest, longest},
		{"one byte longer: cut", longest + "x", longest},
		{"much longer, with spaces: cut", strings.Repeat("a b", 2000), strings.Repeat("a_b", 2000)[:MaxSender]},
		{"null sender", "", NullSender},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := string(FromLine(tc.sender, date))
			if len(line) > MaxFromLine || tc.token == longest && len(line) != MaxFromLine {
				t.Fatalf("line of %d bytes, MaxFromLine %d", len(line), MaxFromLine)
			}
			for _, eol := range []string{"\n", "\r\n"} {
				l := strings.TrimSuffix(line, "\n") + eol
				// Message 1 starts the stream, 2 follows the empty line,
				// 3 follows a line of 2 that is not empty.
				in := l + "Subject: one" + eol + eol + "body" + eol + eol +
					l + "Subject: two" + eol + eol + "lost its end" + eol +
					l + "Subject: three" + eol + eol + "body" + eol + eol
				msgs := readAll(t, NewReader(strings.NewReader(in), MboxO), 7)
				if len(msgs) != 3 {
					t.Fatalf("%q: %d messages, want 3", eol, len(msgs))
				}
				for i, m := range msgs {
					if m.Sender != tc.token || !m.Date.Equal(date) {
						t.Errorf("%q: message %d: sender %.20q... (%d bytes), date %v; want %d bytes, %v",
							eol, i+1, m.Sender, len(m.Sender), m.Date, len(tc.token), date)
					}
					if m.FromLine != strings.TrimSuffix(l[len(FromPrefix):], eol) {
						t.Errorf("%q: message %d: From_ line kept in part (%d bytes)", eol, i+1, len(m.FromLine))
					}
				}
				if !msgs[1].Truncated || msgs[0].Truncated || msgs[2].Truncated {
					t.Errorf("%q: truncated %v %v %v, want only message 2", eol, msgs[0].Truncated, msgs[1].Truncated, msgs[2].Truncated)
				}
			}
		})
	}
}
