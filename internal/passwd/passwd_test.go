package passwd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const passwdFile = `root:x:0:0:root:/root:/bin/bash
# a comment line is no entry
+nisuser::::::
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
alicia:x:1001:1001::/home/alicia:/bin/sh
broken:x:12x:100::/home/broken:/bin/sh
`

// fakeGetent writes a getent that answers for "carol", fails with status 2
// for everyone else, and records that it ran. With fail set it exits 1 with a
// message, as getent does when a source is unavailable.
func fakeGetent(t *testing.T, fail bool) (path, ran string) {
	dir := t.TempDir()
	ran = filepath.Join(dir, "ran")
	body := `#!/bin/sh
echo "$@" >> ` + ran + `
[ "$1 $2" = "passwd --" ] || exit 9
`
	if fail {
		body += "echo 'ldap: server down' >&2; exit 1\n"
	} else {
		body += `[ "$3" = carol ] || [ "$3" = 2000 ] && { echo 'carol:*:2000:2000:Carol:/srv/carol:/bin/sh'; exit 0; }
exit 2
`
	}
	path = filepath.Join(dir, "getent")
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, ran
}

func testDB(t *testing.T, nsswitch string, getentFails bool) (DB, string) {
	dir := t.TempDir()
	db := DB{Passwd: filepath.Join(dir, "passwd"), NSSwitch: filepath.Join(dir, "nsswitch.conf"), Timeout: 10 * time.Second}
	if err := os.WriteFile(db.Passwd, []byte(passwdFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if nsswitch != "" {
		if err := os.WriteFile(db.NSSwitch, []byte(nsswitch), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ran string
	db.Getent, ran = fakeGetent(t, getentFails)
	return db, ran
}

func TestLookup(t *testing.T) {
	alice := User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash"}
	carol := User{Name: "carol", UID: 2000, GID: 2000, Home: "/srv/carol", Shell: "/bin/sh"}
	tests := []struct {
		name      string
		nsswitch  string // "" = no file
		getentErr bool
		user      string
		want      User
		unknown   bool // error wraps ErrUnknown
		err       string
		getent    bool // getent must have run
	}{
		{name: "files hit", nsswitch: "passwd: files\n", user: "alice", want: alice},
		{name: "prefix is no match", nsswitch: "passwd: files\n", user: "ali", unknown: true},
		{name: "files only miss", nsswitch: "passwd: files\n", user: "carol", unknown: true},
		{name: "no nsswitch means files", user: "carol", unknown: true},
		{name: "files then ldap: files hit skips getent", nsswitch: "passwd: files ldap\n", user: "alice", want: alice},
		{name: "files then ldap: miss asks getent", nsswitch: "passwd:\tfiles [NOTFOUND=continue] ldap # dir\n", user: "carol", want: carol, getent: true},
		{name: "getent unknown", nsswitch: "passwd: files systemd\n", user: "dave", unknown: true, getent: true},
		{name: "ldap first always asks getent", nsswitch: "group: files\npasswd: ldap files\n", user: "alice", unknown: true, getent: true},
		{name: "directory down is not unknown", nsswitch: "passwd: files sss\n", getentErr: true, user: "dave", err: "ldap: server down", getent: true},
		{name: "malformed entry is an error", nsswitch: "passwd: files\n", user: "broken", err: `uid "12x"`},
		{name: "compat goes to getent", nsswitch: "passwd: compat\n", user: "nisuser", unknown: true, getent: true},
		{name: "empty name", user: "", unknown: true},
		{name: "slash", user: "../etc", unknown: true},
		{name: "option-like", user: "-s", unknown: true},
		{name: "control byte", user: "al\nice", unknown: true},
		{name: "colon", user: "root:x", unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, ran := testDB(t, tt.nsswitch, tt.getentErr)
			u, err := db.Lookup(tt.user)
			_, statErr := os.Stat(ran)
			if got := statErr == nil; got != tt.getent {
				t.Errorf("getent ran = %v, want %v", got, tt.getent)
			}
			switch {
			case tt.unknown:
				if !errors.Is(err, ErrUnknown) {
					t.Fatalf("Lookup(%q) = %v, %v; want ErrUnknown", tt.user, u, err)
				}
			case tt.err != "":
				if err == nil || errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Lookup(%q) error = %v; want a temporary error containing %q", tt.user, err, tt.err)
				}
			default:
				if err != nil || u != tt.want {
					t.Fatalf("Lookup(%q) = %+v, %v; want %+v", tt.user, u, err, tt.want)
				}
			}
		})
	}
}

// An unreadable database is a temporary error, never an unknown user.
func TestUnreadable(t *testing.T) {
	db, _ := testDB(t, "passwd: files\n", false)
	db.Passwd = filepath.Join(t.TempDir(), "missing")
	if _, err := db.Lookup("alice"); err == nil || errors.Is(err, ErrUnknown) {
		t.Fatalf("missing passwd file: %v; want a temporary error", err)
	}
	db, _ = testDB(t, "", false)
	if err := os.Mkdir(db.NSSwitch, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lookup("alice"); err == nil || errors.Is(err, ErrUnknown) {
		t.Fatalf("unreadable nsswitch.conf: %v; want a temporary error", err)
	}
}

// A getent that hangs is cut off at the timeout, as a temporary error.
func TestGetentTimeout(t *testing.T) {
	db, _ := testDB(t, "passwd: ldap\n", false)
	db.Getent = filepath.Join(t.TempDir(), "getent")
	if err := os.WriteFile(db.Getent, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	db.Timeout = 100 * time.Millisecond
	_, err := db.Lookup("alice")
	if err == nil || errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("hanging getent: %v; want a temporary error", err)
	}
}

// The real database agrees with getent(1) about root.
func TestSystemRoot(t *testing.T) {
	u, err := System().Lookup("root")
	if err != nil {
		t.Fatal(err)
	}
	if u.UID != 0 || u.GID != 0 || u.Home == "" {
		t.Fatalf("root = %+v", u)
	}
}

// LookupID finds the first entry with a uid, as getpwuid(3): in the file,
// past malformed entries of other users, then through getent with the
// number.
func TestLookupID(t *testing.T) {
	db, _ := testDB(t, "passwd: files ldap\n", false)
	for _, tc := range []struct {
		uid  int
		want string
		err  error
	}{
		{0, "root", nil},
		{1001, "alicia", nil},
		{2000, "carol", nil}, // not in the file: getent passwd -- 2000
		{4242, "", ErrUnknown},
		{-1, "", ErrUnknown},
	} {
		u, err := db.LookupID(tc.uid)
		if u.Name != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("LookupID(%d) = %q, %v; want %q, %v", tc.uid, u.Name, err, tc.want, tc.err)
		}
	}
}
