package lmtp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"letterbox/config"
	"letterbox/deliver"
	"letterbox/internal/status"
)

func TestReply(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		ec   smtp.EnhancedCode
	}{
		{nil, 0, smtp.EnhancedCode{}},
		{status.Temp("4.2.0", errors.New("lock busy")), 451, smtp.EnhancedCode{4, 2, 0}},
		{status.Temp("4.3.0", errors.New("ldap")), 451, smtp.EnhancedCode{4, 3, 0}},
		{status.Temp("4.3.1", errors.New("ENOSPC")), 452, smtp.EnhancedCode{4, 3, 1}},
		{status.Temp("4.2.2", errors.New("quota")), 452, smtp.EnhancedCode{4, 2, 2}},
		{status.Perm("5.2.2", status.CantCreat, errors.New("quota")), 552, smtp.EnhancedCode{5, 2, 2}},
		{status.Perm("5.4.6", status.DataErr, errors.New("loop")), 550, smtp.EnhancedCode{5, 4, 6}},
		{status.Perm("5.1.1", status.NoUser, errors.New("who")), 550, smtp.EnhancedCode{5, 1, 1}},
		{status.Perm("5.7.1", status.NoPerm, errors.New("rejected")), 550, smtp.EnhancedCode{5, 7, 1}},
		{status.Perm("5.1.3", status.DataErr, errors.New("bad")), 553, smtp.EnhancedCode{5, 1, 3}},
		{status.Perm("5.3.0", status.Usage, errors.New("our bug")), 451, smtp.EnhancedCode{4, 3, 0}},
		{fmt.Errorf("wrapped: %w", smtp.ErrDataTooLarge), 552, smtp.EnhancedCode{5, 3, 4}},
		{status.Temp("4.3.0", fmt.Errorf("read: %w", smtp.ErrDataTooLarge)), 552, smtp.EnhancedCode{5, 3, 4}},
		{errors.New("plain"), 451, smtp.EnhancedCode{4, 3, 0}},
	} {
		got := Reply(tc.err)
		switch {
		case tc.code == 0 && got != nil:
			t.Errorf("Reply(nil) = %v", got)
		case tc.code != 0 && (got == nil || got.Code != tc.code || got.EnhancedCode != tc.ec):
			t.Errorf("Reply(%v) = %v, want %d %v", tc.err, got, tc.code, tc.ec)
		}
	}
	if got := Reply(status.Temp("4.2.0", errors.New("a\r\nb"+strings.Repeat("x", 1000)))); strings.ContainsAny(got.Message, "\r\n") || len(got.Message) > maxText {
		t.Errorf("reply text %q", got.Message)
	}
}

func TestParseRecipient(t *testing.T) {
	for _, tc := range []struct {
		in                       string
		local, user, ext, domain string
		bad                      bool
	}{
		{in: "alice@Example.NET", local: "alice", user: "alice", domain: "example.net"},
		{in: "alice+lists.go@x", local: "alice+lists.go", user: "alice", ext: "lists.go", domain: "x"},
		{in: "alice", local: "alice", user: "alice"},
		{in: "\"a b\"@x", local: "\"a b\"", user: "\"a b\"", domain: "x"},
		{in: "+ext@x", bad: true},
		{in: "@x", bad: true},
		{in: "a@", bad: true},
		{in: "-a@x", bad: true},
		{in: ".a@x", bad: true},
		{in: "a..b@x", bad: true},
		{in: "a/b@x", bad: true},
		{in: "a@x/y", bad: true},
		{in: "a@.x", bad: true},
		{in: "a\x00@x", bad: true},
		{in: "a\r@x", bad: true},
		{in: "a\x7f@x", bad: true},
		{in: "\xc3\xa9@x", bad: true},
		{in: strings.Repeat("a", 256) + "@x", bad: true},
	} {
		a, err := ParseRecipient(tc.in)
		var se *status.Error
		switch {
		case tc.bad && (!errors.As(err, &se) || se.DSN != "5.1.3"):
			t.Errorf("%q: %v, want 5.1.3", tc.in, err)
		case !tc.bad && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case !tc.bad && (a.Local != tc.local || a.User != tc.user || a.Ext != tc.ext || a.Domain != tc.domain):
			t.Errorf("%q: %+v", tc.in, a)
		}
	}
	if _, err := Expand("/m/{domain}/{user}", Address{Addr: "a", Local: "a", User: "a"}); err == nil {
		t.Error("Expand filled {domain} without a domain")
	}
	if got, _ := Expand("/m/{domain}/{user}/{local}", Address{Local: "a+b", User: "a", Domain: "d"}); got != "/m/d/a/a+b" {
		t.Errorf("Expand = %q", got)
	}
}

// The child's exit status and first stderr line make the outcome.
func TestChildArgs(t *testing.T) {
	got := strings.Join(childArgs("/etc/lb.toml", "alice", "", "a@x", "a@x", "lists"), " ")
	if want := "deliver -c /etc/lb.toml -d alice -f  -a a@x -r a@x -m lists"; got != want {
		t.Errorf("args %q, want %q", got, want)
	}
}

func TestRunChild(t *testing.T) {
	m, err := deliver.ReadMessage(strings.NewReader("Subject: c\r\n\r\nbody\r\n"), t.TempDir(), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, tc := range []struct {
		name, script string
		dsn          string // "" = success
		code         int
	}{
		{"ok", "cat >/dev/null; exit 0", "", 0},
		{"busy", "cat >/dev/null; echo '4.2.0 /var/mail/a.lock: lock busy' >&2; echo 'warning: more' >&2; exit 75", "4.2.0", 75},
		{"unknown", "echo '5.1.1 unknown user \"x\"' >&2; exit 67", "5.1.1", 67},
		{"no status line", "echo 'panic' >&2; exit 2", "4.3.0", 75},
		{"killed", "kill -9 $$", "4.3.0", 75},
		{"message read", "grep -q '^body$' || { echo '4.9.9 no body' >&2; exit 75; }", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "letterbox")
			if err := os.WriteFile(exe, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			err := runChild(context.Background(), exe, []string{"deliver"}, m)
			var se *status.Error
			switch {
			case tc.dsn == "" && err != nil:
				t.Fatalf("got %v", err)
			case tc.dsn != "" && (!errors.As(err, &se) || se.DSN != tc.dsn || se.Code != tc.code):
				t.Fatalf("got %v, want %s %d", err, tc.dsn, tc.code)
			}
		})
	}
}
