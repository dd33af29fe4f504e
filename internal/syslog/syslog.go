package syslog

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Path is the local syslog daemon's socket.
const Path = "/dev/log"

// Severity is a message's RFC 5424 severity (section 6.2.1), the low three
// bits of its priority.
type Severity int

const (
	Err     Severity = 3
	Warning Severity = 4
	Info    Severity = 6
	Debug   Severity = 7
)

// mail is the facility of every message: mail (2), shifted past the
// severity bits.
const mail = 2 << 3

// Writer sends messages to one syslog daemon. It is safe for concurrent
// use.
type Writer struct {
	mu  sync.Mutex
	fd  int
	tag string
}

// Dial connects to the syslog daemon listening on the unix socket addr,
// normally Path (tests pass a socket of their own). It fails when no
// daemon listens there; the caller then logs elsewhere.
func Dial(addr, tag string) (*Writer, error) {
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
		return &Writer{fd: fd, tag: tag}, nil
	}
	panic("unreachable")
}

// Log sends msg, without trailing newlines, as one message of severity sev
// in the traditional format "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG" (RFC
// 3164). Any other line break in msg becomes a space: a daemon that reads
// a stream socket line by line would take what follows it for a message
// of its own, with a priority of the writer's choosing.
func (w *Writer) Log(sev Severity, msg string) error {
	msg = strings.TrimRight(msg, "\n")
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, msg)
	line := fmt.Sprintf("<%d>%s %s[%d]: %s", mail|int(sev&7), time.Now().Format(time.Stamp), w.tag, os.Getpid(), msg)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := unix.Write(w.fd, []byte(line)); err != nil {
		return fmt.Errorf("write syslog: %w", err)
	}
	return nil
}

// Close closes the connection.
func (w *Writer) Close() error { return unix.Close(w.fd) }
