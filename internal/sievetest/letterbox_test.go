package sievetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"letterbox/sieve"
)

// caseHost is the mail store of a case: INBOX and the case's mailboxes
// exist, and no message was seen before (sieve-test, not executing its
// result, records no duplicate either).
type caseHost struct{ mailboxes []string }

func (h caseHost) MailboxExists(_ context.Context, name string) (bool, error) {
	return strings.EqualFold(name, "INBOX") || slices.Contains(h.mailboxes, name), nil
}

func (caseHost) DuplicateSeen(context.Context, string, string) (bool, error) { return false, nil }

// runLetterbox runs c through letterbox's Sieve, in process as delivery
// runs it (sieve.Compile, sieve.Run), and returns the text sieve.Dump
// prints for the result: "compile error" for a script that does not
// compile, "error" and "implicit keep" for a run-time error (the caller
// keeps the message, RFC 5228 §2.10.6).
func runLetterbox(t *testing.T, c *diffCase) (string, error) {
	dir := t.TempDir()
	o := sieve.Options{
		PersonalDir: filepath.Join(dir, "personal"),
		GlobalDir:   filepath.Join(dir, "global"),
	}
	// sieve-test's configuration enables vacation-seconds the same way.
	if sieve.Supported("vacation-seconds") {
		o.Extensions = []string{"vacation-seconds"}
	}
	for sub, scripts := range map[string]map[string][]byte{"personal": c.personal, "global": c.global} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
		for name, b := range scripts {
			if err := os.WriteFile(filepath.Join(dir, sub, name+".sieve"), b, 0o644); err != nil {
				return "", err
			}
		}
	}
	s, err := sieve.Compile("script.sieve", bytes.NewReader(c.script), o)
	if err != nil {
		var ce *sieve.CompileError
		if errors.As(err, &ce) {
			t.Logf("letterbox: %v", err)
			return "compile error\n", nil
		}
		return "", err
	}
	open := func() io.Reader { return bytes.NewReader(c.message) }
	m, err := sieve.NewMessage(open, int64(len(c.message)), 0)
	if err != nil {
		return "", err
	}
	env := sieve.Envelope{From: c.from, To: c.to, OrigTo: c.orig}
	res, err := sieve.Run(context.Background(), []*sieve.Script{s}, m, env, caseHost{c.mailboxes}, nil, o)
	var re *sieve.RuntimeError
	if errors.As(err, &re) {
		t.Logf("letterbox: %v", err)
		return "error\nimplicit keep\n", nil
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := sieve.Dump(&b, res); err != nil {
		return "", err
	}
	return b.String(), nil
}
