package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSocketActivation runs "letterbox lmtp" as systemd starts a
// socket-activated service: a listening unix socket as fd 3, LISTEN_FDS=1
// and LISTEN_PID the server's pid (a shell sets it and execs, so the pid
// is the server's after letterbox execs letterbox-lmtp). The server takes
// that socket and listens on nothing of its own; with a LISTEN_PID of
// another process it ignores the variables and listens where its
// configuration says.
func TestSocketActivation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	bin, dir := buildBinaries(t), t.TempDir()
	own := filepath.Join(dir, "own.sock") // [lmtp] listen
	conf := filepath.Join(dir, "lb.toml")
	if err := os.WriteFile(conf, []byte("log = \"stderr\"\n[lmtp]\nlisten = [\"unix:"+own+"\"]\nmailbox = \""+dir+"/mail/{domain}/{user}/\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// serve runs the server with the socket activated passed as fd 3 and
	// LISTEN_PID=pid ("$$" for its own), and returns a function that stops
	// it and returns its log.
	serve := func(activated, pid string) func() string {
		t.Helper()
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: activated, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.File()
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false)
		l.Close() // the child has its own copy
		defer f.Close()
		cmd := exec.Command("sh", "-c", `LISTEN_PID=`+pid+` LISTEN_FDS=1 exec "$0" lmtp -c "$1"`, filepath.Join(bin, "letterbox"), conf)
		cmd.ExtraFiles = []*os.File{f}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		return func() string {
			t.Helper()
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("still running 15 s after SIGTERM")
			}
			return stderr.String()
		}
	}

	// Activated: the mail comes in over the passed socket, and the
	// configured one is never made.
	activated := filepath.Join(dir, "activated.sock")
	stop := serve(activated, "$$")
	if r := transaction(t, activated, "alice@example.org"); !strings.HasPrefix(r[len(r)-1], "250 ") {
		t.Fatalf("over the activated socket: %q", r)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "mail", "example.org", "alice", "new", "*")); len(files) != 1 {
		t.Errorf("%d messages in alice's Maildir, want 1", len(files))
	}
	log := stop()
	if _, err := os.Lstat(own); err == nil {
		t.Errorf("socket activated, yet the server made its configured socket %s:\n%s", own, log)
	}
	if !strings.Contains(log, "addr="+activated) {
		t.Errorf("the server does not say it listens on %s:\n%s", activated, log)
	}

	// LISTEN_PID names another process (pid 1): not ours; the server
	// listens on its configured socket.
	other := filepath.Join(dir, "other.sock")
	stop = serve(other, "1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Lstat(own); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no configured socket %s after 10 s", own)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := transaction(t, own, "bob@example.org"); !strings.HasPrefix(r[len(r)-1], "250 ") {
		t.Fatalf("over the configured socket: %q", r)
	}
	if log := stop(); strings.Contains(log, "addr="+other) {
		t.Errorf("the server took a socket meant for pid 1:\n%s", log)
	}
}
