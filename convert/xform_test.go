package convert

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	rp := []byte("Return-Path: <s@x>\n")
	tests := []struct {
		name  string
		in    string
		x     rewrite
		want  string
		state string // the values read: status|xstatus|keywords[|return-path]
	}{
		{"private fields go, with their continuation lines",
			"Subject: a\nStatus: RO\nX-Status: AF\nX-Keywords: $Forwarded\n  Junk\nX-UID: 7\nX-IMAPbase: 1 2\nx-imap: 3\nCONTENT-LENGTH: 5\nX-Delivery-ID: 9\nTo: b\n\nbody\n",
			rewrite{}, "Subject: a\nTo: b\n\nbody\n", " RO| AF| $Forwarded  Junk"},
		{"only in the header section",
			"Subject: a\n\nStatus: RO\nX-UID: 1\n", rewrite{}, "Subject: a\n\nStatus: RO\nX-UID: 1\n", "||"},
		{"Return-Path put first",
			"Subject: a\n\nb\n", rewrite{returnPath: rp}, "Return-Path: <s@x>\nSubject: a\n\nb\n", "||"},
		{"a first Return-Path is kept, not doubled",
			"Return-Path: <t@y>\nSubject: a\n\nb\n", rewrite{returnPath: rp}, "Return-Path: <t@y>\nSubject: a\n\nb\n", "|||<t@y>"},
		{"a Return-Path after private fields counts as first",
			"Status: O\nReturn-Path: <t@y>\n\nb\n", rewrite{returnPath: rp}, "Return-Path: <t@y>\n\nb\n", " O|||<t@y>"},
		{"lines at the end of the header",
			"Subject: a\nStatus: O\n\nb\n", rewrite{atEnd: []byte("Status: RO\n")}, "Subject: a\nStatus: RO\n\nb\n", " O||"},
		{"header only, no line end: lines still on lines of their own",
			"Subject: a", rewrite{atEnd: []byte("Status: O\n")}, "Subject: a\nStatus: O\n", "||"},
		{"header only, no line end, no additions: only the newline",
			"Subject: a", rewrite{}, "Subject: a\n", "||"},
		{"CRLF becomes LF, in header and body",
			"Subject: a\r\nStatus: R\r\n\r\nb\r\nc\rd\r\n", rewrite{atEnd: []byte("X: 1\n")}, "Subject: a\nX: 1\n\nb\nc\rd\n", " R||"},
		{"a body with no header: additions before it, then the empty line readers need",
			"just text\nmore\n", rewrite{returnPath: rp}, "Return-Path: <s@x>\n\njust text\nmore\n", "||"},
		{"a continuation line first cannot fold into an added field (issue 12, 4)",
			" evil\nSubject: t\n\nb\n", rewrite{returnPath: rp, atEnd: []byte("Status: O\n")}, "Return-Path: <s@x>\nStatus: O\n\n evil\nSubject: t\n\nb\n", "||"},
		{"a header ended by a line that is no field: the empty line is put there",
			"Subject: t\nbogus\nContent-Length: 5\n\nbody\n", rewrite{}, "Subject: t\n\nbogus\nContent-Length: 5\n\nbody\n", "||"},
		{"an empty message",
			"", rewrite{returnPath: rp, atEnd: []byte("Status: O\n")}, "Return-Path: <s@x>\nStatus: O\n", "||"},
		{"a continuation line first is body, after an empty header section",
			" indented\n", rewrite{}, "\n indented\n", "||"},
		{"8-bit and NUL bytes pass",
			"Subject: \xe9\x00\n\n\xff\x00\n", rewrite{}, "Subject: \xe9\x00\n\n\xff\x00\n", "||"},
		{"a header line longer than the buffer",
			"X-Long: " + strings.Repeat("v", 3*lineBuf) + "\nStatus: O\n\nb\n", rewrite{},
			"X-Long: " + strings.Repeat("v", 3*lineBuf) + "\n\nb\n", " O||"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			h, err := tc.x.copy(&out, bufio.NewReaderSize(strings.NewReader(tc.in), 16))
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got  %q\nwant %q", out.String(), tc.want)
			}
			got := string(h.status) + "|" + string(h.xstatus) + "|" + string(h.keywords)
			if h.returnPath != nil {
				got += "|" + strings.TrimSpace(string(h.returnPath))
			}
			if got != tc.state {
				t.Errorf("read %q, want %q", got, tc.state)
			}
		})
	}
}

func TestReturnPathSender(t *testing.T) {
	for in, want := range map[string]string{
		" <a@b>":       "a@b",
		"<>":           "",
		" a@b ":        "a@b",
		"<a@b> (x)":    "a@b",
		"":             "",
		"  < x@y >   ": "x@y",
	} {
		if got := (header{returnPath: []byte(in)}).sender(); got != want {
			t.Errorf("%q: sender %q, want %q", in, got, want)
		}
	}
	if got := string(returnPathLine("MAILER-DAEMON")); got != "Return-Path: <>\n" {
		t.Errorf("null sender: %q", got)
	}
}
