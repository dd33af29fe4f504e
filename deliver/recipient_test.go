package deliver

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
	db := fakeUsers{users: users, uid: map[int]string{os.Getuid(): "alice"}}
	for _, tt := range []struct {
		name, envUser, envLogname, flag, mailbox, home string
		want                                           string // mailbox
		wantUser                                       string // "" = none
		dsn                                            string
		code                                           int
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
		{name: "$LOGNAME when no $USER (procmail)", envLogname: "Bob", want: spool + "/bob", wantUser: "bob"},
		{name: "$USER wins over $LOGNAME", envUser: "alice", envLogname: "Bob", want: spool + "/alice", wantUser: "alice"},
		{name: "neither: the uid's name", want: spool + "/alice", wantUser: "alice"},
		{name: "no home", flag: "nohome", home: "Maildir/", dsn: "4.3.0", code: status.TempFail},
		{name: "relative home", flag: "relhome", home: "mbox", dsn: "4.3.0", code: status.TempFail},
		{name: "no home needed for the spool", flag: "nohome", want: spool + "/nohome", wantUser: "nohome"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"USER": tt.envUser, "LOGNAME": tt.envLogname}
			cfg := config.Default()
			cfg.SpoolDir, cfg.HomeMailbox = spool, tt.home
			r, err := ResolveRecipient(cfg, tt.flag, tt.mailbox, func(k string) string { return env[k] }, db)
			if tt.dsn != "" {
				wantStatus(t, err, tt.dsn, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if r.User != nil {
				got = r.User.Name
			}
			if r.Mailbox != tt.want || got != tt.wantUser {
				t.Fatalf("got mailbox %q user %q, want %q %q", r.Mailbox, got, tt.want, tt.wantUser)
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
		db := fakeUsers{users: map[string]passwd.User{"alice": {Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"}}}
		r, err := ResolveRecipient(cfg, "alice", filepath.Join(dir, tt.mailbox), func(string) string { return "" }, db)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Groups, tt.want) {
			t.Errorf("spool %v, mailbox %s: groups %v, want %v", tt.mode, tt.mailbox, r.Groups, tt.want)
		}
	}
}

// The default recipient's name, asked only when nothing else names the
// recipient: -d's user, else $USER, $LOGNAME, the uid's name — also for an
// explicit MAILBOX without -d (a procmail rule "| letterbox deliver
// $HOME/Maildir/" has only LOGNAME).
func TestRecipientName(t *testing.T) {
	db := fakeUsers{users: map[string]passwd.User{"alice": {Name: "alice", UID: 1000}}, uid: map[int]string{os.Getuid(): "uidname"}}
	for _, tt := range []struct {
		flag, user, logname string
		want                string
	}{
		{"alice", "u", "l", "alice"},
		{"", "u", "l", "u"},
		{"", "", "l", "l"},
		{"", "", "", "uidname"},
	} {
		env := map[string]string{"USER": tt.user, "LOGNAME": tt.logname}
		r, err := ResolveRecipient(config.Default(), tt.flag, "/m/x", func(k string) string { return env[k] }, db)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Name(); got != tt.want || err != nil {
			t.Errorf("-d %q USER %q LOGNAME %q: Name = %q, %v; want %q", tt.flag, tt.user, tt.logname, got, err, tt.want)
		}
	}
	// A uid the database does not know, and no variable: no default, and
	// Resolve then asks for -r (4.3.5); a database that fails: 4.3.0.
	r, _ := ResolveRecipient(config.Default(), "", "/m/x", func(string) string { return "" }, fakeUsers{})
	if got, err := r.Name(); got != "" || err != nil {
		t.Errorf("unknown uid: Name = %q, %v", got, err)
	}
	r, _ = ResolveRecipient(config.Default(), "", "/m/x", func(string) string { return "" }, fakeUsers{down: true})
	if _, err := r.Name(); err == nil {
		t.Errorf("failing database: no error")
	}
	_, err := ResolveRecipient(config.Default(), "", "", func(string) string { return "" }, fakeUsers{down: true})
	wantStatus(t, err, "4.3.0", status.TempFail)
}

// fakeUsers is a user database: users by name, names by uid; down makes
// every lookup fail as an unreachable directory does.
type fakeUsers struct {
	users map[string]passwd.User
	uid   map[int]string
	down  bool
}

func (f fakeUsers) Lookup(name string) (passwd.User, error) {
	if f.down || name == "ldapdown" {
		return passwd.User{}, errors.New("ldap: server down")
	}
	u, ok := f.users[name]
	if !ok {
		return u, passwd.ErrUnknown
	}
	return u, nil
}

func (f fakeUsers) LookupID(uid int) (passwd.User, error) {
	if f.down {
		return passwd.User{}, errors.New("ldap: server down")
	}
	n, ok := f.uid[uid]
	if !ok {
		return passwd.User{}, passwd.ErrUnknown
	}
	if u, ok := f.users[n]; ok {
		return u, nil
	}
	return passwd.User{Name: n, UID: uid}, nil
}
