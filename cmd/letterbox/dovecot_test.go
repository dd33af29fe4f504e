package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// privateDovecot starts a Dovecot of the test's own whose only user,
// nobody, has its mail at mailLocation ("maildir:PATH", "mbox:DIR:INBOX=
// FILE"), and returns a function that fetches every message of a mailbox
// (INBOX, or a folder) as doveadm sees it, in UID order. doveadm fetch
// needs the auth service for the user lookup, so the instance runs with no
// protocols (no listener), its own base_dir, and a static userdb; Dovecot
// refuses uid 0, so dir (which holds the mail) is given to nobody. It
// skips the test when not root or when Dovecot is not installed: CI runs
// as root with dovecot-core.
func privateDovecot(t *testing.T, dir, mailLocation string) func(mailbox string) [][]byte {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the Dovecot check needs root (a private dovecot instance)")
	}
	if _, err := exec.LookPath("doveadm"); err != nil {
		t.Skip("dovecot not installed (Debian package dovecot-core)")
	}
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o755)
	// nobody must be able to reach the mail (t.TempDir's parent is 0700).
	if err := openPath(dir); err != nil {
		t.Fatal(err)
	}
	conf := writeFile(t, filepath.Join(dir, "dovecot.conf"), fmt.Sprintf(`base_dir = %s
protocols =
mail_location = %s
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
`, run, mailLocation, dir, dir), 0o644)
	if out, err := exec.Command("chown", "-R", "65534:65534", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	// No captured output: the daemon would inherit the pipes, and waiting
	// for their end would wait for the daemon.
	if err := exec.Command("dovecot", "-c", conf).Run(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() { exec.Command("doveadm", "-c", conf, "stop").Run() })
	return func(mailbox string) [][]byte {
		t.Helper()
		// The UIDs, then each message on its own: the pager format has no
		// separator between records that a message body could not imitate.
		var uids []byte
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; {
			uids, err = exec.Command("doveadm", "-c", conf, "search", "-u", "nobody", "mailbox", mailbox, "all").Output()
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond) // the auth service is starting
		}
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("doveadm search: %v\n%s", err, log)
		}
		var got [][]byte
		for _, line := range bytes.Split(bytes.TrimSpace(uids), []byte("\n")) {
			if len(line) == 0 {
				continue // an empty mailbox
			}
			f := bytes.Fields(line) // "<mailbox guid> <uid>"
			if len(f) != 2 {
				t.Fatalf("doveadm search: %q", line)
			}
			raw, err := exec.Command("doveadm", "-c", conf, "-f", "pager", "fetch", "-u", "nobody", "text", "mailbox", mailbox, "uid", string(f[1])).Output()
			if err != nil {
				t.Fatalf("doveadm fetch uid %s: %v", f[1], err)
			}
			m, ok := bytes.CutPrefix(raw, []byte("text:\n"))
			if !ok {
				t.Fatalf("doveadm fetch: %.60q", raw)
			}
			got = append(got, m)
		}
		return got
	}
}
