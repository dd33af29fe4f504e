// Package lockrun runs a command while holding a mailbox lock: the job of
// dotlockfile, lockfile and flock(1), done with the lock deliveries take,
// for scripts, cron jobs and MUAs that must not race a delivery.
//
// Run guarantees that the command runs only while the lock is held: it is
// started after the lock is acquired, the lock is refreshed while it runs,
// and a lock found lost (broken or removed by someone else) stops it with
// SIGTERM and is reported, as a delivery would roll back. Signals that would
// end letterbox and leave the command running unprotected (SIGINT, SIGTERM,
// SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM) end the wait for the lock, and
// once the command runs are passed on to it. No signal is ever sent to a pid
// after it was reaped (it may belong to someone else by then).
//
// The command is started with fork and exec directly: os/exec forks a probe
// child once per process to test pidfd support, which doubles the cost of
// "letterbox lock M -- true". The caller owes nothing after Run returns:
// the lock is released in every case.
package lockrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"letterbox/locking"
	"letterbox/safeopen"
)

// forwarded are the signals passed on to the command.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM}

// StartError reports a command that could not be started; Code is the
// shell's: 127 not found, 126 not executable.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// LostError reports that the lock was not held for the whole run of the
// command: it wraps locking.ErrLost or the failure to prove the lock.
type LostError struct {
	Mailbox string
	Err     error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%s: lock not held throughout the command: %v", e.Mailbox, e.Err)
}
func (e *LostError) Unwrap() error { return e.Err }

// Run locks mailbox with m and o, runs argv with env and the caller's
// standard descriptors, releases the lock, and returns what a shell would
// report: the command's exit status, or 128 + the signal that killed it.
// The mailbox is opened for the kernel locks (safeopen, read mode); one
// that does not exist yet has nothing to kernel-lock, and the dot-lock alone
// keeps deliveries out.
//
// Errors: those of locking.Acquire (no command ran); a *StartError (the
// command did not start); a *LostError (the command ran, but the lock was
// lost on the way: its status is not to be trusted). A failure to release
// after an undisturbed run is no error: the status stands, the lock ages
// out, and it is logged to o.Log. Nor is a lock found displaced at release
// once the check after the command proved it held throughout (a replayed
// rename on NFS, docs/locking.md §10.9): logged, the status stands.
func Run(mailbox string, m locking.Methods, o locking.Options, argv, env []string) (int, error) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// One goroutine handles signals: while waiting for the lock they cancel
	// the wait; once the command runs they are passed on to it, and a lost
	// lock stops it. The pid is read and cleared under the mutex.
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
				// Someone broke or removed the lock: the command is no
				// longer protected. Stop it, as a delivery would roll back.
				kill(syscall.SIGTERM)
				lost = nil
			case <-ctx.Done():
				return
			}
		}
	}()
	var open *safeopen.Options
	if len(m.Kernel) > 0 {
		open = &safeopen.Options{Mode: safeopen.Read, Owner: -1}
	}
	lk, err := locking.Acquire(ctx, mailbox, m, o, open)
	if err != nil {
		return 0, err
	}

	path, err := exec.LookPath(argv[0])
	if err != nil {
		lk.Release()
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 0, &StartError{Code: 127, Err: err}
		}
		return 0, &StartError{Code: 126, Err: err}
	}
	child.Lock()
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}})
	child.pid = pid
	child.Unlock()
	if err != nil {
		lk.Release()
		return 0, &StartError{Code: 126, Err: fmt.Errorf("%s: %w", path, err)}
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

	// The check after the command ended is what proves the lock held
	// throughout; whatever the release then finds happened after it.
	checkErr := lk.Check()
	relErr := lk.Release()
	switch {
	case checkErr != nil:
		return 0, &LostError{Mailbox: mailbox, Err: checkErr}
	case errors.Is(relErr, locking.ErrLost) && o.Log != nil:
		// Typically the server ran our release's rename again after
		// someone else took the lock (docs/locking.md §10.9), and the
		// release put their lock back. Reporting a loss would make the
		// caller redo work that was done under the lock.
		o.Log.Warn("the command ran under the lock, but the lock was displaced after it", "mailbox", mailbox, "err", relErr)
	case relErr != nil && o.Log != nil:
		o.Log.Error("cannot release lock", "mailbox", mailbox, "err", relErr)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
