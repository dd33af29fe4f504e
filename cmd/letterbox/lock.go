package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/lockrun"
)

// lockFlags are the flags of "letterbox lock".
type lockFlags struct {
	*cli.Flags
	cfgPath, locks string
	timeout        secondsFlag
}

func newLockFlags() *lockFlags {
	f := &lockFlags{Flags: cli.NewFlags("lock",
		"letterbox lock [-c FILE] [--timeout SECONDS] [--locks LIST] MAILBOX -- COMMAND [ARG...]",
		"Take the lock deliver takes on MAILBOX (the same mbox_locks and timings), run COMMAND while holding and "+
			"refreshing it, release it, and exit with COMMAND's status, or 128+N if signal N killed it; "+
			"the job of dotlockfile, lockfile and flock(1). Flags may also follow MAILBOX; -- or the first "+
			"non-flag after it starts COMMAND. A COMMAND that fcntl-locks the mailbox itself (mutt, a nested "+
			"letterbox lock) must run under --locks dotlock. A busy or lost lock is 4.2.0 and exit 75.")}
	f.ConfigVar(&f.cfgPath, "")
	f.Var(&f.timeout, "timeout", "give up waiting for the lock after `SECONDS` (5, 2.5) or a duration (30s, 2m); 0 tries once (default: lock_timeout)")
	f.StringVar(&f.locks, "locks", "", "take the lock methods of the comma-separated `LIST`: dotlock, fcntl, fcntl-classic, flock (default: mbox_locks)")
	return f
}

// secondsFlag is --timeout: plain seconds ("5", "2.5"), the unit of
// lockfile(1)'s -l and -s and of procmail's LOCKTIMEOUT, which scripts
// moving to letterbox lock already use; or a Go duration ("30s", "2m").
type secondsFlag struct {
	d   time.Duration
	set bool
}

func (s *secondsFlag) String() string {
	if !s.set {
		return ""
	}
	return s.d.String()
}

func (s *secondsFlag) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		// Bounded so that the conversion cannot overflow into a negative
		// or tiny duration; NaN and Inf are refused the same way.
		if !(n >= -1e9 && n <= 1e9) {
			return fmt.Errorf("%s seconds is out of range", v)
		}
		s.d, s.set = time.Duration(n*float64(time.Second)), true
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want seconds (5) or a duration (30s, 2m)")
	}
	s.d, s.set = d, true
	return nil
}

// runLock is "letterbox lock": it holds the mailbox lock that deliveries take
// while COMMAND runs, for scripts, cron jobs and MUAs that must not race a
// delivery (the job of dotlockfile, lockfile and flock(1)).
func runLock(e *cli.Env, args []string) error {
	fs := newLockFlags()
	bad, cfgPath, locks := fs.Bad, &fs.cfgPath, &fs.locks
	// Flags may also follow MAILBOX ("lock M --timeout 1s -- cmd"); "--"
	// or the first non-flag after MAILBOX starts COMMAND.
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
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
			return err
		}
		rest = fs.Args()
	}
	cmdArgs := rest
	if len(cmdArgs) == 0 {
		return bad("no COMMAND given")
	}
	if fs.timeout.d < 0 {
		return bad("negative --timeout")
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	pol := cfg.LockPolicy()
	if *locks != "" {
		// --locks names the locks; how they are taken (dotlock_may_fail,
		// trust_local_locks) stays the configuration's.
		m, err := locking.ParseMethods(strings.Split(*locks, ","))
		if err != nil {
			return bad("--locks: %v", err)
		}
		pol.Methods.Dotlock, pol.Methods.Kernel = m.Dotlock, m.Kernel
	}
	log := e.Logger(cfg.Log)
	methods, opts := pol.Methods, pol.Options(sys.Real{}, log)
	if fs.timeout.set {
		// --timeout 0 tries once, as dotlockfile -r 0 and lockfile -r 0
		// do; a zero Timeout would mean the default.
		opts.Timeout = max(fs.timeout.d, time.Nanosecond)
	}

	code, err := lockrun.Run(mailbox, methods, opts, cmdArgs, os.Environ())
	var se *lockrun.StartError
	var le *lockrun.LostError
	switch {
	case errors.As(err, &se):
		fmt.Fprintf(os.Stderr, "letterbox lock: %v\n", se)
		return cli.ExitStatus(se.Code)
	case errors.As(err, &le):
		return status.Temp("4.2.0", le)
	case err != nil:
		return status.Of(err, mailbox, cfg.QuotaTempfail)
	}
	return cli.ExitStatus(code)
}
