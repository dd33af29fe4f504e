package sieve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/foxcpp/go-sieve/interp"

	"letterbox/sieveext"
)

// RuntimeError is a script that failed while it ran. The caller ignores
// the Result it comes with and keeps the message (RFC 5228 §2.10.6).
type RuntimeError struct {
	Script    string // Script.Name
	Line, Col int    // 0 when go-sieve does not say
	Err       error
}

func (e *RuntimeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: run-time error: %v", e.Script, e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("%s: run-time error: %v", e.Script, e.Err)
}

func (e *RuntimeError) Unwrap() error { return e.Err }

// environment returns the RFC 5183 items scripts see: o.Environment over
// the defaults location "MDA", name "letterbox", phase "during".
func (o Options) environment() interp.MapEnv {
	env := interp.MapEnv{"location": "MDA", "name": "letterbox", "phase": "during"}
	for k, v := range o.Environment {
		env[strings.ToLower(k)] = v
	}
	return env
}

// allowAll lets every redirect through: who may be redirected to is the
// caller's to check when it sends.
type allowAll struct{}

func (allowAll) RedirectAllowed(context.Context, *interp.RuntimeData, string) (bool, error) {
	return true, nil
}

// Run runs scripts on m in order, the way Pigeonhole runs sieve_before,
// the user's script and sieve_after (its sieve_multiscript_run): the
// scripts form a sequence in which the next script runs only when the one
// before ended with a keep, the implicit keep still in effect or an
// explicit keep executed. A script that cancels the keep (fileinto,
// redirect, discard, reject without :copy, and no keep) ends the
// sequence. The actions of every script that ran are collected in order;
// each script starts with the implicit keep in effect and its own
// variables, but the internal flags variable of imap4flags (RFC 5232 §3)
// carries from one script to the next, as Pigeonhole keeps it in the
// shared result, and so does the count of redirects that MaxRedirects
// bounds. The implicit keep of the last script that ran is
// Result.ImplicitKeep, with the flags variable as it left it.
//
// Duplicate actions are merged as RFC 5228 §2.10.3 asks: a mailbox filed
// into twice, or INBOX kept and filed into (INBOX in any case, RFC 3501
// §5.1), is stored once, with the union of the flags and :copy only if
// every one had it; the implicit keep merges into an explicit keep or
// fileinto INBOX the same way (Result.ImplicitKeep is then false, and
// that fileinto loses :copy, as it now stands for the keep); a
// redirect to the same address twice is sent once.
//
// On a run-time error, or when ctx ends, Run returns what the scripts
// asked for so far and a *RuntimeError; the caller keeps the message.
func Run(ctx context.Context, scripts []*Script, m *Message, env Envelope, host sieveext.Host, load sieveext.Loader, o Options) (Result, error) {
	if load == nil {
		load = DirLoader(o)
	}
	run := &sieveext.Run{Host: host, Load: load, Creates: map[string]bool{}}
	ctx = sieveext.WithRun(ctx, run)
	environment := o.environment()

	var (
		acts      []interp.AppliedAction
		flags     []string
		redirects []string
		implicit  = true
		res       Result
	)
	for _, s := range scripts {
		if err := ctx.Err(); err != nil {
			return build(acts, false, nil, run), &RuntimeError{Script: s.Name, Err: err}
		}
		d := interp.NewRuntimeData(s.s, allowAll{}, env, m)
		d.Env = environment
		d.Flags = slices.Clone(flags)
		// go-sieve counts a script's redirects in RedirectAddr against
		// MaxRedirects; starting it with the earlier scripts' makes the
		// bound one for the whole delivery, as Pigeonhole's is.
		d.RedirectAddr = slices.Clone(redirects)
		err := execute(ctx, s.s, d)
		var own []interp.AppliedAction
		for _, a := range d.AppliedActions {
			if k, ok := a.(interp.ActionKeep); ok && k.Implicit {
				// Run decides the implicit keep itself: go-sieve
				// leaves it out after "stop".
				continue
			}
			own = append(own, a)
		}
		acts = append(acts, own...)
		if err != nil {
			re := &RuntimeError{Script: s.Name, Err: err}
			if mt := posRE().FindStringSubmatch(err.Error()); mt != nil {
				re.Line, _ = strconv.Atoi(mt[1])
				re.Col, _ = strconv.Atoi(mt[2])
			}
			return build(acts, false, nil, run), re
		}
		flags = d.Flags
		redirects = d.RedirectAddr
		implicit = true
		explicit := false
		for _, a := range own {
			if cancelsImplicitKeep(a) {
				implicit = false
			}
			if _, ok := a.(interp.ActionKeep); ok {
				explicit = true
			}
		}
		if !implicit && !explicit {
			break
		}
	}
	res = build(acts, implicit, flags, run)
	if err := rejectConflict(res); err != nil {
		return res, &RuntimeError{Script: scripts[len(scripts)-1].Name, Err: err}
	}
	return res, nil
}

// rejectConflict refuses a reject or ereject combined with an action that
// delivers or answers the message: RFC 5429 §2.1 makes them incompatible
// with keep, fileinto, redirect (with :copy too) and vacation, and
// Pigeonhole fails such a run. discard goes with it.
func rejectConflict(res Result) error {
	var reject, other bool
	for _, a := range res.Actions {
		switch a.(type) {
		case Reject:
			reject = true
		case Keep, FileInto, Redirect, Vacation:
			other = true
		}
	}
	if reject && other {
		return errors.New("reject cannot be combined with keep, fileinto, redirect or vacation (RFC 5429 §2.1)")
	}
	return nil
}

// execute runs one script. A panic in the interpreter is the script's
// failure, not the delivery's: go-sieve panics on some inputs (a
// variable in an unknown namespace such as "${foo.bar}"), and a user's
// script must never take the delivery down — the message is kept.
func execute(ctx context.Context, s *interp.Script, d *interp.RuntimeData) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("interpreter failed: %v", p)
		}
	}()
	return s.Execute(ctx, d)
}

// cancelsImplicitKeep is go-sieve's unexported rule (RFC 5228 §2.10.2,
// RFC 3894 for :copy): every action but fileinto and redirect with :copy.
// Actions of extensions that go-sieve does not know (vacation is recorded
// in the Run, not here) cancel nothing.
func cancelsImplicitKeep(a interp.AppliedAction) bool {
	switch a := a.(type) {
	case interp.ActionKeep, interp.ActionDiscard, interp.ActionReject, interp.ActionEReject:
		return true
	case interp.ActionFileInto:
		return !a.Copy
	case interp.ActionRedirect:
		return !a.Copy
	}
	return false
}

// build turns the collected actions into a Result, merging duplicates.
func build(acts []interp.AppliedAction, implicit bool, flags []string, run *sieveext.Run) Result {
	var res Result
	// stores maps a mailbox (INBOX folded) to the index of its action.
	stores := map[string]int{}
	sent := map[string]int{}
	for _, a := range acts {
		switch a := a.(type) {
		case interp.ActionKeep:
			if i, ok := stores["INBOX"]; ok {
				res.Actions[i] = mergeStore(res.Actions[i], a.Flags, false)
				continue
			}
			stores["INBOX"] = len(res.Actions)
			res.Actions = append(res.Actions, Keep{Flags: slices.Clone(a.Flags)})
		case interp.ActionFileInto:
			key := mailboxKey(a.Mailbox)
			if i, ok := stores[key]; ok {
				res.Actions[i] = mergeStore(res.Actions[i], a.Flags, a.Copy)
				continue
			}
			stores[key] = len(res.Actions)
			res.Actions = append(res.Actions, FileInto{
				Mailbox: a.Mailbox,
				Flags:   slices.Clone(a.Flags),
				Copy:    a.Copy,
				Create:  run.Creates[a.Mailbox],
			})
		case interp.ActionDiscard:
			res.Actions = append(res.Actions, Discard{})
		case interp.ActionRedirect:
			if i, ok := sent[a.Address]; ok {
				r := res.Actions[i].(Redirect)
				r.Copy = r.Copy && a.Copy
				res.Actions[i] = r
				continue
			}
			sent[a.Address] = len(res.Actions)
			res.Actions = append(res.Actions, Redirect{Address: a.Address, Copy: a.Copy})
		case interp.ActionReject:
			res.Actions = append(res.Actions, Reject{Reason: a.Reason})
		case interp.ActionEReject:
			res.Actions = append(res.Actions, Reject{Reason: a.Reason, Extended: true})
		}
	}
	for _, v := range run.Vacations {
		res.Actions = append(res.Actions, Vacation{
			Reason: v.Reason, Subject: v.Subject, From: v.From,
			Addresses: slices.Clone(v.Addresses), Handle: v.Handle,
			Seconds: v.Seconds, Mime: v.Mime,
		})
	}
	for _, d := range run.Duplicates {
		res.Duplicates = append(res.Duplicates, Duplicate{Handle: d.Handle, ID: d.ID, Seconds: d.Seconds})
	}
	if implicit {
		if i, ok := stores["INBOX"]; ok {
			// The implicit keep stores into INBOX, which an action
			// already does: one copy (RFC 5228 §2.10.3), and that
			// store now stands for the keep, so it is no :copy.
			res.Actions[i] = mergeStore(res.Actions[i], flags, false)
		} else {
			res.ImplicitKeep = true
			res.KeepFlags = slices.Clone(flags)
		}
	}
	return res
}

// mailboxKey folds INBOX, which is case-insensitive (RFC 3501 §5.1);
// other names are compared as written.
func mailboxKey(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// mergeStore merges a second store into the same mailbox into a.
func mergeStore(a Action, flags []string, cp bool) Action {
	switch a := a.(type) {
	case Keep:
		a.Flags = unionFlags(a.Flags, flags)
		return a
	case FileInto:
		a.Flags = unionFlags(a.Flags, flags)
		a.Copy = a.Copy && cp
		return a
	}
	return a
}

// unionFlags returns a's flags and then b's not in a (IMAP flags are
// case-insensitive, RFC 3501 §2.3.2).
func unionFlags(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range slices.Concat(a, b) {
		k := strings.ToLower(f)
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}
