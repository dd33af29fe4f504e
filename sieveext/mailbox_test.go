package sieveext

import (
	"context"
	"strings"
	"testing"

	"github.com/foxcpp/go-sieve/interp"
)

type mapHost struct {
	boxes map[string]bool
	seen  map[[2]string]bool
	asked [][2]string
}

func (h *mapHost) MailboxExists(_ context.Context, name string) (bool, error) {
	return h.boxes[name], nil
}

func (h *mapHost) DuplicateSeen(_ context.Context, handle, id string) (bool, error) {
	h.asked = append(h.asked, [2]string{handle, id})
	return h.seen[[2]string{handle, id}], nil
}

func TestFileIntoCreate(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		loadErr      string
		creates      []string
		filed        []string
	}{
		{name: "create", script: `require ["fileinto", "mailbox"]; fileinto :create "A";`, creates: []string{"A"}, filed: []string{"A"}},
		{name: "variables", script: `require ["fileinto", "mailbox", "variables"]; set "b" "Lists"; fileinto :create "${b}.go";`,
			creates: []string{"Lists.go"}, filed: []string{"Lists.go"}},
		{name: "with copy", script: `require ["fileinto", "mailbox", "copy"]; fileinto :copy :create "A";`, creates: []string{"A"}, filed: []string{"A"}},
		{name: "plain fileinto untouched", script: `require "fileinto"; fileinto "A";`, filed: []string{"A"}},
		{name: "no require", script: `require "fileinto"; fileinto :create "A";`, loadErr: "mailbox"},
		{name: "library checks kept", script: `require ["fileinto", "mailbox"]; fileinto :create;`, loadErr: "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := compile(tc.script)
			if tc.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
					t.Fatalf("compile error %v, want one containing %q", err, tc.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := &Run{}
			d, err := execute(t, s, r, header())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Creates) != len(tc.creates) {
				t.Errorf("creates %v, want %v", r.Creates, tc.creates)
			}
			for _, c := range tc.creates {
				if !r.Creates[c] {
					t.Errorf("creates %v, want %v", r.Creates, tc.creates)
				}
			}
			var filed []string
			for _, a := range d.AppliedActions {
				if f, ok := a.(interp.ActionFileInto); ok {
					filed = append(filed, f.Mailbox)
				}
			}
			if strings.Join(filed, ",") != strings.Join(tc.filed, ",") {
				t.Errorf("filed into %v, want %v", filed, tc.filed)
			}
		})
	}
}

func TestMailboxExists(t *testing.T) {
	host := &mapHost{boxes: map[string]bool{"INBOX": true, "Lists": true}}
	for _, tc := range []struct {
		names string
		want  bool
	}{
		{`"INBOX"`, true},
		{`["INBOX", "Lists"]`, true},
		{`["INBOX", "Nope"]`, false},
		{`"Nope"`, false},
		{`"${hex:ff fe}"`, false}, // not UTF-8: RFC 5490 §3.1
	} {
		s := mustCompile(t, `require ["mailbox", "encoded-character"]; if mailboxexists `+tc.names+` { keep; }`)
		d, err := execute(t, s, &Run{Host: host}, header())
		if err != nil {
			t.Fatal(err)
		}
		if fired(d) != tc.want {
			t.Errorf("mailboxexists %s = %v, want %v", tc.names, fired(d), tc.want)
		}
	}
	if _, err := compile(`if mailboxexists "INBOX" { keep; }`); err == nil {
		t.Error("mailboxexists without require compiled")
	}
	s := mustCompile(t, `require "mailbox"; if mailboxexists "INBOX" { keep; }`)
	if _, err := execute(t, s, &Run{}, header()); err == nil {
		t.Error("mailboxexists without a Host succeeded")
	}
}
