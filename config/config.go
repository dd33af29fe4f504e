package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/mbox"
)

// Config is the effective configuration.
type Config struct {
	SpoolDir                string   `toml:"spool_dir"`
	HomeMailbox             string   `toml:"home_mailbox"`
	MboxQuoting             string   `toml:"mbox_quoting"`
	MboxLocks               []string `toml:"mbox_locks"`
	LockTimeout             Duration `toml:"lock_timeout"`
	StaleLockOwn            Duration `toml:"stale_lock_own"`
	StaleLockForeign        Duration `toml:"stale_lock_foreign"`
	LockRefresh             Duration `toml:"lock_refresh"`
	DotlockMayFail          bool     `toml:"dotlock_may_fail"`
	TrustLocalLocks         bool     `toml:"trust_local_locks"`
	MailboxSizeLimit        int64    `toml:"mailbox_size_limit"`
	MessageSizeLimit        int64    `toml:"message_size_limit"`
	QuotaTempfail           bool     `toml:"quota_tempfail"`
	StrictOwnership         bool     `toml:"strict_ownership"`
	CreateFolders           bool     `toml:"create_folders"`
	StripMboxPrivateHeaders bool     `toml:"strip_mbox_private_headers"`
	Fsync                   bool     `toml:"fsync"`
	Log                     string   `toml:"log"`
	// Sieve (docs/design.md §10). Paths starting with "~/" are below the
	// recipient's home directory.
	SieveScript    string   `toml:"sieve_script"`     // the user's active script; "" disables
	SieveBefore    []string `toml:"sieve_before"`     // admin scripts run before it
	SieveAfter     []string `toml:"sieve_after"`      // admin scripts run after it
	SieveGlobalDir string   `toml:"sieve_global_dir"` // include :global
	MboxFolderDir  string   `toml:"mbox_folder_dir"`  // fileinto folders of an mbox INBOX
	SendmailPath   string   `toml:"sendmail_path"`    // redirect, vacation
	StateDir       string   `toml:"state_dir"`        // vacation, duplicate and retry records
	LMTP           LMTP     `toml:"lmtp"`
}

// LMTP is the [lmtp] section: "letterbox lmtp", the LMTP server.
type LMTP struct {
	// Listen are the addresses to listen on: "unix:/PATH" or "HOST:PORT".
	Listen []string `toml:"listen"`
	// SocketMode is the mode of a unix socket, in octal ("0660").
	SocketMode string `toml:"socket_mode"`
	// Mailbox is the virtual layout: a path template with {user} (the
	// local part without its +extension), {local} (the whole local part)
	// and {domain}; a trailing "/" makes it a Maildir. "" delivers to
	// system users as "deliver -d" does.
	Mailbox string `toml:"mailbox"`
	// ExtensionFolders puts mail for user+ext into the Maildir++ folder ext.
	ExtensionFolders bool     `toml:"extension_folders"`
	MaxConnections   int      `toml:"max_connections"`
	MaxRecipients    int      `toml:"max_recipients"`
	Timeout          Duration `toml:"timeout"` // idle and per command
	MaxLineLength    int      `toml:"max_line_length"`
}

// DefaultLMTPSocket is where "letterbox lmtp" listens by default.
const DefaultLMTPSocket = "/run/letterbox/lmtp"

// LMTPPlaceholders are the names a [lmtp] mailbox template may use.
var LMTPPlaceholders = []string{"{user}", "{local}", "{domain}"}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		SpoolDir:                "/var/mail",
		MboxQuoting:             mbox.MboxRD.String(),
		MboxLocks:               slices.Clone(locking.DefaultMethods),
		LockTimeout:             Dur(locking.DefaultTimeout),
		StaleLockOwn:            Dur(locking.DefaultStaleOwn),
		StaleLockForeign:        Dur(locking.DefaultStaleForeign),
		LockRefresh:             Dur(locking.DefaultRefresh),
		QuotaTempfail:           true,
		StrictOwnership:         true,
		CreateFolders:           true,
		StripMboxPrivateHeaders: true,
		Fsync:                   true,
		Log:                     "syslog",
		SieveScript:             "~/.dovecot.sieve",
		SieveGlobalDir:          "/etc/letterbox/sieve",
		MboxFolderDir:           "~/mail",
		SendmailPath:            "/usr/sbin/sendmail",
		StateDir:                "~/.letterbox",
		LMTP: LMTP{
			Listen:         []string{"unix:" + DefaultLMTPSocket},
			SocketMode:     "0660",
			MaxConnections: 100,
			MaxRecipients:  100,
			Timeout:        Dur(5 * time.Minute),
			MaxLineLength:  4096,
		},
	}
}

// DefaultPath is read when neither -c nor $LETTERBOX_CONFIG names a file.
const DefaultPath = "/etc/letterbox.toml"

// Find returns the file to read: flagPath if set, else $LETTERBOX_CONFIG,
// else DefaultPath if it exists. An empty result means built-in defaults.
func Find(flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	if p := os.Getenv("LETTERBOX_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat(DefaultPath); err == nil {
		return DefaultPath
	}
	return ""
}

// Load reads the file at path over the defaults; an empty path gives the
// defaults. Every error names path, and the line where the file has one. A
// path that is not a regular file (ErrNotRegular) or is larger than MaxSize
// (ErrTooLarge) is refused before it is read.
func Load(path string) (Config, error) { return load(sys.Real{}, path) }

func load(s sys.Sys, path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	src, err := readFile(s, path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	// go-toml parses; the values are set here, so that every error of the
	// file is found in one run and each says what the key wants.
	var raw map[string]any
	if err := toml.Unmarshal(src, &raw); err != nil {
		return c, syntaxError(path, err)
	}
	d := decoder{}
	d.table("", raw, reflect.ValueOf(&c).Elem())
	failed := map[string]bool{}
	for _, e := range d.errs {
		failed[e.key] = true
	}
	// A key that failed to decode keeps its default; its checks, and the
	// checks comparing it with others, would only repeat the error.
	for _, e := range c.check() {
		if !slices.ContainsFunc(append([]string{e.key}, e.at...), func(k string) bool { return failed[k] }) {
			d.errs = append(d.errs, e)
		}
	}
	if len(d.errs) == 0 {
		return c, nil
	}
	lines := keyLines(src)
	errs := make(Errors, 0, len(d.errs))
	for _, e := range d.errs {
		line := 0
		for _, k := range append([]string{e.key}, e.at...) {
			if line = lines[k]; line > 0 {
				break
			}
		}
		key := e.key
		if e.unknown {
			key = "" // the message names it
		}
		errs = append(errs, &Error{Path: path, Line: line, Key: key, Err: e.err})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return c, errs
}

// MaxSize is the largest configuration file Load reads: 1 MiB. A real one
// is a few hundred bytes (every key, each with a comment, is under 2 KiB).
// The bound is for a mistaken -c — a mailbox, a log — which would otherwise
// be read whole and decoded, at about three times its size in memory, by
// every delivery.
const MaxSize = 1 << 20

var (
	// ErrNotRegular: the configuration path is a FIFO, a directory, a
	// device or a socket. A FIFO would hang every command until someone
	// wrote to it.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the configuration file is larger than MaxSize.
	ErrTooLarge = errors.New("too large for a configuration file")
)

// readFile reads the configuration file at path, which must be a regular
// file of at most MaxSize bytes. A symlink to one is fine: configuration
// management links files into /etc.
func readFile(s sys.Sys, path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading waits for a writer; with it the
	// open returns at once and the fstat below refuses the FIFO. It changes
	// nothing for a regular file.
	fd, err := s.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer s.Close(fd)
	st, err := s.Fstat(fd)
	if err != nil {
		return nil, fmt.Errorf("fstat %s: %w", path, err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, sys.FileType(t))
	}
	if st.Size > MaxSize {
		return nil, fmt.Errorf("%s: %w (%d bytes, at most %d)", path, ErrTooLarge, st.Size, MaxSize)
	}
	// Read to the end, but never more than MaxSize: the file may have grown
	// since the fstat.
	buf := make([]byte, min(st.Size+512, MaxSize+1))
	n := 0
	for {
		if n == len(buf) {
			if n > MaxSize {
				return nil, fmt.Errorf("%s: %w (grew past %d bytes while read)", path, ErrTooLarge, MaxSize)
			}
			buf = append(buf, make([]byte, min(len(buf), MaxSize+1-len(buf)))...)
		}
		k, err := s.Read(fd, buf[n:])
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if k == 0 {
			return buf[:n], nil
		}
		n += k
	}
}

// keyError is an error of one key.
type keyError struct {
	key     string
	err     error
	unknown bool     // key is not one of Config's
	at      []string // other keys the error is about, for its line when key is not in the file
}

func (e *keyError) Error() string { return e.key + ": " + e.err.Error() }

// problems collects the keyErrors of a check.
type problems []*keyError

func (p *problems) bad(key, format string, args ...any) *keyError {
	e := &keyError{key: key, err: fmt.Errorf(format, args...)}
	*p = append(*p, e)
	return e
}

// validate reports every invalid value of c, one per line.
func (c *Config) validate() error {
	var es []error
	for _, e := range c.check() {
		es = append(es, e)
	}
	return errors.Join(es...)
}

// check returns an error for every invalid value of c.
func (c *Config) check() []*keyError {
	var p problems
	bad := p.bad
	// A relative spool would be relative to wherever the MTA starts us
	// (Postfix: its queue directory).
	if !filepath.IsAbs(c.SpoolDir) {
		bad("spool_dir", "%q is not an absolute path", c.SpoolDir)
	}
	// home_mailbox is below the home directory; it must not name a place
	// outside it.
	if filepath.IsAbs(c.HomeMailbox) || slices.Contains(strings.Split(c.HomeMailbox, "/"), "..") {
		bad("home_mailbox", "%q is not a path below the home directory", c.HomeMailbox)
	}
	// The names belong to the packages that implement them: mbox for the
	// variants, locking for the methods.
	if _, ok := mbox.ParseQuoting(c.MboxQuoting); !ok {
		bad("mbox_quoting", "%q is not one of mboxrd, mboxo, mboxcl2", c.MboxQuoting)
	}
	if _, err := locking.ParseMethods(c.MboxLocks); err != nil {
		bad("mbox_locks", "%v", err)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"lock_timeout", c.LockTimeout}, {"stale_lock_own", c.StaleLockOwn}, {"stale_lock_foreign", c.StaleLockForeign}, {"lock_refresh", c.LockRefresh}} {
		if d.v.Duration <= 0 {
			bad(d.key, "must be positive")
		}
	}
	// A holder gives up a lock it has not proven for stale_lock_own/2; it
	// must get to refresh well before that.
	if c.LockRefresh.Duration > 0 && 3*c.LockRefresh.Duration > c.StaleLockOwn.Duration {
		bad("lock_refresh", "%s is too long for stale_lock_own %s (at most a third)", c.LockRefresh, c.StaleLockOwn).at = []string{"stale_lock_own"}
	}
	// A Config built by hand: the decoder refuses a negative size.
	if c.MailboxSizeLimit < 0 {
		bad("mailbox_size_limit", "must not be negative")
	}
	if c.MessageSizeLimit < 0 {
		bad("message_size_limit", "must not be negative")
	}
	if !slices.Contains([]string{"syslog", "stderr", "none"}, c.Log) {
		bad("log", "%q is not one of syslog, stderr, none", c.Log)
	}
	// Each is read or written for the recipient: an absolute path, or one
	// below the home ("~/..."); a relative path would depend on where the
	// MTA started us, ".." could leave the home.
	for _, p := range []struct {
		key, v  string
		home    bool // "~/" allowed
		emptyOK bool
	}{
		{"sieve_script", c.SieveScript, true, true},
		{"sieve_global_dir", c.SieveGlobalDir, false, true},
		{"mbox_folder_dir", c.MboxFolderDir, true, false},
		{"sendmail_path", c.SendmailPath, false, false},
		{"state_dir", c.StateDir, true, false},
	} {
		if err := checkPath(p.v, p.home, p.emptyOK); err != nil {
			bad(p.key, "%v", err)
		}
	}
	for _, l := range []struct {
		key string
		v   []string
	}{{"sieve_before", c.SieveBefore}, {"sieve_after", c.SieveAfter}} {
		for _, v := range l.v {
			if err := checkPath(v, false, false); err != nil {
				bad(l.key, "%v", err)
				break // one error per key
			}
		}
	}
	c.LMTP.check(bad)
	return p
}

// checkPath checks a configured path: absolute, or "~/..." when home, or
// empty when emptyOK; never with a ".." component.
func checkPath(p string, home, emptyOK bool) error {
	switch {
	case p == "":
		if emptyOK {
			return nil
		}
		return errors.New("must not be empty")
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Errorf("%q has a \"..\" component", p)
	case home && strings.HasPrefix(p, "~/"), filepath.IsAbs(p):
		return nil
	case home:
		return fmt.Errorf("%q is neither an absolute path nor below the home (\"~/...\")", p)
	}
	return fmt.Errorf("%q is not an absolute path", p)
}

// HomePath is p with a leading "~/" made the home directory home. It
// refuses ("", error) a "~/" path when home is not absolute: a path below
// "" would be relative to wherever the MTA started us.
func HomePath(p, home string) (string, error) {
	rest, ok := strings.CutPrefix(p, "~/")
	if !ok {
		return p, nil
	}
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("%s: no absolute home directory (%q)", p, home)
	}
	return filepath.Join(home, rest), nil
}

func (l *LMTP) check(bad func(key, format string, args ...any) *keyError) {
	for _, a := range l.Listen {
		if err := CheckListen(a); err != nil {
			bad("lmtp.listen", "%v", err)
			break // one error per key
		}
	}
	if _, err := l.Mode(); err != nil {
		bad("lmtp.socket_mode", "%v", err)
	}
	if err := checkTemplate(l.Mailbox); err != nil {
		bad("lmtp.mailbox", "%v", err)
	}
	if l.MaxConnections < 1 {
		bad("lmtp.max_connections", "must be at least 1")
	}
	if l.MaxRecipients < 1 {
		bad("lmtp.max_recipients", "must be at least 1")
	}
	if l.Timeout.Duration <= 0 {
		bad("lmtp.timeout", "must be positive")
	}
	// RFC 5321 §4.5.3.1.6: a line is up to 1000 bytes with its CRLF.
	if l.MaxLineLength < 1000 {
		bad("lmtp.max_line_length", "%d is below the 1000 bytes RFC 5321 allows a line", l.MaxLineLength)
	}
}

// checkTemplate checks the [lmtp] mailbox template m: "" or absolute,
// without "..", naming the user, with no braces but the placeholders.
func checkTemplate(m string) error {
	if m == "" {
		return nil
	}
	// A relative template would be relative to wherever the daemon was
	// started; ".." could lead out of the mail store.
	if !filepath.IsAbs(m) || slices.Contains(strings.Split(m, "/"), "..") {
		return fmt.Errorf("%q is not an absolute path without \"..\"", m)
	}
	rest := m
	for _, p := range LMTPPlaceholders {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q: only %s may stand in braces", m, strings.Join(LMTPPlaceholders, ", "))
	}
	if !strings.Contains(m, "{user}") && !strings.Contains(m, "{local}") {
		return fmt.Errorf("%q names no user: give {user} or {local}", m)
	}
	return nil
}

// CheckListen checks a listen address: "unix:/ABSOLUTE/PATH" or
// "HOST:PORT" with a numeric port.
func CheckListen(a string) error {
	if p, ok := strings.CutPrefix(a, "unix:"); ok {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%q: a unix socket needs an absolute path", a)
		}
		return nil
	}
	// HOST:PORT, HOST an IPv6 address in brackets or a name or IPv4
	// address without a colon. Not net.SplitHostPort: package net, linked
	// into every "letterbox deliver" through config, costs its start-up.
	i := strings.LastIndexByte(a, ':')
	host, port := "", ""
	if i >= 0 {
		host, port = a[:i], a[i+1:]
	}
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	if i < 0 || port == "" || (strings.Contains(host, ":") && !bracketed) || strings.ContainsAny(strings.Trim(host, "[]"), "[] /") {
		return fmt.Errorf("%q is neither unix:/PATH nor HOST:PORT", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", a, port)
	}
	return nil
}

// Mode is SocketMode as a file mode.
func (l LMTP) Mode() (os.FileMode, error) {
	m, err := strconv.ParseUint(l.SocketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%q is not an octal mode such as \"0660\"", l.SocketMode)
	}
	return os.FileMode(m), nil
}

// LockPolicy is the mailbox lock c configures, for every command that
// takes or judges one. c must be valid (Load validates it; Default is).
func (c Config) LockPolicy() locking.Policy {
	m, err := locking.ParseMethods(c.MboxLocks)
	if err != nil {
		panic(fmt.Sprintf("config: LockPolicy of an invalid config: %v", err))
	}
	m.DotlockMayFail = c.DotlockMayFail
	m.TrustLocal = c.TrustLocalLocks
	return locking.Policy{
		Methods:      m,
		Timeout:      c.LockTimeout.Duration,
		StaleOwn:     c.StaleLockOwn.Duration,
		StaleForeign: c.StaleLockForeign.Duration,
		Refresh:      c.LockRefresh.Duration,
	}
}

// Quoting is the mbox variant c writes. c must be valid.
func (c Config) Quoting() mbox.Quoting {
	q, ok := mbox.ParseQuoting(c.MboxQuoting)
	if !ok {
		panic(fmt.Sprintf("config: Quoting of an invalid config: %q", c.MboxQuoting))
	}
	return q
}

// Duration is a time.Duration written as a string such as "30s". It is a
// struct so that a bare number (lock_timeout = 30, which would otherwise
// mean 30 nanoseconds) is a type error, not a surprise.
type Duration struct{ time.Duration }

// Dur makes a Duration.
func Dur(d time.Duration) Duration { return Duration{d} }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\", \"5m\" or \"1h30m\"", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
