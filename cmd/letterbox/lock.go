package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/lockrun"
)

// lockSynopsis is the usage line of "letterbox lock".
const lockSynopsis = "letterbox lock [-c FILE] [--timeout DUR] [--locks LIST] MAILBOX -- COMMAND [ARG...]"

// runLock is "letterbox lock": it holds the mailbox lock that deliveries take
// while COMMAND runs, for scripts, cron jobs and MUAs that must not race a
// delivery (the job of dotlockfile, lockfile and flock(1)).
func runLock(e *cli.Env, args []string) error {
	fs, bad := cli.NewFlags("lock", lockSynopsis)
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
	log := e.Logger(cfg.Log)
	methods, opts := pol.Methods, pol.Options(sys.Real{}, log)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			// --timeout 0 tries once, as dotlockfile -r 0 and lockfile -r 0
			// do; a zero Timeout would mean the default.
			opts.Timeout = max(*timeout, time.Nanosecond)
		}
	})

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
