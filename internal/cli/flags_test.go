package cli

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"letterbox/internal/status"
)

func testFlags() *Flags {
	f := NewFlags("demo", "letterbox demo [-c FILE] [--json] [--to FORMAT] ARG",
		"Do a demonstration, at enough length that the paragraph has to be wrapped onto a second line of the help.")
	f.String("c", "", "configuration `FILE`")
	f.Bool("json", false, "print JSON")
	f.String("to", "mbox", "write as `FORMAT`")
	f.Bool("verify", true, "compare at the end")
	return f
}

// stdout runs fn with standard output captured.
func stdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = old }()
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	fn()
	w.Close()
	return <-done
}

func TestParseHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"-c", "x", "--help", "ARG"}} {
		var err error
		out := stdout(t, func() { err = testFlags().Parse(args) })
		// Help is a successful end of the command: exit 0, no status line.
		if code := ExitCode(err); code != 0 || err == nil {
			t.Errorf("Parse(%q) = %v (exit %d), want ExitStatus(0)", args, err, code)
		}
		if !strings.HasPrefix(out, "usage: letterbox demo [-c FILE]") {
			t.Errorf("Parse(%q) printed %q, want the help", args, out)
		}
	}
}

func TestParseBad(t *testing.T) {
	var err error
	out := stdout(t, func() { err = testFlags().Parse([]string{"--bogus"}) })
	var se *status.Error
	if !errors.As(err, &se) || se.Code != status.Usage {
		t.Fatalf("Parse(--bogus) = %v, want a usage error", err)
	}
	want := "5.3.0 demo: flag provided but not defined: -bogus (usage: letterbox demo [-c FILE] [--json] [--to FORMAT] ARG)"
	if se.Line() != want {
		t.Errorf("status line %q, want %q", se.Line(), want)
	}
	if out != "" {
		t.Errorf("a usage error printed %q to standard output", out)
	}
	if err := testFlags().Parse([]string{"-c", "f", "ARG"}); err != nil {
		t.Errorf("Parse of good flags: %v", err)
	}
}

func TestHelp(t *testing.T) {
	var b strings.Builder
	testFlags().Help(&b)
	want := `usage: letterbox demo [-c FILE] [--json] [--to FORMAT] ARG

Do a demonstration, at enough length that the paragraph has to be wrapped onto
a second line of the help.

flags:
  -c FILE      configuration FILE
  --json       print JSON
  --to FORMAT  write as FORMAT (default: mbox)
  --verify     compare at the end (default: true)
`
	if b.String() != want {
		t.Errorf("Help:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestHelpLongTerm(t *testing.T) {
	f := NewFlags("x", "x", "")
	f.String("a", "", "short `A`")
	f.String("a-very-long-flag-name", "", "takes `SOMETHING_LONG` and is described at length, so that it wraps past the right margin")
	var b strings.Builder
	f.Help(&b)
	want := `usage: x

flags:
  -a A  short A
  --a-very-long-flag-name SOMETHING_LONG
        takes SOMETHING_LONG and is described at length, so that it wraps past
        the right margin
`
	if b.String() != want {
		t.Errorf("Help:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text, indent string
		width        int
		want         string
	}{
		{"", "  ", 10, ""},
		{"a b c", "", 10, "a b c\n"},
		{"aaaa bbbb cccc", "", 9, "aaaa bbbb\ncccc\n"},
		{"aaaa bbbb", "  ", 8, "  aaaa\n  bbbb\n"},
		{"averyveryverylongword x", "", 5, "averyveryverylongword\nx\n"},
		{"  spaced \n  out  ", "", 20, "spaced out\n"},
	} {
		if got := Wrap(tc.text, tc.indent, tc.width); got != tc.want {
			t.Errorf("Wrap(%q, %q, %d) = %q, want %q", tc.text, tc.indent, tc.width, got, tc.want)
		}
	}
}

func TestLMTPFlags(t *testing.T) {
	a := LMTPFlags()
	if err := a.Parse([]string{"-c", "/etc/x.toml", "--listen", "unix:/a", "--listen", "127.0.0.1:24"}); err != nil {
		t.Fatal(err)
	}
	if a.Config != "/etc/x.toml" || strings.Join(a.Listen, " ") != "unix:/a 127.0.0.1:24" {
		t.Errorf("parsed -c %q --listen %q", a.Config, a.Listen)
	}
}
