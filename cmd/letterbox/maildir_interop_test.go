package main

// Interop: a corpus delivered into a Maildir by the real binary reads back
// identically with Python's mailbox.Maildir, with emersion/go-maildir as an
// independent Go reader, and with Dovecot (doveadm fetch).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

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
	out, err := exec.Command("python3", "-c", `
import json, mailbox, sys
m = mailbox.Maildir(sys.argv[1], factory=None, create=False)
json.dump([list(m.get_bytes(k)) for k in m.keys()], sys.stdout)
`, md).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var lists [][]int
	if err := json.Unmarshal(out, &lists); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, l := range lists {
		b := make([]byte, len(l))
		for i, c := range l {
			b[i] = byte(c)
		}
		got = append(got, b)
	}
	check("python mailbox.Maildir", got)

	// Dovecot: doveadm fetch needs its auth service for the user lookup, so
	// a private instance runs with no protocols (no listener), its own
	// base_dir, and a static userdb; Dovecot refuses uid 0, so the Maildir
	// is given to nobody.
	if os.Geteuid() != 0 {
		t.Skip("the Dovecot check needs root (a private dovecot instance)")
	}
	if _, err := exec.LookPath("doveadm"); err != nil {
		t.Skip("dovecot not installed (Debian package dovecot-core)")
	}
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o755)
	// nobody must be able to reach the Maildir (t.TempDir's parent is 0700).
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	conf := writeFile(t, filepath.Join(dir, "dovecot.conf"), fmt.Sprintf(`base_dir = %s
protocols =
mail_location = maildir:%s
ssl = no
log_path = %s/dovecot.log
default_internal_user = root
default_login_user = root
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%s
}
passdb {
  driver = static
  args = nopassword
}
`, run, md, dir, dir), 0o644)
	if out, err := exec.Command("chown", "-R", "65534:65534", md).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	// No captured output: the daemon would inherit the pipes, and waiting
	// for their end would wait for the daemon.
	if err := exec.Command("dovecot", "-c", conf).Run(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() { exec.Command("doveadm", "-c", conf, "stop").Run() })
	// The UIDs, then each message on its own: the pager format has no
	// separator between records that a message body could not imitate.
	doveadm := func(args ...string) ([]byte, error) {
		return exec.Command("doveadm", append([]string{"-c", conf, "-f", "pager"}, args...)...).Output()
	}
	var uids []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		uids, err = exec.Command("doveadm", "-c", conf, "search", "-u", "nobody", "mailbox", "INBOX", "all").Output()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the auth service is starting
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("doveadm search: %v\n%s", err, log)
	}
	got = nil
	for _, line := range bytes.Split(bytes.TrimSpace(uids), []byte("\n")) {
		f := bytes.Fields(line) // "<mailbox guid> <uid>"
		if len(f) != 2 {
			t.Fatalf("doveadm search: %q", line)
		}
		raw, err := doveadm("fetch", "-u", "nobody", "text", "mailbox", "INBOX", "uid", string(f[1]))
		if err != nil {
			t.Fatalf("doveadm fetch uid %s: %v", f[1], err)
		}
		m, ok := bytes.CutPrefix(raw, []byte("text:\n"))
		if !ok {
			t.Fatalf("doveadm fetch: %.60q", raw)
		}
		got = append(got, m)
	}
	check("doveadm fetch", got)
}
