package sieveext

import (
	"context"
	"fmt"
	"strings"

	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/parser"
)

// duplicateDefaultSeconds is the period when :seconds is absent; RFC 7352
// §3.4 leaves it to the implementation and this is Pigeonhole's
// (sieve_duplicate_default_period).
const duplicateDefaultSeconds = 12 * 3600

// DuplicateTest is the duplicate test (RFC 7352). It is true when the Host
// has seen the ID under the handle; it records a Duplicate for the caller to
// remember after delivery, unless the ID was seen and :last is absent (the
// first sighting's period then runs on, RFC 7352 §3.3).
type DuplicateTest struct {
	Handle   string
	Header   string // field whose first value is the ID; default Message-ID
	UniqueID string
	HasID    bool
	Seconds  int
	Last     bool
}

func loadDuplicate(s *interp.Script, t parser.Test) (interp.Test, error) {
	if !s.RequiresExtension("duplicate") {
		return nil, parser.ErrorAt(t.Position, "missing require 'duplicate'")
	}
	loaded := DuplicateTest{Header: "message-id", Seconds: duplicateDefaultSeconds}
	sources := 0
	err := interp.LoadSpec(s, &interp.Spec{
		Tags: map[string]interp.SpecTag{
			"handle": {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) { loaded.Handle = v[0] }},
			"header": {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) {
				loaded.Header = v[0]
				sources++
			}},
			"uniqueid": {NeedsValue: true, MinStrCount: 1, MaxStrCount: 1, MatchStr: func(v []string) {
				loaded.UniqueID, loaded.HasID = v[0], true
				sources++
			}},
			"seconds": {NeedsValue: true, MatchNum: func(v int) { loaded.Seconds = v }},
			"last":    {MatchBool: func() { loaded.Last = true }},
		},
	}, t.Position, t.Args, t.Tests, nil)
	if err != nil {
		return nil, err
	}
	// RFC 7352 §3.1: :header and :uniqueid are alternatives.
	if sources > 1 {
		return nil, parser.ErrorAt(t.Position, "duplicate: :header and :uniqueid are mutually exclusive")
	}
	return loaded, nil
}

func (t DuplicateTest) Check(ctx context.Context, d *interp.RuntimeData) (bool, error) {
	r := RunFrom(ctx)
	if r == nil || r.Host == nil {
		return false, fmt.Errorf("duplicate: %w", errNoRun)
	}
	var id string
	if t.HasID {
		id = expand(d, t.UniqueID)
	} else {
		values, err := d.Msg.HeaderGet(expand(d, t.Header))
		if err != nil {
			return false, err
		}
		if len(values) == 0 {
			return false, nil // no ID: never a duplicate, nothing to remember
		}
		id = strings.TrimSpace(values[0])
	}
	handle := expand(d, t.Handle)
	seen, err := r.Host.DuplicateSeen(ctx, handle, id)
	if err != nil {
		return false, fmt.Errorf("duplicate: %w", err)
	}
	if !seen || t.Last {
		r.Duplicates = append(r.Duplicates, Duplicate{Handle: handle, ID: id, Seconds: t.Seconds})
	}
	return seen, nil
}
