package sieveext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// CmdVacation is the vacation action (RFC 5230) with the :seconds tag of
// RFC 6131. Executing it records a Vacation in the Run; it does not cancel
// the implicit keep (RFC 5230 §4.7).
type CmdVacation struct {
	Reason    string
	Subject   string
	From      string
	Addresses []string
	Handle    string
	HasHandle bool
	Mime      bool
	// Seconds is the interval as written (:days converted); -1 means neither
	// tag was given and the RFC 5230 §4.1 default of 7 days applies.
	Seconds int
}

const vacationDefaultSeconds = 7 * 86400 // RFC 5230 §4.1

var errNoRun = errors.New("sieveext: no Run in context (use sieveext.WithRun)")

func loadVacation(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
	// RFC 6131 §2: vacation-seconds extends vacation; requiring either makes
	// the command available.
	if !s.RequiresExtension("vacation") && !s.RequiresExtension("vacation-seconds") {
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'vacation'")
	}
	cmd := &CmdVacation{Seconds: -1}
	var days, seconds, periods int
	var haveDays, haveSeconds bool
	err := interp.LoadSpec(s, &interp.Spec{
		Tags: map[string]interp.SpecTag{
			"days": {NeedsValue: true, MatchNum: func(v int) { days, haveDays = v, true; periods++ }},
			"seconds": {NeedsValue: true, MatchNum: func(v int) {
				seconds, haveSeconds = v, true
				periods++
			}},
			"subject":   {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) { cmd.Subject = v[0] }},
			"from":      {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) { cmd.From = v[0] }},
			"addresses": {NeedsValue: true, MatchStr: func(v []string) { cmd.Addresses = v }},
			"handle": {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) {
				cmd.Handle, cmd.HasHandle = v[0], true
			}},
			"mime": {MatchBool: func() { cmd.Mime = true }},
		},
		Pos: []interp.SpecPosArg{{MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) { cmd.Reason = v[0] }}},
	}, pcmd.Position, pcmd.Args, pcmd.Tests, pcmd.Block)
	if err != nil {
		return nil, err
	}
	switch {
	case periods > 1:
		// RFC 6131 §2: :days and :seconds are alternatives.
		return nil, parser.ErrorAt(pcmd.Position, "vacation: :days and :seconds are mutually exclusive")
	case haveSeconds && !s.RequiresExtension("vacation-seconds"):
		return nil, parser.ErrorAt(pcmd.Position, "missing require 'vacation-seconds'")
	case haveSeconds:
		cmd.Seconds = seconds
	case haveDays:
		// RFC 5230 §4.1: :days 0 is not allowed; sites impose a minimum of 1.
		if days < 1 {
			days = 1
		}
		cmd.Seconds = days * 86400
	}
	// RFC 5230 §4.4: a :from that is not a valid address is an error; we can
	// tell only for a constant one.
	if cmd.From != "" && !hasVars(s, cmd.From) {
		if _, err := mail.ParseAddress(cmd.From); err != nil {
			return nil, parser.ErrorAt(pcmd.Position, "vacation: invalid :from address %q: %v", cmd.From, err)
		}
	}
	return cmd, nil
}

// Execute records the vacation in the Run carried by ctx.
func (c *CmdVacation) Execute(ctx context.Context, d *interp.RuntimeData) error {
	r := RunFrom(ctx)
	if r == nil {
		return errNoRun
	}
	// RFC 5230 §4.7: a second vacation in one execution is an error.
	if len(r.Vacations) > 0 {
		return fmt.Errorf("vacation: executed more than once")
	}
	// RFC 5230 §4.7 and RFC 5429 §2.1: vacation and reject are incompatible.
	for _, a := range d.AppliedActions {
		switch a.(type) {
		case interp.ActionReject, interp.ActionEReject:
			return fmt.Errorf("vacation: incompatible with reject")
		}
	}
	v := Vacation{
		Reason:    expand(d, c.Reason),
		Subject:   expand(d, c.Subject),
		From:      expand(d, c.From),
		Addresses: expandList(d, c.Addresses),
		Mime:      c.Mime,
		Seconds:   c.Seconds,
	}
	if v.Seconds < 0 {
		v.Seconds = vacationDefaultSeconds
	}
	if c.HasHandle {
		v.Handle = expand(d, c.Handle)
	} else {
		v.Handle = vacationHandle(v)
	}
	r.Vacations = append(r.Vacations, v)
	return nil
}

// vacationHandle derives the handle RFC 5230 §4.2 recommends when :handle is
// absent: the same reason, subject, from and mime give the same handle, so a
// changed message starts a new reply interval.
func vacationHandle(v Vacation) string {
	h := sha256.New()
	for _, part := range []string{v.Reason, v.Subject, v.From, fmt.Sprint(v.Mime)} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CmdRejectChecked is the library's reject or ereject, refusing to run after
// a vacation (RFC 5230 §4.7; the other order is checked by CmdVacation).
type CmdRejectChecked struct {
	Cmd interp.Cmd
}

func wrapReject(orig cmdFactory) cmdFactory {
	return func(s *interp.Script, pcmd parser.Cmd) (interp.Cmd, error) {
		inner, err := orig(s, pcmd)
		if err != nil {
			return nil, err
		}
		return CmdRejectChecked{inner}, nil
	}
}

func (c CmdRejectChecked) Execute(ctx context.Context, d *interp.RuntimeData) error {
	if r := RunFrom(ctx); r != nil && len(r.Vacations) > 0 {
		return fmt.Errorf("reject: incompatible with vacation")
	}
	return c.Cmd.Execute(ctx, d)
}
