package mbox

import (
	"io"
	"strings"
	"testing"
)

// Detect names the variant from the quoted lines and reads as it names.
func TestDetect(t *testing.T) {
	cl := func(body string) string { return testFrom + withCL(body) + "\n" }
	for _, tc := range []struct {
		name string
		in   string
		want Variant
	}{
		{"empty", "", Variant{MboxO, "mboxo"}},
		{"nothing quoted", testFrom + "S: x\n\nhi\n\n", Variant{MboxO, "mboxo"}},
		{"quoted once only", testFrom + "S: x\n\n>From a\n\n", Variant{MboxO, "mboxo"}},
		{"quoted twice", testFrom + "S: x\n\n>>From a\n\n", Variant{MboxRD, "mboxrd"}},
		{"quoted thrice", testFrom + "S: x\n\n>>>From a\n\n", Variant{MboxRD, "mboxrd"}},
		{">>From inside a line", testFrom + "S: x\n\nx >>From a\n\n", Variant{MboxO, "mboxo"}},
		{"a From_ line is no body line", testFrom + "S: x\n\nb\n\n" + testFrom + "S: y\n\nc\n\n", Variant{MboxO, "mboxo"}},
		{"Content-Length, nothing quoted", cl("x\nFrom y\n"), Variant{MboxCL2, "mboxcl2"}},
		{"Content-Length, quoted", cl("x\n>From y\n"), Variant{MboxCL2, "mboxcl"}},
		{"Content-Length, quoted and not", cl("x\n>From y\nFrom z\n"), Variant{MboxCL2, "mboxcl2"}},
		{"a wrong Content-Length", cl("x\n") + testFrom + "Content-Length: 1\n\nab\n\n>>From q\n\n", Variant{MboxRD, "mboxrd"}},
		{"Python's dateless From_ lines", "From alice@example.org\nS: x\n\n>From here\n\nFrom MAILER-DAEMON\nS: y\n\nb\n\n", Variant{MboxO, "mboxo"}},
	} {
		for _, step := range []int{1, 3, 1 << 20} {
			// The line counts survive content that arrives in pieces.
			var ls lineStats
			q, err := detect(&chunky{s: tc.in, n: step}, &ls)
			if got := variantOf(q, &ls); err != nil || got != tc.want {
				t.Errorf("%s (read %d at a time): %+v, %v; want %+v", tc.name, step, got, err, tc.want)
			}
		}
		if got, err := Detect(strings.NewReader(tc.in)); err != nil || got != tc.want {
			t.Errorf("%s: Detect: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// chunky hands out its input n bytes at a time.
type chunky struct {
	s string
	n int
}

func (c *chunky) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}

// lineStats counts a line's kind however its bytes arrive.
func TestLineStatsSplit(t *testing.T) {
	in := "From a\n>From b\n>>From c\nx From d\n>>>>From e\nFrom\n>\n"
	for cut := 0; cut <= len(in); cut++ {
		var s lineStats
		s.start()
		s.scan([]byte(in[:cut]))
		s.scan([]byte(in[cut:]))
		if s.from != 1 || s.quoted != 1 || s.quotedMore != 2 {
			t.Errorf("cut at %d: %+v", cut, s)
		}
	}
}

func TestWriterFromLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"alice@example.org  Sun Nov 22 09:00:00 2026", true},
		{"alice@example.org Thu Dec  3 04:43:40 2026", true},
		{"alice@example.org", true}, // Python's set_from(sender)
		{"MAILER-DAEMON", true},
		{"alice@example.org ", true},
		{"", false},
		{"here on, we go", false},
		{"the start", false},
		{"a@b Sun Nov 22 09:00:00 2026 trailing words", false},
	} {
		if got := WriterFromLine(tc.line); got != tc.want {
			t.Errorf("WriterFromLine(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
