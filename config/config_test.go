package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "letterbox.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNoFileIsDefault(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(\"\") = %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestEveryKey(t *testing.T) {
	p := write(t, `
spool_dir        = "/srv/mail"
home_mailbox     = "Maildir/"
mbox_quoting     = "mboxcl2"
mbox_locks       = ["dotlock", "fcntl-classic"]
lock_timeout     = "2m"
stale_lock_own   = "90s"
stale_lock_foreign = "30m"
lock_refresh     = "10s"
dotlock_may_fail = true
mailbox_size_limit = 1073741824
message_size_limit = 10240000
quota_tempfail   = false
strict_ownership = false
create_folders   = false
strip_mbox_private_headers = false
fsync            = false
log              = "stderr"
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		SpoolDir: "/srv/mail", HomeMailbox: "Maildir/", MboxQuoting: "mboxcl2",
		MboxLocks:   []string{"dotlock", "fcntl-classic"},
		LockTimeout: Dur(2 * time.Minute), StaleLockOwn: Dur(90 * time.Second),
		StaleLockForeign: Dur(30 * time.Minute), LockRefresh: Dur(10 * time.Second),
		DotlockMayFail: true, MailboxSizeLimit: 1 << 30, MessageSizeLimit: 10240000,
		Log: "stderr",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown key", "spool_dir = \"/x\"\nspool_dri = \"/y\"\n", ":2: unknown key spool_dri"},
		{"wrong type", "\n\nlock_timeout = 30\n", ":3: lock_timeout"},
		{"bad duration", "lock_refresh = \"soon\"\n", ":1: lock_refresh"},
		{"negative duration", "\nlock_timeout = \"-5s\"\n", ":2: lock_timeout: must be positive"},
		{"negative limit", "\n\n\nmailbox_size_limit = -1\n", ":4: mailbox_size_limit: must not be negative"},
		{"negative message limit", "message_size_limit = -10\n", ":1: message_size_limit"},
		{"bad quoting", "mbox_quoting = \"mboxq\"\n", ":1: mbox_quoting"},
		{"bad lock", "\nmbox_locks = [\"dotlock\", \"lockf\"]\n", ":2: mbox_locks"},
		{"duplicate lock", "mbox_locks = [\"fcntl\", \"fcntl\"]\n", ":1: mbox_locks: \"fcntl\" named twice"},
		{"no locks", "mbox_locks = []\n", ":1: mbox_locks"},
		{"refresh too long", "stale_lock_own = \"60s\"\nlock_refresh = \"30s\"\n", ":2: lock_refresh"},
		{"bad log", "log = \"journal\"\n", ":1: log"},
		{"relative spool", "\nspool_dir = \"mail\"\n", ":2: spool_dir: \"mail\" is not an absolute path"},
		{"absolute home mailbox", "home_mailbox = \"/var/mail/x\"\n", ":1: home_mailbox"},
		{"escaping home mailbox", "home_mailbox = \"../bob/Maildir/\"\n", ":1: home_mailbox"},
		{"wrong type bool", "fsync = \"yes\"\n", ":1: fsync"},
		{"wrong type limit", "message_size_limit = \"10M\"\n", ":1: message_size_limit"},
		{"syntax", "spool_dir = \n", ":1:"},
		{"unknown table", "[deliver]\nx = 1\n", ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.body)
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want %q after the path", err, tc.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Fatal("a named file that does not exist must be an error")
	}
}

func TestFind(t *testing.T) {
	t.Setenv("LETTERBOX_CONFIG", "/from/env.toml")
	if got := Find("/from/flag.toml"); got != "/from/flag.toml" {
		t.Fatalf("flag: %q", got)
	}
	if got := Find(""); got != "/from/env.toml" {
		t.Fatalf("env: %q", got)
	}
}
