package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
)

// runLock is "letterbox lock": it holds the mailbox lock that deliveries take
// while COMMAND runs, for scripts, cron jobs and MUAs that must not race a
// delivery (the job of dotlockfile, lockfile and flock(1)).
func runLock(args []string) error {
	fs := flag.NewFlagSet("lock", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("c", "", "config file")
	timeout := fs.Duration("timeout", 0, "give up after this long (default: lock_timeout)")
	locks := fs.String("locks", "", "comma-separated lock methods (default: mbox_locks)")
	if err := fs.Parse(args); err != nil {
		return usageError("lock: %v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError("lock: no MAILBOX given")
	}
	mailbox, rest := rest[0], rest[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return usageError("lock: no COMMAND given")
	}
	if *timeout < 0 {
		return usageError("lock: negative --timeout")
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	names := cfg.MboxLocks
	if *locks != "" {
		names = strings.Split(*locks, ",")
	}
	methods, err := locking.ParseMethods(names)
	if err != nil {
		return usageError("lock: --locks: %v", err)
	}
	methods.DotlockMayFail = cfg.DotlockMayFail
	opts := locking.Options{
		Timeout:      cfg.LockTimeout.Duration,
		StaleOwn:     cfg.StaleLockOwn.Duration,
		StaleForeign: cfg.StaleLockForeign.Duration,
		Refresh:      cfg.LockRefresh.Duration,
		Log:          newLogger(cfg.Log),
		Sys:          sys.Real{},
	}
	if *timeout > 0 {
		opts.Timeout = *timeout
	}

	// Signals: while waiting for the lock they abort the wait; once the
	// command runs they are passed on to it. One goroutine does both, and
	// stops the command when the lock is lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var child atomic.Int64
	held := make(chan *locking.Lock, 1)
	go func() {
		var lost <-chan struct{}
		for {
			select {
			case s := <-sigs:
				if pid := int(child.Load()); pid > 0 {
					syscall.Kill(pid, s.(syscall.Signal))
				} else {
					cancel()
				}
			case lk := <-held:
				lost = lk.Lost()
			case <-lost:
				// Someone broke or removed the lock: COMMAND is no longer
				// protected. Stop it, as a delivery would roll back.
				if pid := int(child.Load()); pid > 0 {
					syscall.Kill(pid, syscall.SIGTERM)
				}
				lost = nil
			case <-ctx.Done():
				return
			}
		}
	}()
	var opener locking.Opener
	if len(methods.Kernel) > 0 {
		opener = func() (int, error) { return openForLock(opts.Sys, mailbox) }
	}
	lk, err := locking.Acquire(ctx, mailbox, methods, opts, opener)
	if err != nil {
		return lockError(mailbox, err)
	}

	// syscall.ForkExec rather than os/exec: os.StartProcess forks a probe
	// child once per process to test pidfd support, which doubles the cost
	// of "letterbox lock M -- true".
	path, err := exec.LookPath(rest[0])
	if err != nil {
		lk.Release()
		fmt.Fprintf(os.Stderr, "letterbox lock: %v\n", err)
		// The shell's codes: 127 not found, 126 not executable.
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitStatus(127)
		}
		return exitStatus(126)
	}
	pid, err := syscall.ForkExec(path, rest, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		lk.Release()
		fmt.Fprintf(os.Stderr, "letterbox lock: %s: %v\n", path, err)
		return exitStatus(126)
	}
	child.Store(int64(pid))
	held <- lk
	if ctx.Err() != nil {
		// A signal came between the lock and the fork.
		syscall.Kill(pid, syscall.SIGTERM)
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	var lost error
	if lost == nil {
		lost = lk.Check()
	}
	if rerr := lk.Release(); lost == nil && rerr != nil && errors.Is(rerr, locking.ErrLost) {
		lost = rerr
	}
	if lost != nil {
		return status.Temp("4.2.0", fmt.Errorf("%s: lock lost while the command ran: %w", mailbox, lost))
	}
	// What a shell would report: the exit status, or 128 + the signal.
	if ws.Signaled() {
		return exitStatus(128 + int(ws.Signal()))
	}
	return exitStatus(ws.ExitStatus())
}

// openForLock opens the mailbox so that it can carry the kernel lock:
// read-write (an exclusive fcntl lock on NFS needs it), never following a
// symlink, never blocking on a FIFO. A mailbox that does not exist yet has
// nothing to lock; the dot-lock alone then keeps deliveries out.
func openForLock(s sys.Sys, path string) (int, error) {
	fd, err := s.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	if errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("open %s: is a symlink", path)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := s.Fstat(fd)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		s.Close(fd)
		return -1, err
	}
	return fd, nil
}

// lockError turns a failure to acquire into the status line: every one of
// them is temporary for mail (DESIGN §2.1), with 4.2.0 when the lock is busy
// and 4.3.0 when it cannot be made here at all.
func lockError(mailbox string, err error) error {
	var busy *locking.BusyError
	switch {
	case errors.As(err, &busy):
		return status.Temp("4.2.0", err)
	case errors.Is(err, context.Canceled):
		return status.Temp("4.2.0", fmt.Errorf("%s: interrupted while waiting for the lock", mailbox))
	case errors.Is(err, locking.ErrNotLockFile):
		return status.Temp("4.2.0", err)
	}
	return status.Temp("4.3.0", fmt.Errorf("cannot lock %s: %w", mailbox, err))
}
