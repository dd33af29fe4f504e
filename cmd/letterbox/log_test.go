package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"letterbox/internal/cli"
	"letterbox/internal/status"
)

// TestSyslog delivers with log = "syslog" to a syslog socket of the test's
// own: each delivery run in a private mount namespace with a tmpfs on /dev
// whose /dev/log points at the test's socket. It checks the one line per
// delivery (mail facility, info) at /dev/log itself, that log = "none"
// sends nothing, and that
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
	// no /dev/log at all) and returns its standard error; it must succeed
	// unless args start with "!".
	deliver := func(target string, args ...string) string {
		t.Helper()
		script := `mount -t tmpfs tmpfs /dev || exit 99
[ -z "$1" ] || ln -s "$1" /dev/log || exit 99
shift
exec "$@" < "$MSG"`
		fail := len(args) > 0 && args[0] == "!"
		if fail {
			args = args[1:]
		}
		argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", target, bin, "deliver", "-f", "a@b", "-r", "c@d"}, args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(testEnv(), "MSG="+msg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); (err != nil) != fail {
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
	want := regexp.MustCompile(`^<22>\w{3} [ \d]\d \d\d:\d\d:\d\d letterbox\[\d+\]: from=<a@b>, to=<c@d>, relay=letterbox, delay=[\d.]+, size=\d+, dsn=2\.0\.0, status=sent \(delivered to mbox S\)$`)
	if !want.MatchString(line) {
		t.Fatalf("syslog message %q does not match %s", line, want)
	}

	// No syslog daemon: the success is silent, not dumped on the MTA, and
	// a failure has its status line alone, which the MTA records as the
	// reason.
	if out := deliver("", "S"); out != "" {
		t.Fatalf("no /dev/log: stderr %q, want nothing", out)
	}
	if out := deliver("", "!", "nodir/S"); !regexp.MustCompile(`\A4\.2\.0 [^\n]*\n\z`).MatchString(out) {
		t.Fatalf("no /dev/log, a deferral: stderr %q, want the status line alone", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "S"))
	if err != nil || strings.Count(string(b), "\nSubject: m\n") != 2 {
		t.Fatalf("mailbox S: %v\n%s", err, b)
	}
}

// TestSyslogOutcomes runs "letterbox deliver" (its Go entry, runDeliver)
// with log = "syslog" pointed at a datagram socket of the test's own
// (cli.Env.SyslogAddr) and checks, for each outcome, the priority and the
// flat line: sent at info (<22>), deferred at warning (<20>), bounced and
// an unknown user at err (<19>), a warning of the code at warning.
func TestSyslogOutcomes(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := writeFile(t, filepath.Join(dir, "syslog.toml"), "log = \"syslog\"\n", 0o644)
	msg := writeFile(t, filepath.Join(dir, "msg"), "Subject: m\n\nbody\n", 0o644)
	loop := writeFile(t, filepath.Join(dir, "loop"), "Subject: m\nDelivered-To: u@example.net\n\nbody\n", 0o644)
	mb := filepath.Join(dir, "mbox")
	envelope := []string{"-c", cfg, "-f", "a@example.org", "-a", "alias@example.net", "-r", "u@example.net"}
	const head = `from=<a@example\.org>, to=<u@example\.net>, orig_to=<alias@example\.net>, relay=letterbox, delay=\d+\.\d{3}, `
	for _, tc := range []struct {
		name  string
		args  []string
		dsn   string // of the error; "" for none
		lines []string
	}{
		{"sent", []string{"-p", msg, mb}, "",
			[]string{`<22>` + head + `size=\d+, dsn=2\.0\.0, status=sent \(delivered to mbox ` + regexp.QuoteMeta(mb) + `\)`}},
		{"sent to a maildir", []string{"-p", msg, filepath.Join(dir, "Maildir") + "/"}, "",
			[]string{`<22>` + head + `size=\d+, dsn=2\.0\.0, status=sent \(delivered to maildir ` + regexp.QuoteMeta(filepath.Join(dir, "Maildir")) + `\)`}},
		// A missing directory is deferred: it may be an NFS mount that is
		// not there yet.
		{"deferred", []string{"-p", msg, filepath.Join(dir, "none", "mbox")}, "4.2.0",
			[]string{`<20>` + head + `size=0, dsn=4\.2\.0, status=deferred \(\S+/none/mbox: open \S+/none: no such file or directory\)`}},
		{"bounced", []string{"-p", loop, mb}, "5.4.6",
			[]string{`<19>` + head + `size=0, dsn=5\.4\.6, status=bounced \(mail forwarding loop for u@example\.net\)`}},
		{"unknown user", []string{"-p", msg, "-d", "no-such-user-letterbox"}, "5.1.1",
			[]string{`<19>` + head + `size=0, dsn=5\.1\.1, status=bounced \(unknown user "no-such-user-letterbox"\)`}},
		{"warning", []string{"-p", msg, "-m", "Lists", mb}, "",
			[]string{
				`<20>folder ignored: the mailbox is an mbox; delivering to it folder=Lists mailbox=` + regexp.QuoteMeta(mb),
				`<22>` + head + `size=\d+, dsn=2\.0\.0, status=sent \(delivered to mbox ` + regexp.QuoteMeta(mb) + `\)`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runDeliver(&cli.Env{SyslogAddr: sock}, append(append([]string{}, envelope...), tc.args...))
			var se *status.Error
			switch {
			case tc.dsn == "" && err != nil:
				t.Fatalf("deliver: %v", err)
			case tc.dsn != "" && (!errors.As(err, &se) || se.DSN != tc.dsn):
				t.Fatalf("deliver: %v, want %s", err, tc.dsn)
			}
			for _, l := range tc.lines {
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("no syslog message: %v", err)
				}
				pri, rest, _ := strings.Cut(l, ">")
				want := regexp.MustCompile(`^` + pri + `>\w{3} [ \d]\d \d\d:\d\d:\d\d letterbox\[` + strconv.Itoa(os.Getpid()) + `\]: ` + rest + `$`)
				got := string(buf[:n])
				t.Log(got)
				if !want.MatchString(got) {
					t.Errorf("syslog message\n%q\ndoes not match\n%s", got, want)
				}
			}
			// Nothing more: one line per delivery.
			conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			extra := make([]byte, 4096)
			if n, err := conn.Read(extra); err == nil {
				t.Errorf("more than the lines wanted: %q", extra[:n])
			}
		})
	}
}
