package passwd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// User is one entry of the user database.
type User struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// ErrUnknown is the error Lookup wraps when the database answered and has no
// such user. Every other error means the answer is not known.
var ErrUnknown = errors.New("no such user")

// DB is a user database. The zero value is not usable; see System.
type DB struct {
	Passwd   string // the passwd file, "/etc/passwd"
	NSSwitch string // "/etc/nsswitch.conf"; missing means "files"
	Getent   string // getent(1), for sources other than files
	// Timeout bounds a getent run: a directory server that does not answer
	// must not hold the delivery past the MTA's time limit.
	Timeout time.Duration
}

// System is the database of this machine.
func System() DB {
	return DB{Passwd: "/etc/passwd", NSSwitch: "/etc/nsswitch.conf", Getent: "/usr/bin/getent", Timeout: 60 * time.Second}
}

// Lookup returns the user called name. The error wraps ErrUnknown when no
// such user exists; any other error (an unreadable file, a failing
// directory service, a malformed entry) is temporary. The User's Name is the
// database's spelling, which may differ from name in case.
func (db DB) Lookup(name string) (User, error) {
	if err := ValidName(name); err != nil {
		return User{}, err
	}
	return db.lookup(name, func(u User) bool { return u.Name == name })
}

// LookupID returns the user whose uid is uid, as getpwuid(3) does: the
// first entry with that uid. Errors are those of Lookup.
func (db DB) LookupID(uid int) (User, error) {
	if uid < 0 {
		return User{}, fmt.Errorf("uid %d: %w", uid, ErrUnknown)
	}
	return db.lookup(strconv.Itoa(uid), func(u User) bool { return u.UID == uid })
}

// lookup asks the sources in order for key, which getent reads as a name or,
// when numeric, as a uid; match picks the entry from the passwd file.
func (db DB) lookup(key string, match func(User) bool) (User, error) {
	sources, err := db.sources()
	if err != nil {
		return User{}, err
	}
	// NSS stops at the first source that has the user ([SUCCESS=return]
	// is the default action), so a hit in a leading "files" is the answer
	// getpwnam would give.
	if len(sources) > 0 && sources[0] == "files" {
		u, err := db.lookupFile(key, match)
		if err == nil || !errors.Is(err, ErrUnknown) || len(sources) == 1 {
			return u, err
		}
	}
	return db.lookupGetent(key)
}

// ValidName reports whether name can be a user name: not empty, at most 256
// bytes, no '/', ':', white space or control characters, and not starting
// with '-'. A name from an envelope or the environment becomes a path
// element (spool_dir/USER) and a getent argument; anything else is refused
// before it gets there. The error wraps ErrUnknown: no such user can exist.
func ValidName(name string) error {
	bad := name == "" || len(name) > 256 || name[0] == '-' || name == "." || name == ".."
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		bad = c <= ' ' || c == 0x7f || c == '/' || c == ':'
	}
	if bad {
		return fmt.Errorf("user name %q: %w", name, ErrUnknown)
	}
	return nil
}

// sources returns the sources of the "passwd:" line of nsswitch.conf, without
// their [action] items.
func (db DB) sources() ([]string, error) {
	src, err := os.ReadFile(db.NSSwitch)
	if errors.Is(err, os.ErrNotExist) {
		return []string{"files"}, nil // glibc's default without the file
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", db.NSSwitch, err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		line, _, _ = strings.Cut(line, "#")
		database, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(database) != "passwd" {
			continue
		}
		var out []string
		for _, f := range strings.Fields(rest) {
			if !strings.HasPrefix(f, "[") && !strings.HasSuffix(f, "]") {
				out = append(out, f)
			}
		}
		return out, nil
	}
	return []string{"files"}, nil
}

// lookupFile scans the passwd file for the first entry that match accepts.
// Lines that cannot be parsed are skipped unless they would be the one:
// the name field of a line is checked before the line is parsed, so a
// malformed entry of another user never fails a lookup by name.
func (db DB) lookupFile(key string, match func(User) bool) (User, error) {
	f, err := os.Open(db.Passwd)
	if err != nil {
		return User{}, fmt.Errorf("open %s: %w", db.Passwd, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An entry longer than the buffer cannot be ours to parse
			// here; getent can.
			return User{}, fmt.Errorf("read %s: line %d too long", db.Passwd, n)
		}
		if l := string(bytes.TrimRight(line, "\n")); l != "" {
			u, perr := parse(l)
			switch {
			case perr == nil && match(u):
				return u, nil
			case perr != nil && strings.HasPrefix(l, key+":"):
				return User{}, fmt.Errorf("%s:%d: %w", db.Passwd, n, perr)
			}
		}
		if err == io.EOF {
			return User{}, fmt.Errorf("user %s: %w", key, ErrUnknown)
		}
		if err != nil {
			return User{}, fmt.Errorf("read %s: %w", db.Passwd, err)
		}
	}
}

// lookupGetent asks getent(1), which goes through the Name Service Switch.
// Its exit status 2 is "not found"; anything else but 0 is a failure.
func (db DB) lookupGetent(name string) (User, error) {
	ctx, cancel := context.WithTimeout(context.Background(), db.Timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, db.Getent, "passwd", "--", name)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	// A helper that getent left behind must not keep the pipes open.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return User{}, fmt.Errorf("getent passwd %s: no answer in %s", name, db.Timeout)
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return User{}, fmt.Errorf("user %s: %w", name, ErrUnknown)
	case err != nil:
		msg := strings.TrimSpace(errOut.String())
		if msg != "" {
			return User{}, fmt.Errorf("getent passwd %s: %w: %s", name, err, msg)
		}
		return User{}, fmt.Errorf("getent passwd %s: %w", name, err)
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	u, err := parse(line)
	if err != nil {
		return User{}, fmt.Errorf("getent passwd %s: %w", name, err)
	}
	// An NSS module may match case-insensitively or by alias: u.Name is
	// the name the database holds, which callers name mailboxes by.
	return u, nil
}

// parse parses one passwd(5) entry: name:password:UID:GID:GECOS:home:shell.
func parse(line string) (User, error) {
	f := strings.Split(line, ":")
	if len(f) != 7 {
		return User{}, fmt.Errorf("malformed passwd entry: %d fields, want 7", len(f))
	}
	uid, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("malformed passwd entry for %s: uid %q", f[0], f[2])
	}
	gid, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("malformed passwd entry for %s: gid %q", f[0], f[3])
	}
	return User{Name: f[0], UID: int(uid), GID: int(gid), Home: f[5], Shell: f[6]}, nil
}
