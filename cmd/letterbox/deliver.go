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

const deliverSynopsis = "letterbox deliver [-f SENDER] [-a ADDR] [-r ADDR] [-d USER] [-m FOLDER] [-c FILE] [-p FILE] [--format mbox|maildir] [MAILBOX]"

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
	fs, bad := cli.NewFlags("deliver", deliverSynopsis)
	var sender, orig, rcpt optString
	fs.Var(&sender, "f", "envelope sender")
	fs.Var(&orig, "a", "original recipient")
	fs.Var(&rcpt, "r", "final recipient")
	user := fs.String("d", "", "deliver to USER's mailbox")
	cfgPath := fs.String("c", "", "config file")
	input := fs.String("p", "", "read the message from FILE")
	format := fs.String("format", "", "mbox or maildir (default: by MAILBOX)")
	folder := fs.String("m", "", "Maildir++ folder; empty is INBOX")
	fs.Bool("e", false, "accepted for dovecot-lda compatibility")
	if err := fs.Parse(args); err != nil {
		return bad("%v", err)
	}
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
