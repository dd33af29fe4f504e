package main

// Interop: a corpus delivered into a Maildir by the real binary reads back
// identically with Python's mailbox.Maildir, with emersion/go-maildir as an
// independent Go reader, and with Dovecot (doveadm fetch).

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	gomaildir "github.com/emersion/go-maildir"

	"letterbox/internal/sys"
	"letterbox/maildir"
)

// bySeq orders messages by their X-Seq header, since a Maildir has no order.
func bySeq(t *testing.T, reader string, msgs [][]byte) [][]byte {
	t.Helper()
	seq := regexp.MustCompile(`(?m)^X-Seq: (\d+)$`)
	out := make([][]byte, len(msgs))
	for _, m := range msgs {
		s := seq.FindSubmatch(m)
		if s == nil {
			t.Fatalf("%s: a message without X-Seq: %.80q", reader, m)
		}
		var i int
		fmt.Sscan(string(s[1]), &i)
		if i >= len(out) || out[i] != nil {
			t.Fatalf("%s: X-Seq %d out of range or twice", reader, i)
		}
		out[i] = m
	}
	return out
}

func TestMaildirInterop(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	msgs := corpus()
	for i, m := range msgs {
		cmd := exec.Command(bin, "deliver", "-f", "s@example.org", "-r", "r@example.net", md+"/")
		cmd.Dir, cmd.Env, cmd.Stdin = dir, testEnv(), bytes.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deliver %d: %v: %s", i, err, out)
		}
	}
	check := func(reader string, got [][]byte) {
		t.Helper()
		if len(got) != len(msgs) {
			t.Fatalf("%s: %d messages, want %d", reader, len(got), len(msgs))
		}
		for i, g := range bySeq(t, reader, got) {
			body := prepended.ReplaceAll(g, nil)
			if !bytes.Equal(body, msgs[i]) {
				t.Fatalf("%s: message %d differs:\n got %.200q\nwant %.200q", reader, i, body, msgs[i])
			}
		}
	}

	// letterbox's own reader; every ",S=" must be the file's size.
	var ours [][]byte
	err := maildir.Walk(sys.Real{}, md, func(m maildir.Message) error {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return err
		}
		if !m.New || m.Size != int64(len(b)) {
			return fmt.Errorf("%s: new %v, S=%d, %d bytes", m.Path, m.New, m.Size, len(b))
		}
		ours = append(ours, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("maildir.Walk", ours)

	// emersion/go-maildir, an independent reader. Like an MUA it takes the
	// new messages first (Unseen moves them from new/ to cur/), then walks.
	unseen, err := gomaildir.Dir(md).Unseen()
	if err != nil || len(unseen) != len(msgs) {
		t.Fatalf("go-maildir: %d unseen, %v", len(unseen), err)
	}
	var got [][]byte
	err = gomaildir.Dir(md).Walk(func(m *gomaildir.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		got = append(got, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("go-maildir", got)

	// Python's mailbox.Maildir.
	check("python mailbox.Maildir", pythonMailbox(t, md, true))

	// Dovecot.
	fetch := privateDovecot(t, dir, "maildir:"+md)
	check("doveadm fetch", fetch("INBOX"))
}
