package sendmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"letterbox/internal/capped"
	"letterbox/internal/status"
)

const (
	// DefaultPath is where Postfix, Exim and Sendmail install the program.
	DefaultPath = "/usr/sbin/sendmail"
	// DefaultTimeout bounds a submission whose context has no deadline.
	DefaultTimeout = 60 * time.Second
	// MaxOutput is how much of the program's standard output and of its
	// standard error is kept.
	MaxOutput = 4096
	// NullSender is how the null reverse path is passed with -f.
	NullSender = "<>"
)

// sysexits.h codes that the status package does not name.
const (
	exNoHost = 68
)

// pathEnv is the PATH the program gets: what it needs to find its helpers
// (Postfix's postdrop is found through its configuration, not PATH).
const pathEnv = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// exported are the variables of our environment passed on when set: the
// default of Postfix's export_environment.
var exported = []string{"TZ", "MAIL_CONFIG", "LANG"}

// ExitError is the cause inside the *status.Error of a program that ran
// and failed.
type ExitError struct {
	Path   string
	Status int    // exit status, or -1 when killed by a signal
	Signal string // the signal's name when killed by one
	Output string // its standard error, else its standard output, trimmed
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("%s exited %d", e.Path, e.Status)
	if e.Signal != "" {
		s = fmt.Sprintf("%s killed by %s", e.Path, e.Signal)
	}
	if e.Output != "" {
		s += ": " + e.Output
	}
	return s
}

// Send runs the sendmail program at path (DefaultPath when empty) to submit
// msg from sender (the null sender when "" or "<>") to rcpts, as the
// package comment describes. It returns nil when the program exited 0, and
// otherwise a *status.Error: permanent only for the exit statuses the table
// in the package comment names, temporary for everything else.
func Send(ctx context.Context, path, sender string, rcpts []string, msg io.Reader) error {
	if path == "" {
		path = DefaultPath
	}
	argv, err := args(path, sender, rcpts)
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	stdout, stderr := &capped.Buffer{Limit: MaxOutput}, &capped.Buffer{Limit: MaxOutput}
	cmd := exec.CommandContext(ctx, path, argv...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return status.Temp("4.3.0", fmt.Errorf("run %s: %w", path, err))
	}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = env()
	cmd.Dir = "/"
	// A group of its own, killed whole: Postfix's sendmail runs postdrop,
	// which would keep our pipes open, and the wait with them, if only its
	// parent were killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		// Not started (ENOENT, EACCES, ENOEXEC).
		return status.Temp("4.3.0", fmt.Errorf("run %s: %w", path, err))
	}
	_, copyErr := io.Copy(stdin, msg)
	if copyErr != nil && !errors.Is(copyErr, syscall.EPIPE) {
		// The message could not be read to its end. Closing standard input
		// now would submit what was read as if it were all: the group is
		// killed first, so the program never sees the end of its input and
		// submits nothing (Postfix's sendmail removes its queue file).
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	stdin.Close()
	err = cmd.Wait()
	if copyErr != nil && !errors.Is(copyErr, syscall.EPIPE) {
		return status.Temp("4.3.0", fmt.Errorf("read message for %s: %w", path, copyErr))
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		// It exited 0, and something it started still holds its output:
		// the message was accepted.
		return nil
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return status.Temp("4.3.0", fmt.Errorf("%s: %w", path, ctx.Err()))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		// Its pipes failed.
		return status.Temp("4.3.0", fmt.Errorf("run %s: %w", path, err))
	}
	xe := &ExitError{Path: path, Status: ee.ExitCode(), Output: output(stderr, stdout)}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		xe.Signal = ws.Signal().String()
	}
	return classify(xe)
}

// classify maps a failed run to a status by the table of the package
// comment.
func classify(xe *ExitError) *status.Error {
	switch xe.Status {
	case status.DataErr:
		return status.Perm("5.6.0", status.DataErr, xe)
	case status.NoUser:
		return status.Perm("5.1.1", status.NoUser, xe)
	case exNoHost:
		return status.Perm("5.1.2", exNoHost, xe)
	}
	return status.Temp("4.3.0", xe)
}

// args are the arguments after the program's name.
func args(path, sender string, rcpts []string) ([]string, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("sendmail_path %q is not an absolute path", path)
	}
	if strings.ContainsAny(path, " \t") {
		// Postfix's sendmail_path is one path; "sendmail -t" would be one
		// file of that name, which surely is a mistake.
		return nil, fmt.Errorf("sendmail_path %q holds white space: a path, not a command line", path)
	}
	if sender == "" {
		sender = NullSender
	} else if sender != NullSender {
		if err := checkAddr("sender", sender); err != nil {
			return nil, err
		}
	}
	if len(rcpts) == 0 {
		return nil, errors.New("no recipients")
	}
	argv := []string{"-i", "-f", sender, "--"}
	for _, r := range rcpts {
		if err := checkAddr("recipient", r); err != nil {
			return nil, err
		}
		argv = append(argv, r)
	}
	return argv, nil
}

// checkAddr refuses what could be read as an option or carry a second
// line: "--" already ends the options for getopt, but not every sendmail
// clone parses its arguments with getopt.
func checkAddr(what, a string) error {
	switch {
	case a == "":
		return fmt.Errorf("empty %s", what)
	case a[0] == '-':
		return fmt.Errorf("%s %q starts with '-'", what, a)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%s %q holds a control byte or white space", what, a)
		}
	}
	return nil
}

func env() []string {
	e := []string{pathEnv}
	for _, k := range exported {
		if v, ok := os.LookupEnv(k); ok {
			e = append(e, k+"="+v)
		}
	}
	return e
}

// output is the first non-empty of the captured streams, on one line.
func output(streams ...*capped.Buffer) string {
	for _, s := range streams {
		t := strings.TrimSpace(s.String())
		if t != "" {
			return strings.Join(strings.Fields(t), " ")
		}
	}
	return ""
}
