package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/passwd"
)

// TestRecipientFallback: with no -r, no $RECIPIENT and no Delivered-To:
// block, the recipient is NAME@HOST, where NAME is $USER, else $LOGNAME
// (procmail sets only LOGNAME: "| letterbox deliver $HOME/Maildir/" must
// deliver), else the running uid's name in the user database — as
// dovecot-lda finds it.
func TestRecipientFallback(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	me, err := passwd.System().LookupID(os.Getuid())
	if err != nil {
		t.Skipf("the running uid %d has no user name here: %v", os.Getuid(), err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"only LOGNAME", []string{"LOGNAME=procmailuser"}, "procmailuser"},
		{"nothing set: the uid's name", nil, me.Name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, filepath.Join(dir, "lb.toml"), "log = \"none\"\n", 0o644)
			for _, mailbox := range []string{filepath.Join(dir, "mbox"), filepath.Join(dir, "Maildir") + "/"} {
				cmd := exec.Command(letterboxPath(t), "deliver", "-c", cfg, "-f", "a@example.org", mailbox)
				// No USER, no RECIPIENT, nothing but what the case sets.
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tc.env...)
				cmd.Stdin = strings.NewReader("Subject: fallback\n\nbody\n")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("deliver to %s: %v: %s", mailbox, err, stderr.Bytes())
				}
			}
			want := "Delivered-To: " + tc.want + "@" + host + "\n"
			mb, err := os.ReadFile(filepath.Join(dir, "mbox"))
			if err != nil || !bytes.Contains(mb, []byte(want)) {
				t.Errorf("mbox lacks %q: %v\n%s", want, err, mb)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "Maildir", "new", "*"))
			if len(files) != 1 {
				t.Fatalf("Maildir new/ holds %d files, want 1", len(files))
			}
			if md, err := os.ReadFile(files[0]); err != nil || !bytes.HasPrefix(md, []byte("Return-Path: <a@example.org>\n"+want)) {
				t.Errorf("Maildir message does not start with the envelope for %s: %v\n%s", tc.want, err, md)
			}
		})
	}
}
