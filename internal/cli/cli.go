package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"letterbox/internal/status"
)

// Env is what a command gets besides its arguments.
type Env struct {
	// SyslogAddr is the syslog daemon's socket that Logger sends to; ""
	// is /dev/log (syslog.Path). Tests point it at a socket of their own.
	SyslogAddr string

	// stderrLog holds log lines bound for standard error until the status
	// line is written: an MTA reads the first line of a failed delivery's
	// output as its RFC 3463 status, so no log line may come before it.
	stderrLog bytes.Buffer
	mu        sync.Mutex
}

// maxStderrLog bounds what is held back.
const maxStderrLog = 64 << 10

func (e *Env) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stderrLog.Len()+len(p) <= maxStderrLog {
		e.stderrLog.Write(p)
	}
	return len(p), nil
}

// Flush writes the held-back log lines to standard error.
func (e *Env) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	os.Stderr.Write(e.stderrLog.Bytes())
	e.stderrLog.Reset()
}

// ExitCode writes err's status line and returns its code. A *status.Error
// carries both; a bare error is temporary.
func ExitCode(err error) int {
	if err == nil {
		return status.OK
	}
	var x ExitStatus
	if errors.As(err, &x) {
		return int(x)
	}
	var se *status.Error
	if !errors.As(err, &se) {
		se = status.Temp("4.3.0", err)
	}
	fmt.Fprintln(os.Stderr, se.Line())
	return se.Code
}

// ExitStatus is an exit code passed through unchanged, such as the status of
// the command "letterbox lock" ran.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// UsageError is a bad command line: 5.3.0 and EX_USAGE.
func UsageError(format string, args ...any) error {
	return status.Perm("5.3.0", status.Usage, fmt.Errorf(format, args...))
}

// Run runs cmd with a fresh Env and returns the exit code: the one status
// line is written first, then the held-back log lines (Flush). A bug must
// never bounce mail: a panic is a temporary failure (docs/design.md §2.1,
// "a bug (panic)"), reported with its stack.
func Run(cmd func(e *Env) int) (code int) {
	e := &Env{}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "4.3.0 internal error: %v\n%s", r, debug.Stack())
			code = status.TempFail
		}
		e.Flush()
	}()
	return cmd(e)
}
