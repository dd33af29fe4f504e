package header

import (
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name   string
		v      Value
		pieces []string
		want   string
	}{
		{"unfolded", Value{Max: 100}, []string{" a\n", "\tb\n"}, " a\tb"},
		{"trimmed", Value{Max: 100, Trim: true}, []string{" \t Alice\n", "\t@Example.ORG  \n"}, "Alice\t@Example.ORG"},
		{"lone CR kept", Value{Max: 100, Trim: true}, []string{" a\rb\n"}, "a\rb"},
		{"CR dropped", Value{Max: 100, DropCR: true}, []string{" a\rb\r\n", " c\r\n"}, " ab c"},
		{"cut at Max", Value{Max: 3}, []string{"abcdef"}, "abc"},
		{"trim: inner spaces count toward Max", Value{Max: 5, Trim: true}, []string{"a", strings.Repeat(" ", 10), "b"}, "a    "},
		{"trim: trailing spaces dropped", Value{Max: 5, Trim: true}, []string{"a  \n"}, "a"},
		{"across chunks", Value{Max: 100, Trim: true}, []string{"a ", " ", "b"}, "a  b"},
	}
	for _, tt := range tests {
		v := tt.v
		for _, p := range tt.pieces {
			v.Add([]byte(p))
		}
		if got := v.String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		v.Reset()
		if v.String() != "" {
			t.Errorf("%s: Reset left %q", tt.name, v.String())
		}
	}
	// Load continues a value: several fields into one, Max bytes in all.
	v := Value{Max: 4, DropCR: true}
	v.Load([]byte("ab"))
	v.Add([]byte("cdef\r\n"))
	if got := v.String(); got != "abcd" {
		t.Errorf("Load: %q", got)
	}
}
