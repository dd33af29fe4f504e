package sieveext

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// CmdFileIntoCreate is fileinto with the :create tag of RFC 5490 §3.2. It
// runs the library's fileinto and records the expanded mailbox name in
// Run.Creates; creating the mailbox is the caller's job.
type CmdFileIntoCreate struct {
	interp.CmdFileInto
}

// wrapFileIntoCreate returns a fileinto factory that accepts :create and
// hands everything else to the library's loader (orig), so fileinto's own
// syntax checks stay the library's.
func wrapFileIntoCreate(orig cmdFactory) cmdFactory {
	return func(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
		rest, got, err := takeTags(pcmd.Args, map[string]bool{"create": false})
		if err != nil {
			return nil, err
		}
		if _, ok := got["create"]; !ok {
			return orig(s, pcmd)
		}
		if !s.RequiresExtension("mailbox") {
			return nil, parser.ErrorAt(pcmd.Position, "missing require 'mailbox'")
		}
		pcmd.Args = rest
		inner, err := orig(s, pcmd)
		if err != nil {
			return nil, err
		}
		fi, ok := inner.(interp.CmdFileInto)
		if !ok {
			// The library changed what fileinto loads to; refuse rather than
			// silently dropping :create.
			return nil, fmt.Errorf("fileinto :create: unexpected command type %T", inner)
		}
		return CmdFileIntoCreate{fi}, nil
	}
}

// Execute files the message as the library does, then records the creation.
func (c CmdFileIntoCreate) Execute(ctx context.Context, d *interp.RuntimeData) error {
	r := RunFrom(ctx)
	if r == nil {
		return errNoRun
	}
	if err := c.CmdFileInto.Execute(ctx, d); err != nil {
		return err
	}
	if r.Creates == nil {
		r.Creates = map[string]bool{}
	}
	r.Creates[expand(d, c.Mailbox)] = true
	return nil
}

// MailboxExistsTest is the mailboxexists test (RFC 5490 §3.1): true when
// every named mailbox exists.
type MailboxExistsTest struct {
	Names []string
}

func loadMailboxExists(s *interp.Script, t parser.Test) (interp.Test, error) {
	if !s.RequiresExtension("mailbox") {
		return nil, parser.ErrorAt(t.Position, "missing require 'mailbox'")
	}
	loaded := MailboxExistsTest{}
	err := interp.LoadSpec(s, &interp.Spec{
		Pos: []interp.SpecPosArg{{MinStrCount: 1, MatchStr: func(v []string) { loaded.Names = v }}},
	}, t.Position, t.Args, t.Tests, nil)
	if err != nil {
		return nil, err
	}
	return loaded, nil
}

func (t MailboxExistsTest) Check(ctx context.Context, d *interp.RuntimeData) (bool, error) {
	r := RunFrom(ctx)
	if r == nil || r.Host == nil {
		return false, fmt.Errorf("mailboxexists: %w", errNoRun)
	}
	for _, name := range t.Names {
		name = expand(d, name)
		// RFC 5490 §3.1: a name that is not valid UTF-8 names no mailbox.
		if !utf8.ValidString(name) {
			return false, nil
		}
		ok, err := r.Host.MailboxExists(ctx, name)
		if err != nil {
			return false, fmt.Errorf("mailboxexists %q: %w", name, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
