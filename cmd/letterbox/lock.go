package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/deliver"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
)

// lockSynopsis is the usage line of "letterbox lock".
const lockSynopsis = "letterbox lock [-c FILE] [--timeout DUR] [--locks LIST] MAILBOX -- COMMAND [ARG...]"

// forwarded are the signals passed on to COMMAND: every one whose default
// action would end letterbox and leave the lock behind while COMMAND runs
// on unprotected. While waiting for the lock they end the wait instead.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM}

// runLock is "letterbox lock": it holds the mailbox lock that deliveries take
// while COMMAND runs, for scripts, cron jobs and MUAs that must not race a
// delivery (the job of dotlockfile, lockfile and flock(1)).
func runLock(e *env, args []string) error {
	fs, bad := newFlags("lock", lockSynopsis)
	cfgPath := fs.String("c", "", "config file")
	timeout := fs.Duration("timeout", 0, "give up after this long; 0 tries once (default: lock_timeout)")
	locks := fs.String("locks", "", "comma-separated lock methods (default: mbox_locks)")
	// Flags may also follow MAILBOX ("lock M --timeout 1s -- cmd"); "--"
	// or the first non-flag after MAILBOX starts COMMAND.
	if err := fs.Parse(args); err != nil {
		return bad("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "" {
		return bad("no MAILBOX given")
	}
	mailbox, rest := rest[0], rest[1:]
	switch {
	case len(rest) > 0 && rest[0] == "--":
		rest = rest[1:]
	case len(rest) > 0 && strings.HasPrefix(rest[0], "-"):
		if err := fs.Parse(rest); err != nil { // consumes a "--"
			return bad("%v", err)
		}
		rest = fs.Args()
	}
	cmdArgs := rest
	if len(cmdArgs) == 0 {
		return bad("no COMMAND given")
	}
	if *timeout < 0 {
		return bad("negative --timeout")
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	if *locks != "" {
		cfg.MboxLocks = strings.Split(*locks, ",")
	}
	log := e.logger(cfg.Log)
	methods, opts, err := deliver.LockConfig(cfg, sys.Real{}, log)
	switch {
	case err != nil && *locks != "":
		return bad("--locks: %v", err)
	case err != nil:
		return status.Temp("4.3.5", fmt.Errorf("mbox_locks: %w", err))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			// --timeout 0 tries once, as dotlockfile -r 0 and lockfile -r 0
			// do; a zero Timeout would mean the default.
			opts.Timeout = max(*timeout, time.Nanosecond)
		}
	})

	// One goroutine handles signals: while waiting for the lock they cancel
	// the wait; once COMMAND runs they are passed on to it, and a lost lock
	// stops it. The child's pid is read and cleared under mu, so nothing is
	// ever sent to a pid after the child was reaped (it may be reused).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var child struct {
		sync.Mutex
		pid int
	}
	kill := func(sig syscall.Signal) bool {
		child.Lock()
		defer child.Unlock()
		if child.pid > 0 {
			syscall.Kill(child.pid, sig)
		}
		return child.pid > 0
	}
	held := make(chan *locking.Lock, 1)
	go func() {
		var lost <-chan struct{}
		for {
			select {
			case s := <-sigs:
				if !kill(s.(syscall.Signal)) {
					cancel()
				}
			case lk := <-held:
				lost = lk.Lost()
			case <-lost:
				// Someone broke or removed the lock: COMMAND is no longer
				// protected. Stop it, as a delivery would roll back.
				kill(syscall.SIGTERM)
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
	path, err := exec.LookPath(cmdArgs[0])
	if err != nil {
		lk.Release()
		fmt.Fprintf(os.Stderr, "letterbox lock: %v\n", err)
		// The shell's codes: 127 not found, 126 not executable.
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitStatus(127)
		}
		return exitStatus(126)
	}
	child.Lock()
	pid, err := syscall.ForkExec(path, cmdArgs, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	child.pid = pid
	child.Unlock()
	if err != nil {
		lk.Release()
		fmt.Fprintf(os.Stderr, "letterbox lock: %s: %v\n", path, err)
		return exitStatus(126)
	}
	held <- lk
	if ctx.Err() != nil {
		kill(syscall.SIGTERM) // a signal came between the lock and the fork
	}
	// Wait for the exit without reaping (WNOWAIT), forget the pid, then reap.
	var info unix.Siginfo
	for {
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	child.Lock()
	child.pid = 0
	child.Unlock()
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}

	checkErr := lk.Check()
	relErr := lk.Release()
	switch {
	case checkErr != nil:
		return status.Temp("4.2.0", fmt.Errorf("%s: lock not held throughout the command: %w", mailbox, checkErr))
	case errors.Is(relErr, locking.ErrLost):
		return status.Temp("4.2.0", fmt.Errorf("%s: lock not held throughout the command: %w", mailbox, relErr))
	case relErr != nil:
		// COMMAND ran under the lock; only giving it up failed. Its status
		// stands; the lock is left to age out, and the operator is told.
		log.Error("cannot release lock", "mailbox", mailbox, "err", relErr)
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
	if se := deliver.WaitStatus(mailbox, err); se != nil {
		return se
	}
	if errors.Is(err, locking.ErrNotLockFile) {
		return status.Temp("4.2.0", err)
	}
	return status.Temp("4.3.0", fmt.Errorf("cannot lock %s: %w", mailbox, err))
}
