package sieveext

import (
	"context"
	"fmt"
	"io/fs"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/foxcpp/go-sieve"
	"github.com/foxcpp/go-sieve/interp"
)

func compile(text string) (*interp.Script, error) {
	return sieve.Load(strings.NewReader(text), sieve.DefaultOptions())
}

func mustCompile(t *testing.T, text string) *interp.Script {
	t.Helper()
	s, err := compile(text)
	if err != nil {
		t.Fatalf("compile %q: %v", text, err)
	}
	return s
}

// header builds a message header from "Name: value" lines, in order.
func header(lines ...string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		h.Add(k, strings.TrimSpace(v))
	}
	return h
}

// execute runs s on a message with hdr and envelope from/to, with r in the
// context; it returns the runtime data for inspection.
func execute(t *testing.T, s *interp.Script, r *Run, hdr textproto.MIMEHeader) (*interp.RuntimeData, error) {
	t.Helper()
	d := sieve.NewRuntimeData(s, interp.DummyPolicy{},
		interp.EnvelopeStatic{From: "sender+list@example.org", To: "me+box@example.com"},
		interp.MessageStatic{Header: hdr})
	if r == nil {
		r = &Run{}
	}
	return d, s.Execute(WithRun(context.Background(), r), d)
}

// fired reports whether the script ran "keep" explicitly: the tests use
// `if <test> { keep; }` and check for an explicit keep action.
func fired(d *interp.RuntimeData) bool {
	for _, a := range d.AppliedActions {
		if k, ok := a.(interp.ActionKeep); ok && !k.Implicit {
			return true
		}
	}
	return false
}

// mapLoader serves include scripts from a map of name -> text; global
// scripts are looked up as "global/" + name.
func mapLoader(scripts map[string]string) Loader {
	return func(_ context.Context, name string, global bool) (*interp.Script, error) {
		key := name
		if global {
			key = "global/" + name
		}
		text, ok := scripts[key]
		if !ok {
			return nil, fmt.Errorf("load %s: %w", key, fs.ErrNotExist)
		}
		return compile(text)
	}
}

func fixedNow(s string) func() time.Time {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return tm }
}
