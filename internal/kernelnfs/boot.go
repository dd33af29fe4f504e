package kernelnfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var errNoReport = errors.New("the guest ended without reporting a status")

// Boot boots the guest once with payload — guest name (below /payload) to
// host path — and the kernel arguments args (lbnfs.vers=4.2, ...). The
// guest runs /payload/run with its output on the second serial port and
// powers off. Boot returns that output and run's exit status; an error if
// the guest did not get as far as reporting one (the kernel's console is
// then in the error's text, its last lines). ctx or timeout ending kills
// qemu.
func (g *Guest) Boot(ctx context.Context, payload map[string]string, args []string, timeout time.Duration) (output string, status int, err error) {
	work, err := os.MkdirTemp(g.dir, "boot.")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(work)
	pl := filepath.Join(work, "pl")
	for name, src := range payload {
		if err := copyFile(src, filepath.Join(pl, "payload", name)); err != nil {
			return "", 0, fmt.Errorf("payload: %w", err)
		}
	}
	plz := filepath.Join(work, "payload.cpio.gz")
	if err := packCpio(pl, plz); err != nil {
		return "", 0, err
	}
	// The kernel unpacks concatenated archives in order: the payload
	// lands on top of the base without rebuilding it.
	initrd := filepath.Join(work, "initrd.gz")
	if err := concat(initrd, g.Initrd, plz); err != nil {
		return "", 0, err
	}
	console, results := filepath.Join(work, "console.log"), filepath.Join(work, "results.log")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		// /dev/kvm here cannot boot a stock kernel: TCG, multi-threaded.
		"-accel", "tcg,thread=multi", "-cpu", "max", "-m", "1024", "-smp", "2",
		"-nographic", "-no-reboot", "-nic", "none", "-monitor", "none",
		"-serial", "file:"+console, "-serial", "file:"+results,
		"-kernel", g.Kernel, "-initrd", initrd,
		// panic=-1 with -no-reboot: a panicking guest ends qemu at once.
		"-append", "console=ttyS0 quiet panic=-1 "+strings.Join(args, " "))
	var qout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &qout, &qout
	// A test binary killed by go test's timeout takes its guest with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	qerr := cmd.Run()
	b, _ := os.ReadFile(results)
	output = strings.ReplaceAll(string(b), "\r", "")
	m := regexp.MustCompile(`(?m)^LBNFS-EXIT status=(\d+)$`).FindAllStringSubmatch(output, -1)
	if m == nil {
		con, _ := os.ReadFile(console)
		why := "qemu: " + strings.TrimSpace(qout.String())
		if ctx.Err() != nil {
			why = fmt.Sprintf("timed out after %v", timeout)
		} else if qerr != nil {
			why = fmt.Sprintf("qemu: %v: %s", qerr, strings.TrimSpace(qout.String()))
		}
		return output, 0, fmt.Errorf("%w (%s); console ends:\n%s", errNoReport, why, tail(string(con), 30))
	}
	status, _ = strconv.Atoi(m[len(m)-1][1])
	return output, status, nil
}

// concat writes the files srcs, one after the other, to dst.
func concat(dst string, srcs ...string) error {
	var all []byte
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		all = append(all, b...)
	}
	return os.WriteFile(dst, all, 0o644)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	l := strings.Split(strings.ReplaceAll(strings.TrimRight(s, "\n"), "\r", ""), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
