package syslog

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Priority of every message: facility mail (2) << 3 | severity.
const (
	mail    = 2 << 3
	Err     = mail | 3
	Warning = mail | 4
	Info    = mail | 6
)

// Writer sends each Write as one syslog message. It is safe for concurrent
// use.
type Writer struct {
	mu   sync.Mutex
	fd   int
	tag  string
	prio int
}

// Dial connects to /dev/log. It fails when no syslog daemon listens; the
// caller then logs elsewhere.
func Dial(tag string, prio int) (*Writer, error) { return dial("/dev/log", tag, prio) }

func dial(addr, tag string, prio int) (*Writer, error) {
	for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_STREAM} {
		fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("syslog socket: %w", err)
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
			unix.Close(fd)
			if typ == unix.SOCK_STREAM {
				return nil, fmt.Errorf("connect %s: %w", addr, err)
			}
			continue
		}
		return &Writer{fd: fd, tag: tag, prio: prio}, nil
	}
	panic("unreachable")
}

// Write sends p, without a trailing newline, as one message in the
// traditional format "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG" (RFC 3164).
func (w *Writer) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	line := fmt.Sprintf("<%d>%s %s[%d]: %s", w.prio, time.Now().Format(time.Stamp), w.tag, os.Getpid(), msg)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := unix.Write(w.fd, []byte(line)); err != nil {
		return 0, fmt.Errorf("write syslog: %w", err)
	}
	return len(p), nil
}

// Close closes the connection.
func (w *Writer) Close() error { return unix.Close(w.fd) }
