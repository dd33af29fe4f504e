package lmtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"

	"letterbox/deliver"
	"letterbox/internal/capped"
	"letterbox/internal/status"
)

// childArgs are the arguments of "letterbox deliver" for one recipient of
// a system user, as a pipe transport would run it: it becomes the user
// itself (deliver.Recipient.Become) before it touches anything.
func childArgs(configPath, user string, sender string, orig, rcpt, folder string) []string {
	args := []string{"deliver"}
	if configPath != "" {
		args = append(args, "-c", configPath)
	}
	args = append(args, "-d", user, "-f", sender, "-a", orig, "-r", rcpt)
	if folder != "" {
		args = append(args, "-m", folder)
	}
	return args
}

// statusLine is the start of deliver's status line: "4.2.0 ...".
var statusLine = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3}) `)

// runChild runs exe with args, the message m on its standard input, and
// maps its exit status and the first line of its standard error to the
// delivery's outcome: nil for exit 0, else a *status.Error with the DSN
// of that line and the exit code. A child that cannot be run, dies by a
// signal, or exits non-zero without a status line is 4.3.0.
func runChild(ctx context.Context, exe string, args []string, m *deliver.Message) error {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdin = m.Reader()
	// Nothing of the daemon's environment reaches the delivery ($SENDER,
	// $RECIPIENT, $USER would change what it does); TZ sets the From_ time.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		cmd.Env = append(cmd.Env, "TZ="+tz)
	}
	stderr := &capped.Buffer{Limit: 8 << 10}
	cmd.Stderr = stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	line, _, _ := bytes.Cut(stderr.Bytes(), []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Exited() {
		return status.Temp("4.3.0", fmt.Errorf("run %s: %w: %s", exe, err, line))
	}
	mt := statusLine.FindSubmatch(line)
	if mt == nil {
		return status.Temp("4.3.0", fmt.Errorf("%s exited %d without a status line: %s", exe, ee.ExitCode(), line))
	}
	dsn := fmt.Sprintf("%s.%s.%s", mt[1], mt[2], mt[3])
	code := ee.ExitCode()
	if dsn[0] == '2' {
		// A success DSN with a failing exit: not certain; retry.
		return status.Temp("4.3.0", fmt.Errorf("%s exited %d: %s", exe, code, line))
	}
	return &status.Error{DSN: dsn, Code: code, Err: errors.New(string(line[len(mt[0]):]))}
}
