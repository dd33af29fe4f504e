package lmtp

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Listen listens on addr: "unix:/PATH" (a socket of the given mode; a
// stale socket file left there, one that refuses connections, is removed;
// a socket that accepts them or may, and anything that is not a socket,
// are refused) or "HOST:PORT".
func Listen(addr string, mode os.FileMode) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return l, nil
	}
	switch st, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
	case err != nil:
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	case st.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("listen on %s: %s exists and is not a socket (%s); not removed", addr, path, st.Mode().Type())
	default:
		// A socket file outlives its server. Only one that refuses a
		// connection (ECONNREFUSED: nobody listens) is stale; one that
		// answers, or is too busy to (EAGAIN: a full backlog), or that we
		// may not use (EACCES), may be another server's: leave it.
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: another server listens there", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("listen on %s: another server listens there, or may: %w", addr, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listen on %s: remove stale socket: %w", addr, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// The mode is set after the bind, which applies the umask.
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// Activated returns the listeners systemd passed (socket activation:
// $LISTEN_PID is this process and $LISTEN_FDS sockets start at fd 3), or
// none. It unsets both variables, so no child inherits them.
func Activated() ([]net.Listener, error) {
	pid, n := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid == "" || n == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil // meant for another process
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return nil, fmt.Errorf("LISTEN_FDS=%q is not a count", n)
	}
	var ls []net.Listener
	for fd := 3; fd < 3+count; fd++ {
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))
		l, err := net.FileListener(f)
		f.Close() // FileListener made its own copy
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("socket activation: fd %d: %w", fd, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}
