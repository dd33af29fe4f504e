package deliver

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// records keeps what is logged, level and message.
type records struct {
	slog.Handler // nil: WithAttrs and WithGroup are not called
	got          []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.got = append(r.got, rec)
	return nil
}

func TestLogResult(t *testing.T) {
	sent := Result{Sender: "a@b", Recipient: "u@example.net", OriginalRecipient: "alias@example.net", Mailbox: "/var/mail/u", Done: "delivered to mbox /var/mail/u", Size: 2048}
	for _, tc := range []struct {
		name  string
		res   Result
		err   error
		level slog.Level
		line  string // a regexp; DELAY stands for delay=
	}{
		{"sent", sent, nil, slog.LevelInfo,
			`from=<a@b>, to=<u@example.net>, orig_to=<alias@example.net>, relay=letterbox, DELAY, size=2048, dsn=2.0.0, status=sent (delivered to mbox /var/mail/u)`},
		{"orig_to the same", Result{Sender: "a@b", Recipient: "u@x", OriginalRecipient: "u@x", Done: "discarded by sieve"}, nil, slog.LevelInfo,
			`from=<a@b>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=2.0.0, status=sent (discarded by sieve)`},
		{"null sender", Result{NullSender: true, Recipient: "u@x", Done: "delivered to maildir /h/Maildir"}, nil, slog.LevelInfo,
			`from=<>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=2.0.0, status=sent (delivered to maildir /h/Maildir)`},
		{"deferred", Result{Sender: "a@b", Recipient: "u@x"}, status.Temp("4.2.0", errors.New("/var/mail/u: lock busy")), slog.LevelWarn,
			`from=<a@b>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=4.2.0, status=deferred (/var/mail/u: lock busy)`},
		{"bounced", Result{Sender: "a@b", Recipient: "u@x"}, status.Perm("5.4.6", status.DataErr, errors.New("mail forwarding loop for u@x")), slog.LevelError,
			`from=<a@b>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=5.4.6, status=bounced (mail forwarding loop for u@x)`},
		{"unknown user, sender unknown", Result{Recipient: "x@host"}, status.Perm("5.1.1", status.NoUser, errors.New(`unknown user "x"`)), slog.LevelError,
			`to=<x@host>, relay=letterbox, DELAY, size=0, dsn=5.1.1, status=bounced (unknown user "x")`},
		{"unforeseen error", Result{Recipient: "u@x"}, errors.New("boom"), slog.LevelError,
			`to=<u@x>, relay=letterbox, DELAY, size=0, dsn=4.3.0, status=deferred (boom)`},
		{"rejected by sieve", Result{Sender: "a@b", Recipient: "u@x", Done: "rejected by sieve"}, status.Perm("5.7.1", status.NoPerm, errors.New("go away")), slog.LevelError,
			`from=<a@b>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=5.7.1, status=bounced (rejected by sieve; go away)`},
		{"half done", Result{Sender: "a@b", Recipient: "u@x", Done: "redirected to <f@g>", Size: 0}, status.Temp("4.2.0", errors.New("/h/Maildir/.B: link: EIO")), slog.LevelWarn,
			`from=<a@b>, to=<u@x>, relay=letterbox, DELAY, size=0, dsn=4.2.0, status=deferred (redirected to <f@g>; /h/Maildir/.B: link: EIO)`},
		{"control characters", Result{Sender: "a\x1b[2J@b", Recipient: "u\r\nforged: x@y"}, status.Perm("5.1.3", status.DataErr, errors.New("recipient: control character")), slog.LevelError,
			`from=<a?[2J@b>, to=<u  forged: x@y>, relay=letterbox, DELAY, size=0, dsn=5.1.3, status=bounced (recipient: control character)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &records{}
			LogResult(slog.New(h), tc.res, tc.err, time.Now().Add(-1500*time.Millisecond))
			if len(h.got) != 1 {
				t.Fatalf("%d records, want 1", len(h.got))
			}
			r := h.got[0]
			want := "^" + strings.Replace(regexp.QuoteMeta(tc.line), "DELAY", `delay=1\.5\d\d`, 1) + "$"
			if !regexp.MustCompile(want).MatchString(r.Message) || r.NumAttrs() != 0 {
				t.Errorf("line %q (%d attributes), want %s", r.Message, r.NumAttrs(), want)
			}
			if r.Level != tc.level {
				t.Errorf("level %v, want %v", r.Level, tc.level)
			}
		})
	}
}

// TestResultDone checks the words of real deliveries, as LogResult puts
// them in parentheses.
func TestResultDone(t *testing.T) {
	deliver := func(t *testing.T, r Request) Result {
		t.Helper()
		res, err := Deliver(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("mbox", func(t *testing.T) {
		r, mb := request(t, sys.Real{}, "Subject: x\n\nx\n")
		if got := deliver(t, r).Done; got != "delivered to mbox "+mb {
			t.Errorf("Done %q", got)
		}
	})
	t.Run("maildir", func(t *testing.T) {
		s := newSieveSetup(t, "")
		r := s.request(t, sys.Real{}, plainMsg, "a@b", true)
		if got, want := deliver(t, r).Done, "delivered to maildir "+filepath.Join(s.home, "Maildir"); got != want {
			t.Errorf("Done %q, want %q", got, want)
		}
	})
	for _, tc := range []struct {
		name, script, want string
	}{
		{"fileinto and redirect", `require ["fileinto", "copy"]; fileinto :copy "Lists/go"; redirect "fwd@example.net";`,
			"delivered to maildir HOME/Maildir/.Lists.go, redirected to <fwd@example.net>"},
		{"discard", `discard;`, "discarded by sieve"},
		{"mbox folder", `require "fileinto"; fileinto "A";`, "delivered to mbox HOME/mail/A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSieveSetup(t, tc.script)
			r := s.request(t, sys.Real{}, plainMsg, "a@b", !strings.Contains(tc.name, "mbox"))
			r.Config.CreateFolders = true
			if got, want := deliver(t, r).Done, strings.ReplaceAll(tc.want, "HOME", s.home); got != want {
				t.Errorf("Done %q, want %q\nlog: %s", got, want, s.log.String())
			}
		})
	}
	t.Run("reject", func(t *testing.T) {
		s := newSieveSetup(t, `require "reject"; reject "no";`)
		res, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "a@b", true))
		if err == nil || res.Done != "rejected by sieve" {
			t.Errorf("Done %q, err %v", res.Done, err)
		}
	})
	t.Run("retry", func(t *testing.T) {
		s := newSieveSetup(t, `require "fileinto"; fileinto "A"; fileinto "B";`)
		f := faulty.New(sys.Real{})
		f.Add(&faulty.Rule{Op: faulty.Link, Match: func(c faulty.Call) bool { return strings.Contains(c.Path, "/.B/") }, Err: unix.EIO})
		res, err := Deliver(context.Background(), s.request(t, f, plainMsg, "a@b", true))
		if want := "delivered to maildir " + filepath.Join(s.home, "Maildir", ".A"); err == nil || res.Done != want {
			t.Fatalf("failed try: Done %q, err %v; want %q and an error", res.Done, err, want)
		}
		res = deliver(t, s.request(t, sys.Real{}, plainMsg, "a@b", true))
		if want := "delivered to folder A on an earlier try, delivered to maildir " + filepath.Join(s.home, "Maildir", ".B"); res.Done != want {
			t.Errorf("retry: Done %q, want %q", res.Done, want)
		}
	})
}

func TestUnresolved(t *testing.T) {
	str := func(s string) *string { return &s }
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	user := func() (string, error) { return "x", nil }
	host := func() (string, error) { return "host.example", nil }
	for _, tc := range []struct {
		name string
		src  Sources
		want Result
	}{
		{"flags", Sources{Sender: str("a@b"), OriginalRecipient: str("o@p"), Recipient: str("<r@s>"), User: user, Hostname: host},
			Result{Sender: "a@b", OriginalRecipient: "o@p", Recipient: "r@s"}},
		{"null sender flag", Sources{Sender: str(""), User: user, Hostname: host},
			Result{NullSender: true, Recipient: "x@host.example"}},
		{"environment", Sources{LookupEnv: env(map[string]string{"SENDER": "e@f", "RECIPIENT": "g@h"}), User: user, Hostname: host},
			Result{Sender: "e@f", Recipient: "g@h"}},
		// Without -f or $SENDER the message would have told: unknown, not <>.
		{"no sender", Sources{User: user, Hostname: host, HasFrom: true, FromSender: "ignored@x"},
			Result{Recipient: "x@host.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unresolved(tc.src); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
