package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// syslogd binds a datagram socket in a temporary directory, as a syslog
// daemon's /dev/log, and returns its address and a function that reads
// the next message (failing the test after a second without one).
func syslogd(t *testing.T) (string, func() string) {
	addr := filepath.Join(t.TempDir(), "log")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval(time.Second.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return addr, func() string {
		t.Helper()
		buf := make([]byte, 4096)
		n, err := unix.Read(fd, buf)
		if err != nil {
			t.Fatalf("no syslog message: %v", err)
		}
		return string(buf[:n])
	}
}

// TestLoggerSyslog checks the priority of each level and the flat line:
// the message, then key=value pairs, no time=, level= or msg=.
func TestLoggerSyslog(t *testing.T) {
	addr, next := syslogd(t)
	e := &Env{SyslogAddr: addr}
	log := e.Logger("syslog")
	for _, tc := range []struct {
		log  func()
		pri  int
		line string
	}{
		{func() { log.Info("to=<a@b>, status=sent (delivered to mbox /m)") }, 22, `to=<a@b>, status=sent (delivered to mbox /m)`},
		{func() { log.Warn("folder ignored", "folder", "x y", "n", 3) }, 20, `folder ignored folder="x y" n=3`},
		{func() { log.Error("BUG: two\nlines", "err", fmt.Errorf("a\nb")) }, 19, `BUG: two lines err="a\nb"`},
		{func() { log.With("rcpt", "c@d").WithGroup("lock").Warn("lost", "path", "/m.lock") }, 20, `lost rcpt=c@d lock.path=/m.lock`},
		{func() { log.Log(context.Background(), slog.LevelError+4, "worse") }, 19, `worse`},
	} {
		tc.log()
		got := next()
		want := regexp.MustCompile(fmt.Sprintf(`^<%d>\w{3} [ \d]\d \d\d:\d\d:\d\d letterbox\[%d\]: %s$`, tc.pri, os.Getpid(), regexp.QuoteMeta(tc.line)))
		if !want.MatchString(got) {
			t.Errorf("got %q, want %s", got, want)
		}
	}
	// Below Info nothing is sent: the next message is the Info after it.
	log.Debug("quiet")
	log.Info("loud")
	if got := next(); !regexp.MustCompile(`: loud$`).MatchString(got) {
		t.Errorf("after Debug: %q", got)
	}
	if e.stderrLog.Len() != 0 {
		t.Errorf("syslog with a daemon held %q for standard error", e.stderrLog.String())
	}
}

// TestLoggerStderr checks what is held back for standard error: with log
// = "stderr" every line, a level above Info named; with log = "syslog"
// and no daemon, only warnings and errors; with "none", nothing.
func TestLoggerStderr(t *testing.T) {
	for _, tc := range []struct {
		kind, addr string
		want       string
	}{
		{"stderr", "", "delivered\nwarning: folder ignored folder=x\nerror: BUG err=e\n"},
		{"syslog", filepath.Join(t.TempDir(), "none"), "warning: folder ignored folder=x\nerror: BUG err=e\n"},
		{"none", "", ""},
	} {
		e := &Env{SyslogAddr: tc.addr}
		log := e.Logger(tc.kind)
		log.Info("delivered")
		log.Warn("folder ignored", "folder", "x")
		log.Error("BUG", "err", "e")
		if got := e.stderrLog.String(); got != tc.want {
			t.Errorf("log = %q: held back %q, want %q", tc.kind, got, tc.want)
		}
	}
}

// TestResultLogger checks that the line of a delivery goes where the
// other lines go, except to standard error for want of a syslog daemon:
// the status line already says it there.
func TestResultLogger(t *testing.T) {
	addr, next := syslogd(t)
	for _, tc := range []struct {
		kind, addr string
		held       string // what is held back for standard error
		sent       bool   // to syslog
	}{
		{"syslog", addr, "", true},
		{"syslog", filepath.Join(t.TempDir(), "none"), "warning: other\n", false},
		{"stderr", "", "warning: deferred\nwarning: other\n", false},
	} {
		e := &Env{SyslogAddr: tc.addr}
		log := e.Logger(tc.kind)
		ResultLogger(log).Warn("deferred")
		log.Warn("other")
		if got := e.stderrLog.String(); got != tc.held {
			t.Errorf("log = %q at %s: held back %q, want %q", tc.kind, tc.addr, got, tc.held)
		}
		if tc.sent {
			for _, want := range []string{": deferred", ": other"} {
				if got := next(); !regexp.MustCompile(want + "$").MatchString(got) {
					t.Errorf("syslog got %q, want ...%s", got, want)
				}
			}
		}
	}
}

// TestLoggerLazy checks that a logger that logs nothing opens nothing: a
// run that fails before its first line must not pay for the connection,
// nor fail for want of a daemon.
func TestLoggerLazy(t *testing.T) {
	e := &Env{SyslogAddr: filepath.Join(t.TempDir(), "none")}
	log := e.Logger("syslog")
	log.Debug("below Info: no destination needed")
	if h := log.Handler().(*lazyHandler); h.h != nil {
		t.Fatal("destination opened for a Debug record")
	}
}
