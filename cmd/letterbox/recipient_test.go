package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"letterbox/config"
	"letterbox/internal/passwd"
	"letterbox/internal/status"
)

func TestResolveRecipient(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	users := map[string]passwd.User{
		"alice":   {Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"},
		"Bob":     {Name: "bob", UID: 1001, GID: 1001, Home: "/home/bob"}, // the database's spelling wins
		"nohome":  {Name: "nohome", UID: 1002, GID: 1002, Home: ""},
		"relhome": {Name: "relhome", UID: 1003, GID: 1003, Home: "home/x"},
	}
	lookup := func(name string) (passwd.User, error) {
		if name == "ldapdown" {
			return passwd.User{}, errors.New("ldap: server down")
		}
		u, ok := users[name]
		if !ok {
			return u, passwd.ErrUnknown
		}
		return u, nil
	}
	for _, tt := range []struct {
		name, envUser, flag, mailbox, home string
		want                               string // mailbox
		wantUser                           string // "" = none
		dsn                                string
		code                               int
	}{
		{name: "-d to spool", flag: "alice", want: spool + "/alice", wantUser: "alice"},
		{name: "$USER to spool", envUser: "alice", want: spool + "/alice", wantUser: "alice"},
		{name: "-d wins over $USER", envUser: "alice", flag: "Bob", want: spool + "/bob", wantUser: "bob"},
		{name: "home Maildir", flag: "alice", home: "Maildir/", want: "/home/alice/Maildir/", wantUser: "alice"},
		{name: "home mbox", flag: "alice", home: "mail/inbox", want: "/home/alice/mail/inbox", wantUser: "alice"},
		{name: "explicit mailbox, no user", envUser: "alice", mailbox: "/m/x", want: "/m/x"},
		{name: "explicit mailbox with -d", flag: "alice", mailbox: "/m/x", want: "/m/x", wantUser: "alice"},
		{name: "unknown user", flag: "carol", dsn: "5.1.1", code: status.NoUser},
		{name: "unknown $USER", envUser: "carol", dsn: "5.1.1", code: status.NoUser},
		{name: "lookup fails", flag: "ldapdown", dsn: "4.3.0", code: status.TempFail},
		{name: "no user at all", dsn: "5.3.0", code: status.Usage},
		{name: "no home", flag: "nohome", home: "Maildir/", dsn: "4.3.0", code: status.TempFail},
		{name: "relative home", flag: "relhome", home: "mbox", dsn: "4.3.0", code: status.TempFail},
		{name: "no home needed for the spool", flag: "nohome", want: spool + "/nohome", wantUser: "nohome"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("USER", tt.envUser)
			cfg := config.Default()
			cfg.SpoolDir, cfg.HomeMailbox = spool, tt.home
			r, err := resolveRecipient(cfg, tt.flag, tt.mailbox, lookup)
			if tt.dsn != "" {
				wantStatus(t, err, tt.dsn, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if r.user != nil {
				got = r.user.Name
			}
			if r.mailbox != tt.want || got != tt.wantUser {
				t.Fatalf("got mailbox %q user %q, want %q %q", r.mailbox, got, tt.want, tt.wantUser)
			}
		})
	}
}

// The spool's group is kept only for a spool that is group-writable and not
// world-writable, and only for mailboxes directly in it.
func TestSpoolGroup(t *testing.T) {
	gid := os.Getegid()
	for _, tt := range []struct {
		mode    os.FileMode
		mailbox string // relative to the spool's parent
		want    []int
	}{
		{0o775 | os.ModeSetgid, "spool/alice", []int{gid}},
		{0o770, "spool/alice", []int{gid}},
		{0o775, "elsewhere/alice", nil},
		{0o777 | os.ModeSticky, "spool/alice", nil},
		{0o755, "spool/alice", nil},
		{0o775, "spool/alice/Maildir/", nil},
	} {
		dir := t.TempDir()
		spool := filepath.Join(dir, "spool")
		if err := os.Mkdir(spool, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(spool, tt.mode); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.SpoolDir = spool
		r, err := resolveRecipient(cfg, "alice", filepath.Join(dir, tt.mailbox), func(string) (passwd.User, error) {
			return passwd.User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.groups, tt.want) {
			t.Errorf("spool %v, mailbox %s: groups %v, want %v", tt.mode, tt.mailbox, r.groups, tt.want)
		}
	}
}

// wantStatus asserts that err is a *status.Error with dsn and code.
func wantStatus(t *testing.T, err error, dsn string, code int) {
	t.Helper()
	var se *status.Error
	if !errors.As(err, &se) || se.DSN != dsn || se.Code != code {
		t.Fatalf("got %v, want %s (exit %d)", err, dsn, code)
	}
}
