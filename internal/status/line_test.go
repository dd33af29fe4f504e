package status

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"plain", "5.1.1 unknown user", 0, "5.1.1 unknown user"},
		{"line breaks and tab", "a\r\nb\tc\nd", 0, "a  b c d"},
		{"escape and NUL", "x\x1b[31my\x00z\x7f", 0, "x?[31my?z?"},
		{"8-bit kept", "Grüße", 0, "Grüße"},
		{"short enough", "abcdef", 6, "abcdef"},
		{"cut", "abcdefgh", 6, "abc..."},
		{"cut before a character, not inside it", "abü" + "xyz", 6, "ab..."},
		{"tiny limit", "abcdef", 2, "ab"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := OneLine(c.in, c.limit)
			if got != c.want {
				t.Errorf("OneLine(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
			}
			if !utf8.ValidString(got) && utf8.ValidString(c.in) {
				t.Errorf("OneLine(%q) = %q: invalid UTF-8 from valid", c.in, got)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("OneLine(%q) = %q: a line break", c.in, got)
			}
		})
	}
}
