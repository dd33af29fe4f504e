package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/status"
	"letterbox/sieve"
)

func newSieveCheckFlags() *cli.Flags {
	return cli.NewFlags("sieve check", "letterbox sieve check FILE...",
		"Compile each Sieve script FILE and print every error as FILE:LINE:COL: message on standard error, "+
			"the form editors jump to. Exit status: 0 all compile, 65 (EX_DATAERR) one or more do not.")
}

// sieveTestFlags are the flags of "letterbox sieve test".
type sieveTestFlags struct {
	*cli.Flags
	from, rcpt, orig, cfgPath string
	mailboxes                 mailboxList
}

func newSieveTestFlags() *sieveTestFlags {
	f := &sieveTestFlags{Flags: cli.NewFlags("sieve test",
		"letterbox sieve test [-f SENDER] [-r RCPT] [-a ORIG_RCPT] [-m MAILBOX]... [-c FILE] SCRIPT < MESSAGE",
		"A dry run, as Pigeonhole's sieve-test: run SCRIPT on the message on standard input and print what "+
			"delivery would do, one action a line (fileinto \"Lists/go\", redirect \"a@b\", implicit keep), "+
			"without doing it. A script that fails at run time prints its error and \"implicit keep\", what "+
			"delivery does then (exit 0); one that does not compile is exit 65 with its position.")}
	f.StringVar(&f.from, "f", "", "the envelope `SENDER`")
	f.StringVar(&f.rcpt, "r", "", "the envelope recipient `RCPT`")
	f.StringVar(&f.orig, "a", "", "the original recipient `ORIG_RCPT` (default: -r)")
	f.ConfigVar(&f.cfgPath, "")
	f.Var(&f.mailboxes, "m", "a `MAILBOX` that exists besides INBOX; repeatable")
	return f
}

// runSieveCheck compiles each FILE and prints each failure as
// "FILE:LINE:COL: message" on standard error, the form editors jump to.
// Exit status: 0 all compile, 65 (EX_DATAERR) one or more do not.
func runSieveCheck(e *cli.Env, args []string) error {
	fs := newSieveCheckFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad := fs.Bad
	if fs.NArg() == 0 {
		return bad("want one or more FILEs")
	}
	failed := false
	for _, path := range fs.Args() {
		if _, err := sieve.CompileFile(path, sieve.Options{}); err != nil {
			failed = true
			var ce *sieve.CompileError
			if errors.As(err, &ce) {
				fmt.Fprintln(os.Stderr, ce.Error())
			} else {
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			}
		}
	}
	if failed {
		return cli.ExitStatus(status.DataErr)
	}
	return nil
}

// runSieveTest is a dry run, as Pigeonhole's sieve-test: it runs SCRIPT on
// the message on standard input and prints what delivery would do, in
// sieve.Dump's form, without doing it. The mail store it pretends has
// INBOX and the -m mailboxes; no message was seen before (duplicate).
//
// Exit status: 0 when the script ran, and also when it failed at run
// time: the error goes to standard error and the result to standard
// output is "implicit keep", what delivery does then (RFC 5228 §2.10.6).
// 65 (EX_DATAERR) when the script does not compile, with its position on
// standard error.
func runSieveTest(e *cli.Env, args []string) error {
	fs := newSieveTestFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad, from, rcpt, orig, cfgPath, mailboxes := fs.Bad, &fs.from, &fs.rcpt, &fs.orig, &fs.cfgPath, fs.mailboxes
	if fs.NArg() != 1 {
		return bad("want one SCRIPT")
	}
	if _, err := config.Load(config.Find(*cfgPath)); err != nil {
		return status.Temp("4.3.5", err)
	}
	o := sieve.Options{Environment: map[string]string{"version": versionString(buildInfo())}}
	if host, err := os.Hostname(); err == nil {
		o.Environment["host"] = host
		if _, domain, ok := strings.Cut(host, "."); ok {
			o.Environment["domain"] = domain
		}
	}
	s, err := sieve.CompileFile(fs.Arg(0), o)
	if err != nil {
		var ce *sieve.CompileError
		if errors.As(err, &ce) {
			fmt.Fprintln(os.Stderr, ce.Error())
			return cli.ExitStatus(status.DataErr)
		}
		return status.Perm("5.3.0", status.DataErr, err)
	}

	// The message is spooled to a temporary file, as delivery spools it,
	// so that body tests read it again instead of holding it in memory.
	spool, err := os.CreateTemp("", "letterbox-sieve-test-")
	if err != nil {
		return fmt.Errorf("spool message: %w", err)
	}
	defer spool.Close()
	os.Remove(spool.Name())
	size, err := io.Copy(spool, os.Stdin)
	if err != nil {
		return fmt.Errorf("spool message: %w", err)
	}
	open := func() io.Reader { return io.NewSectionReader(spool, 0, size) }
	m, err := sieve.NewMessage(open, size, o.MaxHeader)
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	if *orig == "" {
		*orig = *rcpt
	}
	env := sieve.Envelope{From: *from, To: *rcpt, OrigTo: *orig}
	res, err := sieve.Run(context.Background(), []*sieve.Script{s}, m, env, dryHost{mailboxes}, nil, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "letterbox sieve test: %v\n", err)
		res = sieve.Result{ImplicitKeep: true}
	}
	return sieve.Dump(os.Stdout, res)
}

// mailboxList is the repeatable -m flag.
type mailboxList []string

func (l *mailboxList) String() string     { return strings.Join(*l, ",") }
func (l *mailboxList) Set(s string) error { *l = append(*l, s); return nil }

// dryHost is the mail store of a dry run: INBOX and the -m mailboxes
// exist, and no message was seen before.
type dryHost struct{ mailboxes []string }

func (h dryHost) MailboxExists(ctx context.Context, name string) (bool, error) {
	return strings.EqualFold(name, "INBOX") || slices.Contains(h.mailboxes, name), nil
}

func (dryHost) DuplicateSeen(ctx context.Context, handle, id string) (bool, error) {
	return false, nil
}
