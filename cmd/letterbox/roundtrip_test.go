package main

// Round trip: a corpus that covers what breaks mbox (From_-like body lines,
// 8-bit and NUL bytes, a 1 MB line) is delivered by the real binary and read
// back three ways — letterbox's own reader, Python's mailbox.mbox and
// procmail's formail -s — and every message must equal its input.

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"letterbox/mbox"
)

// corpus returns messages, each ending in a newline, LF only.
func corpus() [][]byte {
	r := rand.New(rand.NewPCG(22, 11))
	tricky := []string{"From the start", ">From once", ">>From twice", ">>>From thrice", " From indented", "From\ttab", "From", "", "\x00nul\x00", "8-bit: \xe9t\xe9 \xff\xfe", "ordinary line"}
	var msgs [][]byte
	for i := 0; i < 40; i++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "Subject: message %d\nX-Seq: %d\n\n", i, i)
		if i%7 == 0 {
			b.WriteString("From starts the body\n")
		}
		for j := r.IntN(30); j > 0; j-- {
			b.WriteString(tricky[r.IntN(len(tricky))])
			b.WriteByte('\n')
		}
		if i == 13 {
			b.WriteString(strings.Repeat("L", 1<<20) + "\n") // a 1 MB line
		}
		if i%5 == 0 {
			b.WriteString("\n") // ends in an empty line
		}
		msgs = append(msgs, b.Bytes())
	}
	return msgs
}

var prepended = regexp.MustCompile(`\AReturn-Path: <[^>]*>\nDelivered-To: [^\n]*\n`)

// unquoteRD undoes mboxrd quoting: one '>' off every ^>+From  line.
func unquoteRD(b []byte) []byte {
	return regexp.MustCompile(`(?m)^>(>*From )`).ReplaceAll(b, []byte("$1"))
}

func TestRoundTrip(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	msgs := corpus()
	for i, m := range msgs {
		cmd := exec.Command(bin, "deliver", "-f", "s@example.org", "-r", "r@example.net", "M")
		cmd.Dir, cmd.Env, cmd.Stdin = dir, testEnv(), bytes.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deliver %d: %v: %s", i, err, out)
		}
	}
	path := filepath.Join(dir, "M")
	check := func(reader string, got [][]byte) {
		t.Helper()
		if len(got) != len(msgs) {
			t.Fatalf("%s: %d messages, want %d", reader, len(got), len(msgs))
		}
		for i, g := range got {
			body := prepended.ReplaceAll(g, nil)
			if len(body) == len(g) {
				t.Fatalf("%s: message %d lacks the prepended header: %.80q", reader, i, g)
			}
			if !bytes.Equal(body, msgs[i]) {
				t.Fatalf("%s: message %d differs:\n got %.200q\nwant %.200q", reader, i, body, msgs[i])
			}
		}
	}

	// letterbox's reader un-quotes mboxrd itself.
	entries, ours := readMbox(t, path)
	for _, e := range entries {
		if e.Sender != "s@example.org" || time.Since(e.Date) > time.Hour {
			t.Fatalf("From_ line %q: sender %q, date %v", e.FromLine, e.Sender, e.Date)
		}
	}
	check("mbox.Reader", ours)

	// Python's mailbox.mbox: splits on From_ lines, does not un-quote.
	if _, err := exec.LookPath("python3"); err != nil {
		t.Error("python3 not installed: the Python check did not run")
	} else {
		var got [][]byte
		for _, b := range pythonMailbox(t, path, false) {
			got = append(got, unquoteRD(b))
		}
		check("python mailbox.mbox", got)
	}

	// formail -s: one file per message, with its From_ line and separator.
	if _, err := exec.LookPath("formail"); err != nil {
		t.Skip("formail not installed (Debian package procmail)")
	}
	split := t.TempDir()
	cmd := exec.Command("formail", "-s", "sh", "-c", `cat > "$0/$FILENO"`, split)
	in, _ := os.Open(path)
	defer in.Close()
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("formail: %v: %s", err, out)
	}
	ents, _ := os.ReadDir(split)
	var got [][]byte
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(split, e.Name()))
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 || !bytes.HasPrefix(b, []byte("From s@example.org  ")) || !bytes.HasSuffix(b, []byte("\n\n")) {
			t.Fatalf("formail: message %s not as expected: %.80q", e.Name(), b)
		}
		got = append(got, unquoteRD(b[nl+1:len(b)-1]))
	}
	check("formail -s", got)
}

// readMbox reads the mbox at path with letterbox's reader (mboxrd) and
// returns each message's entry and content.
func readMbox(t *testing.T, path string) ([]*mbox.Entry, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []*mbox.Entry
	var contents [][]byte
	rd := mbox.NewReader(f, mbox.MboxRD)
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return entries, contents
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
		contents = append(contents, b)
	}
}
