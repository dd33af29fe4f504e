package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"letterbox/internal/cli"
	"letterbox/internal/status"
)

// lmtpBinary is the program that serves LMTP (cmd/letterbox-lmtp).
const lmtpBinary = "letterbox-lmtp"

// runLMTP is "letterbox lmtp": it becomes letterbox-lmtp with the same
// arguments. The server lives in a binary of its own so that its
// dependencies do not slow the start of every delivery (see
// cmd/letterbox-lmtp).
func runLMTP(e *cli.Env, args []string) error {
	// The flags are parsed here too, with the server's own flag set, so
	// that --help and usage errors are answered whether or not
	// letterbox-lmtp is installed.
	if err := cli.LMTPFlags().Parse(args); err != nil {
		return err
	}
	path, err := findLMTP()
	if err != nil {
		return status.Temp("4.3.0", err)
	}
	e.Flush()
	err = syscall.Exec(path, append([]string{lmtpBinary}, args...), os.Environ())
	return status.Temp("4.3.0", fmt.Errorf("run %s: %w", path, err))
}

// findLMTP finds letterbox-lmtp: beside this binary, else in $PATH.
func findLMTP() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), lmtpBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(lmtpBinary)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%s is not installed beside letterbox or in $PATH (go install ./cmd/...)", lmtpBinary)
	}
	return p, err
}
