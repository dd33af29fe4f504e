package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
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

func TestHomePath(t *testing.T) {
	for _, tc := range []struct{ p, home, want string }{
		{"~/.dovecot.sieve", "/home/u", "/home/u/.dovecot.sieve"},
		{"/etc/x", "", "/etc/x"},
		{"~/mail", "", ""},
		{"~/mail", "relative", ""},
	} {
		got, err := HomePath(tc.p, tc.home)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("HomePath(%q, %q) = %q, %v; want %q", tc.p, tc.home, got, err, tc.want)
		}
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
trust_local_locks = true
mailbox_size_limit = 1073741824
message_size_limit = 10240000
quota_tempfail   = false
strict_ownership = false
create_folders   = false
strip_mbox_private_headers = false
fsync            = false
log              = "stderr"
sieve_script     = "~/sieve/active.sieve"
sieve_before     = ["/etc/letterbox/before.sieve"]
sieve_after      = ["/etc/letterbox/after1.sieve", "/etc/letterbox/after2.sieve"]
sieve_global_dir = "/srv/sieve"
mbox_folder_dir  = "~/Mail"
sendmail_path    = "/usr/lib/sendmail"
state_dir        = "/var/lib/letterbox"

[lmtp]
listen = ["unix:/run/lb/lmtp", "127.0.0.1:2424", "[::1]:24"]
socket_mode = "0600"
mailbox = "/srv/mail/{domain}/{user}/"
extension_folders = true
max_connections = 7
max_recipients = 3
timeout = "90s"
max_line_length = 1000
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
		DotlockMayFail: true, TrustLocalLocks: true, MailboxSizeLimit: 1 << 30, MessageSizeLimit: 10240000,
		Log:         "stderr",
		SieveScript: "~/sieve/active.sieve", SieveBefore: []string{"/etc/letterbox/before.sieve"},
		SieveAfter:     []string{"/etc/letterbox/after1.sieve", "/etc/letterbox/after2.sieve"},
		SieveGlobalDir: "/srv/sieve", MboxFolderDir: "~/Mail", SendmailPath: "/usr/lib/sendmail",
		StateDir: "/var/lib/letterbox",
		LMTP: LMTP{
			Listen:     []string{"unix:/run/lb/lmtp", "127.0.0.1:2424", "[::1]:24"},
			SocketMode: "0600", Mailbox: "/srv/mail/{domain}/{user}/", ExtensionFolders: true,
			MaxConnections: 7, MaxRecipients: 3, Timeout: Dur(90 * time.Second), MaxLineLength: 1000,
		},
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
		{"wrong type limit", "message_size_limit = \"10Q\"\n", ":1: message_size_limit: \"10Q\" is not a size such as 10485760, \"10M\" or \"1G\""},
		{"syntax", "spool_dir = \n", ":1:"},
		{"relative sieve script", "sieve_script = \"sieve/x\"\n", ":1: sieve_script: \"sieve/x\" is neither"},
		{"escaping sieve script", "\nsieve_script = \"~/../root/x\"\n", ":2: sieve_script"},
		{"relative sieve_before", "sieve_before = [\"/ok\", \"before.sieve\"]\n", ":1: sieve_before"},
		{"home sieve_after", "sieve_after = [\"~/after.sieve\"]\n", ":1: sieve_after: \"~/after.sieve\" is not an absolute path"},
		{"relative sendmail", "sendmail_path = \"sendmail\"\n", ":1: sendmail_path"},
		{"empty state dir", "state_dir = \"\"\n", ":1: state_dir: must not be empty"},
		{"unknown table", "[deliver]\nx = 1\n", ":"},
		{"lmtp unknown key", "log = \"none\"\n[lmtp]\nlisten = []\nmax_conns = 3\n", ":4: unknown key lmtp.max_conns"},
		{"lmtp relative socket", "[lmtp]\n\nlisten = [\"unix:lmtp\"]\n", ":3: lmtp.listen"},
		{"lmtp no port", "[lmtp]\nlisten = [\"localhost\"]\n", ":2: lmtp.listen"},
		{"lmtp bad port", "[lmtp]\nlisten = [\"localhost:lmtp\"]\n", ":2: lmtp.listen"},
		{"lmtp timeout number", "timeout = 1\n", ":1: unknown key timeout"},
		{"lmtp timeout type", "lock_timeout = \"5s\"\n[lmtp]\ntimeout = 30\n", ":3: lmtp.timeout: want a duration such as \"30s\""},
		{"lmtp timeout bad", "[lmtp]\ntimeout = \"soon\"\n", ":2: lmtp.timeout"},
		{"lmtp timeout negative", "[lmtp]\n\ntimeout = \"-1s\"\n", ":3: lmtp.timeout: must be positive"},
		{"lmtp relative mailbox", "[lmtp]\nmailbox = \"mail/{user}\"\n", ":2: lmtp.mailbox"},
		{"lmtp escaping mailbox", "[lmtp]\nmailbox = \"/srv/{user}/../x\"\n", ":2: lmtp.mailbox"},
		{"lmtp unknown placeholder", "[lmtp]\nmailbox = \"/srv/{usr}\"\n", ":2: lmtp.mailbox: \"/srv/{usr}\": only"},
		{"lmtp mailbox without user", "[lmtp]\nmailbox = \"/srv/{domain}/all\"\n", ":2: lmtp.mailbox"},
		{"lmtp connections", "[lmtp]\nmax_connections = 0\n", ":2: lmtp.max_connections"},
		{"lmtp recipients", "[lmtp]\nmax_recipients = -1\n", ":2: lmtp.max_recipients"},
		{"lmtp line", "[lmtp]\nmax_line_length = 80\n", ":2: lmtp.max_line_length"},
		{"lmtp mode", "[lmtp]\nsocket_mode = \"rw\"\n", ":2: lmtp.socket_mode"},
		{"lmtp mode range", "[lmtp]\nsocket_mode = \"7777\"\n", ":2: lmtp.socket_mode"},
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

// Files an operator may name by mistake with -c: anything but a regular
// file is refused without hanging (a FIFO would wait for a writer), and so
// is a file larger than MaxSize, before it is read (a 200 MB file took
// 630 MB of memory). Every error names the file.
func TestOperatorFiles(t *testing.T) {
	dir := t.TempDir()
	good := write(t, "log = \"none\"\n")
	comments := strings.Repeat("#"+strings.Repeat("c", 62)+"\n", MaxSize/64)
	for _, tc := range []struct {
		name string
		make func(p string) error
		want error // nil: loads
	}{
		{"FIFO", func(p string) error { return unix.Mkfifo(p, 0o644) }, ErrNotRegular},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, ErrNotRegular},
		{"device", func(p string) error { return os.Symlink("/dev/null", p) }, ErrNotRegular},
		{"200 MB", func(p string) error { return truncated(p, 200<<20) }, ErrTooLarge},
		{"one byte over", func(p string) error { return truncated(p, MaxSize+1) }, ErrTooLarge},
		{"exactly MaxSize", func(p string) error { return os.WriteFile(p, []byte(comments), 0o644) }, nil},
		{"symlink to a file", func(p string) error { return os.Symlink(good, p) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			if err := tc.make(p); err != nil {
				t.Skipf("cannot make it here: %v", err)
			}
			done := make(chan error, 1)
			go func() { _, err := Load(p); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Load hangs")
			}
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.want != nil && (!errors.Is(err, tc.want) || !strings.Contains(err.Error(), p)):
				t.Fatalf("Load: %v; want %v naming %s", err, tc.want, p)
			}
		})
	}
	if len(comments) != MaxSize {
		t.Fatalf("test file of %d bytes, want %d", len(comments), MaxSize)
	}
}

// truncated makes a sparse file of size bytes at p: nothing is written.
func truncated(p string, size int64) error {
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		return err
	}
	return os.Truncate(p, size)
}

// A file that grows past MaxSize between the fstat and the read (an
// operator's editor, a log) is refused too: the size check is not only the
// fstat's.
func TestFileGrowsWhileRead(t *testing.T) {
	p := write(t, strings.Repeat("# comment\n", MaxSize/10+1))
	f := faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Fstat, Stat: func(s *sys.Stat) { s.Size = 100 }})
	if _, err := load(f, p); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("load: %v; want %v", err, ErrTooLarge)
	}
	// A read error is reported as such, with the file.
	p = write(t, "log = \"none\"\n")
	f = faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Read, Err: unix.EIO})
	if _, err := load(f, p); !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), "read config: read "+p) {
		t.Fatalf("load: %v; want EIO reading %s", err, p)
	}
}
