package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcess runs "letterbox lmtp" as an MTA's lmtp client meets it: the
// letterbox binary execs letterbox-lmtp beside it, which listens on a unix
// socket of the configured mode, delivers a transaction into the virtual
// layout, reloads its configuration on SIGHUP and exits 0 on SIGTERM.
func TestProcess(t *testing.T) {
	bin := buildBinaries(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "lmtp.sock")
	cfg := filepath.Join(dir, "lb.toml")
	conf := "log = \"stderr\"\n[lmtp]\nsocket_mode = \"0600\"\nmailbox = \"" + dir + "/mail/{domain}/{user}/\"\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "letterbox"), "lmtp", "-c", cfg, "--listen", "unix:"+sock)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(sock); err == nil {
			if st.Mode().Perm() != 0o600 {
				t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket after 10 s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	r := transaction(t, sock, "alice@example.org")
	if last := r[len(r)-1]; !strings.HasPrefix(last, "250 ") {
		t.Fatalf("after DATA: %q (all %q)", last, r)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "example.org", "alice", "new", "*"))
	if len(files) != 1 {
		t.Fatalf("%d messages in alice's Maildir, want 1", len(files))
	}

	// SIGHUP: the new configuration's layout is used from the next
	// transaction on.
	conf = strings.Replace(conf, "/mail/", "/mail2/", 1)
	os.WriteFile(cfg, []byte(conf), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	transaction(t, sock, "bob@example.org")
	if files, _ := filepath.Glob(filepath.Join(dir, "mail2", "example.org", "bob", "new", "*")); len(files) != 1 {
		t.Errorf("after SIGHUP: %d messages in the reloaded layout, want 1\n%s", len(files), stderr.String())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM")
	}
}

// transaction sends one message to rcpt over the unix socket sock and
// returns every reply line.
func transaction(t *testing.T, sock, rcpt string) []string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var replies []string
	read := func() {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (replies so far %q)", err, replies)
			}
			replies = append(replies, strings.TrimRight(l, "\r\n"))
			if len(l) < 4 || l[3] != '-' {
				return
			}
		}
	}
	read()
	for _, cmd := range []string{"LHLO mx.test", "MAIL FROM:<a@example.org>", "RCPT TO:<" + rcpt + ">", "DATA"} {
		c.Write([]byte(cmd + "\r\n"))
		read()
	}
	c.Write([]byte("Subject: over lmtp\r\n\r\nbody\r\n.\r\n"))
	read()
	c.Write([]byte("QUIT\r\n"))
	return replies
}
