package lmtp

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// accepts fails unless l accepts a connection made to path.
func accepts(t *testing.T, l net.Listener, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		t.Fatalf("accept on %s: %v", path, err)
	}
	a.Close()
}

// A socket file left by a server that has gone is replaced; a socket a
// live server listens on, and anything that is not a socket, are refused
// and left where they are.
func TestListenStale(t *testing.T) {
	dir := t.TempDir()

	t.Run("stale socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false) // as a crashed server leaves it
		old.Close()
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("no stale socket to replace: %v", err)
		}
		l, err := Listen("unix:"+path, 0o600)
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		defer l.Close()
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Fatalf("after Listen: %v %v, want a socket of mode 0600", fi, err)
		}
		accepts(t, l, path)
	})

	t.Run("live socket", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		live, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		if l, err := Listen("unix:"+path, 0o600); err == nil || !strings.Contains(err.Error(), "another server listens there") {
			if err == nil {
				l.Close()
			}
			t.Fatalf("Listen over a live socket: %v, want a refusal", err)
		}
		accepts(t, live, path) // still the other server's
	})

	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if l, err := Listen("unix:"+path, 0o600); err == nil || !strings.Contains(err.Error(), "is not a socket") {
			if err == nil {
				l.Close()
			}
			t.Fatalf("Listen over a regular file: %v, want a refusal", err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "precious\n" {
			t.Fatalf("the file was touched: %q %v", b, err)
		}
	})

	t.Run("symlink to a socket", func(t *testing.T) {
		// A symlink is not a socket, even to one: not followed, not removed.
		target := filepath.Join(dir, "target.sock")
		tl, err := net.Listen("unix", target)
		if err != nil {
			t.Fatal(err)
		}
		defer tl.Close()
		path := filepath.Join(dir, "link.sock")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if l, err := Listen("unix:"+path, 0o600); err == nil || !strings.Contains(err.Error(), "is not a socket") {
			if err == nil {
				l.Close()
			}
			t.Fatalf("Listen over a symlink: %v, want a refusal", err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSymlink {
			t.Fatalf("the symlink was touched: %v %v", fi, err)
		}
	})

	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(dir, "run", "letterbox", "lmtp")
		l, err := Listen("unix:"+path, 0o660)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accepts(t, l, path)
	})
}

// A live server too busy to take another connection (its backlog full:
// connect says EAGAIN, not ECONNREFUSED) is still a live server: its
// socket is not removed.
func TestListenBusySocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the backlog: connections nobody accepts, until one is refused
	// for being one too many.
	var full error
	for i := 0; i < 64 && full == nil; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			full = err
			break
		}
		defer c.Close()
	}
	if !errors.Is(full, syscall.EAGAIN) {
		t.Fatalf("could not fill the backlog: last dial %v", full)
	}
	if l, err := Listen("unix:"+path, 0o600); err == nil || !strings.Contains(err.Error(), "another server listens there") {
		if err == nil {
			l.Close()
		}
		t.Fatalf("Listen over a busy live socket: %v, want a refusal", err)
	}
	// Still the busy server's socket: the first connection it accepts is
	// one of those made above, not a new server's.
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		t.Fatalf("the busy server's socket is gone: %v", err)
	}
	nfd, _, err := syscall.Accept(fd)
	if err != nil {
		t.Fatalf("the busy server accepts nothing: %v", err)
	}
	syscall.Close(nfd)
}
