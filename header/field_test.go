package header

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		chunk      string
		afterField bool
		bare       BareColon
		kind       Line
		name, val  string
	}{
		{"Subject: a\n", false, BareColonField, Field, "Subject", " a\n"},
		{"Subject:a", false, BareColonField, Field, "Subject", "a"},
		{"Subject : a\n", false, BareColonField, Field, "Subject", " a\n"}, // RFC 5322 §4.5
		{"Subject\t: a\n", false, BareColonField, Field, "Subject", " a\n"},
		{"X-\xe9: a\n", false, BareColonField, NotHeader, "", ""}, // 8-bit name
		{": a\n", false, BareColonField, NotHeader, "", ""},       // no name
		{"Sub ject: a\n", false, BareColonField, NotHeader, "", ""},
		{"Subject a\n", false, BareColonField, NotHeader, "", ""},
		{"Subject", false, BareColonField, NotHeader, "", ""}, // a name without colon in the chunk
		{"not a header\n", true, BareColonField, NotHeader, "", ""},
		{"\n", false, BareColonField, Empty, "", ""},
		{"\r\n", true, BareColonField, Empty, "", ""},
		{"\r\rx\n", true, BareColonField, NotHeader, "", ""},
		{" folded\n", true, BareColonField, Continuation, "", ""},
		{"\tfolded\n", true, BareColonField, Continuation, "", ""},
		{" folded\n", false, BareColonField, NotHeader, "", ""}, // a continuation of nothing
		{"Status:", false, BareColonField, Field, "Status", ""},
		{"Status:", false, BareColonBody, NotHeader, "", ""},
		{"Status:\n", false, BareColonBody, Field, "Status", "\n"},
		{long + ":", false, BareColonField, Field, long, ""},
		{"", false, BareColonField, NotHeader, "", ""},
	}
	for _, tt := range tests {
		kind, name, val := Classify([]byte(tt.chunk), tt.afterField, tt.bare)
		if kind != tt.kind || string(name) != tt.name || string(val) != tt.val {
			t.Errorf("Classify(%.40q, %v, %v) = %d %.40q %q, want %d %.40q %q", tt.chunk, tt.afterField, tt.bare, kind, name, val, tt.kind, tt.name, tt.val)
		}
	}
}

func TestIsPrivate(t *testing.T) {
	for name, want := range map[string]bool{
		"Status": true, "status": true, "X-STATUS": true, "X-Keywords": true, "X-UID": true,
		"x-imap": true, "X-IMAPbase": true, "CONTENT-LENGTH": true, "X-Delivery-ID": true,
		"X-UIDs": false, "Statusx": false, "X-Status-Old": false, "Content-Length-X": false,
		"Subject": false, "": false,
	} {
		if got := IsPrivate([]byte(name)); got != want {
			t.Errorf("IsPrivate(%q) = %v, want %v", name, got, want)
		}
	}
}
