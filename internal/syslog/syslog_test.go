package syslog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/sys/unix"
)

// listen binds a datagram socket in a temporary directory, as a syslog
// daemon's /dev/log.
func listen(t *testing.T) (addr string, fd int) {
	addr = filepath.Join(t.TempDir(), "log")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		t.Fatal(err)
	}
	return addr, fd
}

func TestLog(t *testing.T) {
	addr, srv := listen(t)
	w, err := Dial(addr, "letterbox")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, tc := range []struct {
		sev      Severity
		msg      string
		pri, out string
	}{
		// Priority: facility mail (2) * 8 + severity (RFC 5424 6.2.1).
		{Info, "to=<a@b>, status=sent\n", "22", "to=<a@b>, status=sent"},
		{Warning, "lock busy", "20", "lock busy"},
		{Err, "two\nlines\r\n\n", "19", "two lines "},
		{Debug, "d", "23", "d"},
	} {
		if err := w.Log(tc.sev, tc.msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := unix.Read(srv, buf)
		if err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile(fmt.Sprintf(`^<%s>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d letterbox\[%d\]: %s$`, tc.pri, os.Getpid(), regexp.QuoteMeta(tc.out)))
		if !want.Match(buf[:n]) {
			t.Errorf("Log(%d, %q) sent %q, want %s", tc.sev, tc.msg, buf[:n], want)
		}
	}
}

func TestNoDaemon(t *testing.T) {
	if _, err := Dial(filepath.Join(t.TempDir(), "none"), "x"); err == nil {
		t.Fatal("dial without a listener succeeded")
	}
}
