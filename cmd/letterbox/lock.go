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
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/safeopen"
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
	pol := cfg.LockPolicy()
	if *locks != "" {
		if pol.Methods, err = locking.ParseMethods(strings.Split(*locks, ",")); err != nil {
			return bad("--locks: %v", err)
		}
		pol.Methods.DotlockMayFail = cfg.DotlockMayFail
	}
	log := e.logger(cfg.Log)
	methods, opts := pol.Methods, pol.Options(sys.Real{}, log)
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
	// The mailbox is opened to carry the kernel lock; one that does not
	// exist yet has nothing to lock, and the dot-lock alone keeps
	// deliveries out.
	var open *safeopen.Options
	if len(methods.Kernel) > 0 {
		open = &safeopen.Options{Mode: safeopen.Read, Owner: -1}
	}
	lk, err := locking.Acquire(ctx, mailbox, methods, opts, open)
	if err != nil {
		return status.Of(err, mailbox, cfg.QuotaTempfail)
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
