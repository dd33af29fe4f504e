package sieve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

const testMsg = "From: Alice <alice@example.org>\n" +
	"To: bob@example.net\n" +
	"Subject: =?ISO-8859-1?Q?caf=E9?= au lait\n" +
	"X-Folded: one\n two\n" +
	"\n" +
	"hello body\n"

// msg returns a Message of s read from memory.
func msg(t testing.TB, s string) *Message {
	t.Helper()
	m, err := NewMessage(func() io.Reader { return strings.NewReader(s) }, int64(len(s)), 0)
	if err != nil {
		t.Fatalf("NewMessage: %v", err)
	}
	return m
}

func compileAll(t testing.TB, srcs ...string) []*Script {
	t.Helper()
	var out []*Script
	for i, src := range srcs {
		s, err := Compile(string(rune('a'+i))+".sieve", strings.NewReader(src), Options{})
		if err != nil {
			t.Fatalf("Compile %q: %v", src, err)
		}
		out = append(out, s)
	}
	return out
}

type testHost struct{}

func (testHost) MailboxExists(ctx context.Context, name string) (bool, error) {
	return name == "INBOX", nil
}
func (testHost) DuplicateSeen(ctx context.Context, handle, id string) (bool, error) {
	return false, nil
}

func dump(t testing.TB, r Result) string {
	var b bytes.Buffer
	if err := Dump(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const req = `require ["fileinto", "imap4flags", "copy", "reject", "ereject", "variables", "environment", "envelope", "body", "subaddress"];` + "\n"

func TestRun(t *testing.T) {
	env := Envelope{From: "alice@example.org", To: "bob+lists@example.net"}
	for _, tc := range []struct {
		name    string
		scripts []string
		want    string
	}{
		{"empty", []string{""}, "implicit keep\n"},
		{"keep", []string{"keep;"}, "keep\n"},
		{"fileinto", []string{req + `fileinto "Lists/go";`}, "fileinto \"Lists/go\"\n"},
		{"fileinto copy", []string{req + `fileinto :copy "A";`}, "fileinto \"A\" copy\nimplicit keep\n"},
		{"flags", []string{req + `addflag "\\Seen"; addflag "\\Flagged"; fileinto :flags "\\Answered" "A";`},
			"fileinto \"A\" flags=\\Answered\n"},
		{"implicit flags", []string{req + `setflag "\\Seen";`}, "implicit keep flags=\\Seen\n"},
		{"keep flags", []string{req + `addflag "\\Seen"; keep;`}, "keep flags=\\Seen\n"},
		{"discard", []string{"discard;"}, "discard\n"},
		{"redirect", []string{`redirect "carol@example.com";`}, "redirect \"carol@example.com\"\n"},
		{"redirect copy", []string{req + `redirect :copy "carol@example.com";`}, "redirect \"carol@example.com\" copy\nimplicit keep\n"},
		{"reject", []string{req + `reject "go \"away\"";`}, "reject \"go \\\"away\\\"\"\n"},
		{"ereject", []string{req + `ereject "no";`}, "ereject \"no\"\n"},
		{"stop keeps", []string{"stop; discard;"}, "implicit keep\n"},
		{"header decoded", []string{req + `if header :is "subject" "café au lait" { fileinto "Yes"; }`}, "fileinto \"Yes\"\n"},
		{"folded", []string{req + `if header :is "x-folded" "one two" { discard; }`}, "discard\n"},
		{"address", []string{req + `if address :domain "from" "example.org" { discard; }`}, "discard\n"},
		{"envelope detail", []string{req + `if envelope :detail "to" "lists" { fileinto "L"; }`}, "fileinto \"L\"\n"},
		{"body", []string{req + `if body :contains "hello" { discard; }`}, "discard\n"},
		{"environment", []string{req + `if allof(environment "name" "letterbox", environment "location" "MDA", environment "phase" "during", environment "domain" "example.net") { discard; }`}, "discard\n"},
		// RFC 5228 §2.10.3: one copy per mailbox.
		{"dedupe fileinto", []string{req + `fileinto "A"; fileinto "A";`}, "fileinto \"A\"\n"},
		{"dedupe keep inbox", []string{req + `keep; fileinto "INBOX";`}, "keep\n"},
		{"dedupe implicit", []string{req + `fileinto :copy "inbox";`}, "fileinto \"inbox\"\n"},
		{"dedupe redirect", []string{req + `redirect :copy "a@b"; redirect "a@b";`}, "redirect \"a@b\"\n"},
		// Pigeonhole's multiscript rule.
		{"multi continue", []string{req + `fileinto :copy "A";`, req + `fileinto "B";`}, "fileinto \"A\" copy\nfileinto \"B\"\n"},
		{"multi stop", []string{req + `fileinto "A";`, `discard;`}, "fileinto \"A\"\n"},
		{"multi explicit keep", []string{`keep;`, req + `fileinto "B";`}, "keep\nfileinto \"B\"\n"},
		{"multi flags carry", []string{req + `addflag "\\Seen";`, ``}, "implicit keep flags=\\Seen\n"},
		{"multi vars fresh", []string{req + `set "a" "1";`, req + `if string :is "${a}" "" { discard; }`}, "discard\n"},
		{"multi keep then implicit", []string{`keep;`, ``}, "keep\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Environment: map[string]string{"domain": "example.net"}}
			res, err := Run(context.Background(), compileAll(t, tc.scripts...), msg(t, testMsg), env, testHost{}, nil, o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := dump(t, res); got != tc.want {
				t.Errorf("got\n%swant\n%s", got, tc.want)
			}
		})
	}
}

func TestRunFlagsPerAction(t *testing.T) {
	s := compileAll(t, req+`addflag "\\Seen"; fileinto "A"; addflag "\\Flagged"; fileinto :copy "B";`)
	res, err := Run(context.Background(), s, msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "fileinto \"A\" flags=\\Seen\nfileinto \"B\" flags=\\Flagged \\Seen copy\n"
	if got := dump(t, res); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestRunMaxRedirects(t *testing.T) {
	one := `redirect :copy "a@x"; redirect :copy "b@x"; redirect :copy "c@x";`
	for _, tc := range []struct {
		scripts []string
		fail    bool
	}{
		{[]string{req + one}, false},
		{[]string{req + one + `redirect :copy "d@x";`}, false},
		{[]string{req + one + `redirect :copy "d@x"; redirect :copy "e@x";`}, true},
		// The bound is over the whole delivery, not per script.
		{[]string{req + one, req + `redirect :copy "d@x"; redirect :copy "e@x";`}, true},
	} {
		_, err := Run(context.Background(), compileAll(t, tc.scripts...), msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
		var re *RuntimeError
		if tc.fail != errors.As(err, &re) {
			t.Errorf("%q: err %v, want failure %v", tc.scripts, err, tc.fail)
		}
	}
}

func TestRunRuntimeError(t *testing.T) {
	s := compileAll(t, req+`fileinto "A";`, req+`redirect "1@x"; redirect "2@x"; redirect "3@x"; redirect "4@x"; redirect "5@x";`)
	// The first script cancels the keep: the second never runs.
	if _, err := Run(context.Background(), s, msg(t, testMsg), Envelope{}, testHost{}, nil, Options{}); err != nil {
		t.Fatalf("second script ran: %v", err)
	}
	s = compileAll(t, req+`fileinto :copy "A";`, req+`redirect "1@x"; redirect "2@x"; redirect "3@x"; redirect "4@x"; redirect "5@x";`)
	res, err := Run(context.Background(), s, msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
	var re *RuntimeError
	if !errors.As(err, &re) || re.Script != "b.sieve" {
		t.Fatalf("err %v, want a RuntimeError in b.sieve", err)
	}
	if res.ImplicitKeep || len(res.Actions) == 0 {
		t.Errorf("partial result %+v", res)
	}
}

// RFC 5429 §2.1: reject goes with discard, but with no action that
// delivers or answers the message; such a run fails, and the caller keeps.
func TestRunRejectConflict(t *testing.T) {
	for _, tc := range []struct {
		script string
		fail   bool
	}{
		{`reject "no";`, false},
		{`reject "no"; discard;`, false},
		{`reject "no"; keep;`, true},
		{`reject "no"; fileinto "A";`, true},
		{`fileinto :copy "A"; ereject "no";`, true},
		{`redirect :copy "a@b"; reject "no";`, true},
	} {
		_, err := Run(context.Background(), compileAll(t, req+tc.script), msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
		var re *RuntimeError
		if errors.As(err, &re) != tc.fail {
			t.Errorf("%s: err %v, want failure %v", tc.script, err, tc.fail)
		}
	}
}

// go-sieve panics expanding a variable of an unknown namespace; that is
// the script's run-time error, not a crash of the delivery.
func TestRunPanicIsRuntimeError(t *testing.T) {
	_, err := Run(context.Background(), compileAll(t, req+`fileinto "${foo.bar}";`), msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
	var re *RuntimeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "interpreter failed") {
		t.Fatalf("err %v, want a RuntimeError from a recovered panic", err)
	}
}

func TestRunContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, compileAll(t, "keep;"), msg(t, testMsg), Envelope{}, testHost{}, nil, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestDump(t *testing.T) {
	r := Result{
		Actions: []Action{
			Keep{Flags: []string{`\Seen`, `\Flagged`}},
			FileInto{Mailbox: `a"b\c`, Flags: []string{"x"}, Copy: true, Create: true},
			Discard{},
			Redirect{Address: "a@b", Copy: true},
			Reject{Reason: "line1\nline2"},
			Reject{Reason: "e", Extended: true},
			Vacation{Handle: "h", Seconds: 86400, From: "f@x", Subject: "s", Mime: true},
			Vacation{Reason: "only reason"},
		},
		ImplicitKeep: true,
		KeepFlags:    []string{"b", "a"},
	}
	want := `keep flags=\Flagged \Seen
fileinto "a\"b\\c" flags=x copy create
discard
redirect "a@b" copy
reject "line1\nline2"
ereject "e"
vacation handle="h" seconds=86400 from="f@x" subject="s" mime
vacation
implicit keep flags=a b
`
	if got := dump(t, r); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}
