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

const (
	sieveSynopsis      = "letterbox sieve check FILE... | letterbox sieve test [-f SENDER] [-r RCPT] [-a ORIG_RCPT] [-m MAILBOX]... [-c FILE] SCRIPT < MESSAGE"
	sieveCheckSynopsis = "letterbox sieve check FILE..."
	sieveTestSynopsis  = "letterbox sieve test [-f SENDER] [-r RCPT] [-a ORIG_RCPT] [-m MAILBOX]... [-c FILE] SCRIPT < MESSAGE"
)

// runSieve is "letterbox sieve check" and "letterbox sieve test".
func runSieve(e *cli.Env, args []string) error {
	if len(args) == 0 {
		return cli.UsageError("sieve: want \"check\" or \"test\" (usage: %s)", sieveSynopsis)
	}
	switch args[0] {
	case "check":
		return runSieveCheck(args[1:])
	case "test":
		return runSieveTest(args[1:])
	}
	return cli.UsageError("sieve: unknown subcommand %q (usage: %s)", args[0], sieveSynopsis)
}

// runSieveCheck compiles each FILE and prints each failure as
// "FILE:LINE:COL: message" on standard error, the form editors jump to.
// Exit status: 0 all compile, 65 (EX_DATAERR) one or more do not.
func runSieveCheck(args []string) error {
	fs, bad := cli.NewFlags("sieve check", sieveCheckSynopsis)
	if err := fs.Parse(args); err != nil {
		return bad("%v", err)
	}
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
func runSieveTest(args []string) error {
	fs, bad := cli.NewFlags("sieve test", sieveTestSynopsis)
	from := fs.String("f", "", "envelope sender")
	rcpt := fs.String("r", "", "envelope recipient")
	orig := fs.String("a", "", "original recipient (default: -r)")
	cfgPath := fs.String("c", "", "config file")
	var mailboxes mailboxList
	fs.Var(&mailboxes, "m", "a mailbox that exists besides INBOX (repeatable)")
	if err := fs.Parse(args); err != nil {
		return bad("%v", err)
	}
	if fs.NArg() != 1 {
		return bad("want one SCRIPT")
	}
	if _, err := config.Load(config.Find(*cfgPath)); err != nil {
		return status.Temp("4.3.5", err)
	}
	o := sieve.Options{Environment: map[string]string{"version": version}}
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
