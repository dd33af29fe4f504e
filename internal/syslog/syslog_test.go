package syslog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWrite(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "log")
	srv, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(srv)
	if err := unix.Bind(srv, &unix.SockaddrUnix{Name: addr}); err != nil {
		t.Fatal(err)
	}
	w, err := dial(addr, "letterbox", Warning)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write([]byte("level=WARN msg=hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := unix.Read(srv, buf)
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(fmt.Sprintf(`^<20>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d letterbox\[%d\]: level=WARN msg=hello$`, os.Getpid()))
	if !want.Match(buf[:n]) {
		t.Fatalf("got %q", buf[:n])
	}
}

func TestNoDaemon(t *testing.T) {
	if _, err := dial(filepath.Join(t.TempDir(), "none"), "x", Info); err == nil {
		t.Fatal("dial without a listener succeeded")
	}
}
