package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaries builds letterbox and letterbox-lmtp into one directory, once
// per test binary run, and returns that directory.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "letterbox-lmtp-test")
	if err != nil {
		return "", err
	}
	for _, b := range []struct{ out, pkg string }{{"letterbox", "../letterbox"}, {"letterbox-lmtp", "."}} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir, nil
})

func buildBinaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	dir, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitSocket waits until something listens on the unix socket sock; it
// fails t if the server exits first (exited is closed then).
func waitSocket(t *testing.T, sock string, exited <-chan struct{}, stderr fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("the server exited before listening: %s", stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server on %s after 30 s: %s", sock, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lmtpClient is a raw LMTP client, as an MTA's lmtp client speaks it: one
// transaction at a time, one recipient.
type lmtpClient struct {
	c  net.Conn
	br *bufio.Reader

	dotSent func() // if set, called once a message's final "." is sent
}

// dialLMTP connects to sock and says LHLO.
func dialLMTP(sock string) (*lmtpClient, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	lc := &lmtpClient{c: c, br: bufio.NewReader(c)}
	if _, err := lc.expect("", 2); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := lc.expect("LHLO mx.test", 2); err != nil {
		c.Close()
		return nil, err
	}
	return lc, nil
}

func (lc *lmtpClient) Close() error { return lc.c.Close() }

// reply reads one reply, multi-line or not, and returns its code and last
// line. Every read may take up to two minutes: a guard against a hang,
// not a measure.
func (lc *lmtpClient) reply() (int, string, error) {
	lc.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for {
		l, err := lc.br.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 {
			return 0, l, fmt.Errorf("bad reply line %q", l)
		}
		if l[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil {
			return 0, l, fmt.Errorf("bad reply line %q", l)
		}
		return code, l, nil
	}
}

// expect sends cmd (unless empty) and reads its reply, which must be of
// class want (2 for 2xx, 3 for 3xx).
func (lc *lmtpClient) expect(cmd string, want int) (string, error) {
	if cmd != "" {
		if _, err := lc.c.Write([]byte(cmd + "\r\n")); err != nil {
			return "", err
		}
	}
	code, l, err := lc.reply()
	if err != nil {
		return l, err
	}
	if code/100 != want {
		return l, &replyError{code, l}
	}
	return l, nil
}

type replyError struct {
	code int
	line string
}

func (e *replyError) Error() string { return "reply " + e.line }

// errNoReply is the outcome of a transaction whose final "." was sent
// but whose reply never came: the message may or may not be delivered.
var errNoReply = errors.New("no reply after the final dot")

// send runs one transaction for msg (CRLF lines, none starting with "."),
// with the one recipient rcpt. It returns nil for a 250, a *replyError for
// another reply, errNoReply when the connection failed after the final
// "." was sent (or while it was), and any other error when it failed
// before: then nothing can have been delivered.
func (lc *lmtpClient) send(from, rcpt string, msg []byte) error {
	for _, cmd := range []struct {
		line string
		want int
	}{{"MAIL FROM:<" + from + ">", 2}, {"RCPT TO:<" + rcpt + ">", 2}, {"DATA", 3}} {
		if _, err := lc.expect(cmd.line, cmd.want); err != nil {
			return err
		}
	}
	if _, err := lc.c.Write(msg); err != nil {
		return err
	}
	if _, err := lc.c.Write([]byte(".\r\n")); err != nil {
		return fmt.Errorf("%w: %v", errNoReply, err)
	}
	if lc.dotSent != nil {
		lc.dotSent()
	}
	code, l, err := lc.reply()
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errNoReply, err)
	case code != 250:
		return &replyError{code, l}
	}
	return nil
}
