package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/deliver"
	"letterbox/internal/cli"
	"letterbox/internal/passwd"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/maildir"
)

// deliverFlags are the flags of "letterbox deliver".
type deliverFlags struct {
	*cli.Flags
	sender, orig, rcpt                   optString
	user, cfgPath, input, format, folder string
}

func newDeliverFlags() *deliverFlags {
	f := &deliverFlags{Flags: cli.NewFlags("deliver",
		"letterbox deliver [-f SENDER] [-a ADDR] [-r ADDR] [-d USER] [-m FOLDER] [-c FILE] [-p FILE] [--format mbox|maildir] [-e] [MAILBOX]",
		"Read one message from standard input (or -p FILE) to its end, then store it: appended to an mbox under the lock "+
			"(dot-lock and fcntl, NFS-safe), or written into a Maildir. MAILBOX ending in / or naming an existing Maildir "+
			"is a Maildir, anything else an mbox. Without MAILBOX the mailbox is the user's (-d USER, else $USER): "+
			"home_mailbox below the home directory if configured, else spool_dir/USER. "+
			"Success is exit 0 with nothing on standard error; a failure is one RFC 3463 status line on standard error "+
			"and a sysexits code (75: try again later; 64-78: permanent).")}
	f.Var(&f.sender, "f", "the envelope `SENDER`; empty or <> is the null sender (default: $SENDER, else the From_ line's)")
	f.Var(&f.orig, "a", "the original recipient `ADDR`, written as X-Original-To: (default: $ORIGINAL_RECIPIENT)")
	f.Var(&f.rcpt, "r", "the final recipient `ADDR`, written as Delivered-To: and checked for loops (default: $RECIPIENT, else USER@hostname)")
	f.StringVar(&f.user, "d", "", "deliver for `USER`: that user's mailbox, with that user's privileges (default: $USER when no MAILBOX is given)")
	f.StringVar(&f.folder, "m", "", "deliver into the Maildir++ `FOLDER` (.Lists.go, Lists/go); empty is INBOX")
	f.ConfigVar(&f.cfgPath, "")
	f.StringVar(&f.input, "p", "", "read the message from `FILE` instead of standard input")
	f.StringVar(&f.format, "format", "", "store as `mbox|maildir` (default: by MAILBOX)")
	f.Bool("e", false, "accepted for dovecot-lda compatibility; ignored")
	return f
}

// optString is a string flag that knows whether it was given: "-f ”" (the
// null sender) differs from no -f at all.
type optString struct{ v *string }

func (o *optString) String() string {
	if o.v == nil {
		return ""
	}
	return *o.v
}
func (o *optString) Set(s string) error { o.v = &s; return nil }

// home is the home directory of the recipient, for the "~/" paths of the
// Sieve settings: the user's; or, without -d and with an explicit MAILBOX,
// $HOME as dovecot-lda takes it (Postfix sets it for mailbox_command),
// else the running user's from the user database ("" if it has none).
func home(to deliver.Recipient) string {
	if to.User != nil {
		return to.User.Home
	}
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		return h
	}
	u, err := passwd.System().LookupID(os.Getuid())
	if err != nil {
		return ""
	}
	return u.Home
}

// runDeliver is "letterbox deliver": one message from standard input (or
// -p FILE) into a mailbox, with the result told by exit status and one
// RFC 3463 status line (docs/design.md §2.1).
func runDeliver(e *cli.Env, args []string) error {
	fs := newDeliverFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad := fs.Bad
	sender, orig, rcpt := fs.sender, fs.orig, fs.rcpt
	user, cfgPath, input, format, folder := &fs.user, &fs.cfgPath, &fs.input, &fs.format, &fs.folder
	if fs.NArg() > 1 {
		return bad("more than one MAILBOX")
	}
	if *format != "" && *format != "mbox" && *format != "maildir" {
		return bad("--format %q: want mbox or maildir", *format)
	}
	if *folder != "" {
		// A folder that could leave the mail root is refused before
		// anything is read or written (docs/design.md §5).
		if _, err := maildir.ParseFolder(*folder); err != nil {
			return bad("-m: %v", err)
		}
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	// Every outcome from here on is logged, one line each
	// (deliver.LogResult), those before the message is read included.
	log := e.Logger(cfg.Log)
	resLog := cli.ResultLogger(log)
	start := time.Now()
	to, err := deliver.ResolveRecipient(cfg, *user, fs.Arg(0), os.Getenv, passwd.System())
	failed := func(err error) error {
		deliver.LogResult(resLog, deliver.Unresolved(deliver.Sources{
			Sender: sender.v, OriginalRecipient: orig.v, Recipient: rcpt.v, LookupEnv: os.LookupEnv,
			User: func() (string, error) {
				if *user != "" {
					return *user, nil // also when unknown
				}
				return to.Name()
			},
		}), err, start)
		return err
	}
	if err != nil {
		return failed(err)
	}
	mailbox := to.Mailbox
	if *format == "mbox" && strings.HasSuffix(mailbox, "/") {
		return failed(bad("--format mbox with a Maildir path %s", mailbox))
	}
	// Root becomes the user before it reads -p FILE or touches anything of
	// the mailbox (docs/design.md §3).
	if err := to.Become(); err != nil {
		return failed(err)
	}

	var in io.Reader = os.Stdin
	if *input != "" {
		f, err := os.Open(*input)
		if err != nil {
			return failed(status.Temp("4.3.0", fmt.Errorf("read message: %w", err)))
		}
		defer f.Close()
		in = f
	}

	// A write past RLIMIT_FSIZE must fail with EFBIG and be undone, not kill
	// the process half-way through the append.
	signal.Ignore(unix.SIGXFSZ)
	// SIGTERM, SIGINT, SIGHUP roll the append back and exit 75.
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer stop()

	res, err := deliver.Deliver(ctx, deliver.Request{
		Input:             in,
		Sender:            sender.v,
		OriginalRecipient: orig.v,
		Recipient:         rcpt.v,
		LookupEnv:         os.LookupEnv,
		User:              to.Name,
		Mailbox:           mailbox,
		Maildir:           *format == "maildir",
		Folder:            *folder,
		Config:            cfg,
		Sys:               sys.Real{},
		Log:               log,
		Now:               time.Now,
		TempDir:           os.TempDir(),
		Home:              home(to),
	})
	if err != nil && res.Recipient == "" {
		// It failed before the envelope was decided: reading the message,
		// or an address in it that cannot be written.
		return failed(err)
	}
	deliver.LogResult(resLog, res, err, start)
	return err
}
