package header

import (
	"bytes"
	"strings"
	"testing"
)

func TestLFWriter(t *testing.T) {
	tests := []struct {
		in         string
		run, onecr string
	}{
		{"", "", ""},
		{"a\r\nb\r\n", "a\nb\n", "a\nb\n"},
		{"a\r\nb", "a\nb\n", "a\nb\n"},
		{"a\rb\n", "a\rb\n", "a\rb\n"},
		{"a\r\r\r\nb\n", "a\nb\n", "a\r\r\nb\n"},
		{"a\r\r\rb\n", "a\r\r\rb\n", "a\r\r\rb\n"},
		{"a\r", "a\n", "a\r\n"},
		{"\r", "\n", "\r\n"},
		{"\n", "\n", "\n"},
		{"a\nb\r\r\nc\r", "a\nb\nc\n", "a\nb\r\nc\r\n"},
		{"8\xff\x00\r\n", "8\xff\x00\n", "8\xff\x00\n"},
		{"x" + strings.Repeat("\r", 100) + "y\n", "x" + strings.Repeat("\r", 100) + "y\n", "x" + strings.Repeat("\r", 100) + "y\n"},
	}
	for _, tt := range tests {
		for _, mode := range []CRs{CRRun, OneCR} {
			want := tt.run
			if mode == OneCR {
				want = tt.onecr
			}
			// Every split into two writes gives the same.
			for split := 0; split <= len(tt.in); split++ {
				var out bytes.Buffer
				w := &LFWriter{W: &out, CRs: mode}
				w.Write([]byte(tt.in[:split]))
				w.Write([]byte(tt.in[split:]))
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if out.String() != want {
					t.Errorf("%q mode %d split at %d: %q, want %q", tt.in, mode, split, out.String(), want)
				}
			}
		}
	}
}

// TestLFWriterAcrossWrites is convert's case, which OneCR keeps.
func TestLFWriterAcrossWrites(t *testing.T) {
	in := "a\r\nb\r\r\nc\r"
	for split := 0; split <= len(in); split++ {
		var out bytes.Buffer
		w := &LFWriter{W: &out, CRs: OneCR}
		w.Write([]byte(in[:split]))
		w.Write([]byte(in[split:]))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want := "a\nb\r\nc\r\n"; out.String() != want {
			t.Errorf("split at %d: %q, want %q", split, out.String(), want)
		}
	}
}

func TestLFWriterLineOpen(t *testing.T) {
	for in, want := range map[string]bool{"": false, "a": true, "a\n": false, "a\r": true, "a\r\n": false, "\r": true} {
		w := &LFWriter{W: &bytes.Buffer{}, CRs: OneCR}
		w.Write([]byte(in))
		if got := w.LineOpen(); got != want {
			t.Errorf("%q: LineOpen %v, want %v", in, got, want)
		}
	}
}
