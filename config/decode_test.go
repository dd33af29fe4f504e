package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // -1: an error
	}{
		{"0", 0},
		{"10485760", 10485760},
		{"512k", 512 << 10},
		{"512K", 512 << 10},
		{"10M", 10 << 20},
		{"10m", 10 << 20},
		{"10MB", 10 << 20},
		{"1G", 1 << 30},
		{"2T", 2 << 40},
		{"100B", 100},
		{"8388607T", 8388607 << 40},
		{"8388608T", -1}, // 2^63: overflows
		{"99999999999999999999", -1},
		{"", -1},
		{"M", -1},
		{"B", -1},
		{"10Q", -1},
		{"-1M", -1},
		{"+1M", -1},
		{"1.5G", -1},
		{"10 M", -1},
		{" 10M", -1},
		{"10MiB", -1},
		{"10Mb", -1}, // megabits? refused rather than guessed
	} {
		got, err := ParseSize(tc.in)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// TestSizeKeys: both size keys take a plain integer (bytes) or a string
// with a unit, at the top level.
func TestSizeKeys(t *testing.T) {
	p := write(t, "mailbox_size_limit = \"1G\"\nmessage_size_limit = \"10M\"\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.MailboxSizeLimit != 1<<30 || c.MessageSizeLimit != 10<<20 {
		t.Fatalf("limits %d, %d", c.MailboxSizeLimit, c.MessageSizeLimit)
	}
}

// TestTypeErrors: every wrong type a user can write names the key, the
// line and the form the key wants, in the words of a TOML file, never Go's
// ("struct field", "int64", "config.Config").
func TestTypeErrors(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		// Sizes.
		{`message_size_limit = "10Q"`, `message_size_limit: "10Q" is not a size such as 10485760, "10M" or "1G"`},
		{`mailbox_size_limit = 1.5`, `mailbox_size_limit: want a size such as 10485760, "10M" or "1G", not the number 1.5`},
		{`mailbox_size_limit = true`, `mailbox_size_limit: want a size such as 10485760, "10M" or "1G", not the boolean true`},
		{`mailbox_size_limit = -1`, `mailbox_size_limit: must not be negative: want a size such as 10485760, "10M" or "1G", or 0 for no limit`},
		{`mailbox_size_limit = "9999999999T"`, `mailbox_size_limit: "9999999999T" is too large a size`},
		// Booleans.
		{`fsync = "yes"`, `fsync: want true or false, not the string "yes"`},
		{`fsync = 1`, `fsync: want true or false, not the number 1`},
		{`quota_tempfail = "false"`, `quota_tempfail: want true or false, not the string "false"`},
		// Durations.
		{`lock_timeout = 30`, `lock_timeout: want a duration such as "30s" or "5m", not the bare number 30`},
		{`lock_timeout = 2.5`, `lock_timeout: want a duration such as "30s" or "5m", not the number 2.5`},
		{`lock_timeout = "soon"`, `lock_timeout: "soon" is not a duration such as "30s", "5m" or "1h30m"`},
		{`lock_timeout = 1979-05-27`, `lock_timeout: want a duration such as "30s" or "5m", not a date or time`},
		// Strings.
		{`spool_dir = 5`, `spool_dir: want a string such as "/var/mail", not the number 5`},
		{`spool_dir = ["/var/mail"]`, `spool_dir: want a string such as "/var/mail", not an array`},
		{`home_mailbox = true`, `home_mailbox: want a string such as "Maildir/", not the boolean true`},
		{`log = {to = "syslog"}`, `log: want a string such as "syslog", not a table`},
		// Arrays of strings.
		{`mbox_locks = "fcntl"`, `mbox_locks: want an array of strings such as ["dotlock", "fcntl"], not the string "fcntl"`},
		{`mbox_locks = ["fcntl", 3]`, `mbox_locks: element 2: want a string, not the number 3`},
		{`sieve_before = "/etc/x.sieve"`, `sieve_before: want an array of strings such as ["/etc/letterbox/before.sieve"], not the string "/etc/x.sieve"`},
		// Tables and their keys.
		{`lmtp = "on"`, `lmtp: want a table ([lmtp]), not the string "on"`},
		{`lmtp.max_connections = "10"`, `lmtp.max_connections: want a whole number such as 100, not the string "10"`},
		{`lmtp = {max_recipients = 1.5}`, `lmtp.max_recipients: want a whole number such as 100, not the number 1.5`},
		{`lmtp.listen = "unix:/run/x"`, `lmtp.listen: want an array of strings such as ["unix:/run/letterbox/lmtp"], not the string "unix:/run/x"`},
		{`lmtp.mailbox = 1`, `lmtp.mailbox: want a string such as "/srv/mail/{domain}/{user}/", not the number 1`},
		{"[[lmtp]]\nmax_connections = 1", `lmtp: want a table ([lmtp]), not an array`},
		// Unknown keys, with the key they look like.
		{`spool_dri = "/x"`, `unknown key spool_dri (did you mean spool_dir?)`},
		{`lmtp.timout = "1s"`, `unknown key lmtp.timout (did you mean lmtp.timeout?)`},
		{`colour = "blue"`, `unknown key colour`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			p := write(t, "# letterbox\n"+tc.line+"\n")
			_, err := Load(p)
			want := p + ":2: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("error\n%v\nwant\n%s", err, want)
			}
			for _, internal := range []string{"struct", "int64", "config.", "toml:", "decode"} {
				if strings.Contains(strings.TrimPrefix(err.Error(), p), internal) {
					t.Errorf("error shows Go internals (%q)", internal)
				}
			}
		})
	}
}

// TestEveryError: all the errors of a file are reported in one run, one
// per line, sorted by line, each "FILE:LINE: key: message"; an error is
// not repeated by the checks of the value it left at its default.
func TestEveryError(t *testing.T) {
	p := write(t, `# letterbox
log = "loud"
spool_dri = "/srv/mail"
message_size_limit = "10Q"
stale_lock_own = "60s"
lock_refresh = "30s"
lock_timeout = 30

[lmtp]
max_connections = 0
mailbox = "/srv/{domain}"
timeout = "soon"
`)
	_, err := Load(p)
	want := strings.Join([]string{
		p + `:2: log: "loud" is not one of syslog, stderr, none`,
		p + `:3: unknown key spool_dri (did you mean spool_dir?)`,
		p + `:4: message_size_limit: "10Q" is not a size such as 10485760, "10M" or "1G"`,
		p + `:6: lock_refresh: 30s is too long for stale_lock_own 1m0s (at most a third)`,
		p + `:7: lock_timeout: want a duration such as "30s" or "5m", not the bare number 30`,
		p + `:10: lmtp.max_connections: must be at least 1`,
		p + `:11: lmtp.mailbox: "/srv/{domain}" names no user: give {user} or {local}`,
		p + `:12: lmtp.timeout: "soon" is not a duration such as "30s", "5m" or "1h30m"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("error\n%v\nwant\n%s", err, want)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 8 || es[1].Key != "" || es[2].Key != "message_size_limit" || es[2].Line != 4 {
		t.Fatalf("Errors %#v", es)
	}
}

// TestErrorLines: the line of a key is found however the file sets it:
// in a table, with a dotted key, in an inline table, quoted; and a check
// on a key the file does not set points at the key it compares with.
func TestErrorLines(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"table", "\n[lmtp]\n\nmax_recipients = 0\n", ":4: lmtp.max_recipients"},
		{"dotted", "log = \"none\"\nlmtp.max_recipients = 0\n", ":2: lmtp.max_recipients"},
		{"inline", "log = \"none\"\n\nlmtp = { max_line_length = 10 }\n", ":3: lmtp.max_line_length"},
		{"quoted", "\"log\" = \"x\"\n", ":1: log"},
		{"same name in a table", "[lmtp]\ntimeout = \"1s\"\n[x]\n", ":3: unknown key x"},
		{"compared key", "\n\nstale_lock_own = \"10s\"\n", ":3: lock_refresh: 30s is too long for stale_lock_own 10s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.body)
			_, err := Load(p)
			if err == nil || !strings.HasPrefix(err.Error(), p+tc.want) {
				t.Fatalf("error %v, want %q after the path", err, tc.want)
			}
		})
	}
}

// A file that does not parse is one error, with its line.
func TestSyntaxError(t *testing.T) {
	p := write(t, "log = \"none\"\nspool_dir = \nfsync = 3\n")
	_, err := Load(p)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 2 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v", err)
	}
}
