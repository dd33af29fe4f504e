package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSyslog delivers with log = "syslog" to a syslog socket of the test's
// own: each delivery run in a private mount namespace with a tmpfs on /dev
// whose /dev/log points at the test's socket. It checks the one line per
// delivery (mail facility, info), that log = "none" sends nothing, and that
// without a syslog daemon a success writes nothing on standard error.
func TestSyslog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a private mount namespace with its own /dev/log")
	}
	needPeers(t, "unshare")
	dir := t.TempDir()
	sock := filepath.Join(dir, "log.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := writeFile(t, filepath.Join(dir, "msg"), "Subject: m\n\nbody\n", 0o644)
	none := writeFile(t, filepath.Join(dir, "none.toml"), "log = \"none\"\n", 0o644)
	bin := letterboxPath(t)

	// deliver runs one delivery with /dev/log pointing at target ("" for
	// no /dev/log at all) and returns its standard error.
	deliver := func(target string, args ...string) string {
		t.Helper()
		script := `mount -t tmpfs tmpfs /dev || exit 99
[ -z "$1" ] || ln -s "$1" /dev/log || exit 99
shift
exec "$@" < "$MSG"`
		argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", target, bin, "deliver", "-f", "a@b", "-r", "c@d"}, args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(testEnv(), "MSG="+msg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		return stderr.String()
	}

	// log = "none" first: if it logged, its line would be the first to
	// arrive, before that of the syslog delivery.
	if out := deliver(sock, "-c", none, "N"); out != "" {
		t.Fatalf("log = none wrote to stderr: %q", out)
	}
	if out := deliver(sock, "S"); out != "" {
		t.Fatalf("log = syslog wrote to stderr: %q", out)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no syslog message: %v", err)
	}
	line := string(buf[:n])
	// <22>: facility mail (2) * 8 + severity info (6), RFC 3164.
	want := regexp.MustCompile(`^<22>\w{3} [ \d]\d \d\d:\d\d:\d\d letterbox\[\d+\]: level=INFO msg="from=<a@b> to=<c@d> mailbox=S size=\d+ delay=[\d.]+ dsn=2\.0\.0 status=sent"$`)
	if !want.MatchString(line) {
		t.Fatalf("syslog message %q does not match %s", line, want)
	}

	// No syslog daemon: the success is silent, not dumped on the MTA.
	if out := deliver("", "S"); out != "" {
		t.Fatalf("no /dev/log: stderr %q, want nothing", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "S"))
	if err != nil || strings.Count(string(b), "\nSubject: m\n") != 2 {
		t.Fatalf("mailbox S: %v\n%s", err, b)
	}
}
