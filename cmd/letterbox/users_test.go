package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"letterbox/internal/passwd"
)

// addUser creates a system user for a test with useradd (root only): a
// unique name built from name, home as its home directory (created, owned by
// the user, 0700) and its own group. It returns the user and a function that
// deletes it again.
func addUser(name, home string) (passwd.User, func(), error) {
	var b [3]byte
	rand.Read(b[:])
	real := "lb" + hex.EncodeToString(b[:]) + "-" + name
	if len(real) > 32 {
		return passwd.User{}, nil, fmt.Errorf("user name %s too long", real)
	}
	out, err := exec.Command("useradd", "-M", "-U", "-d", home, "-s", "/usr/sbin/nologin", real).CombinedOutput()
	if err != nil {
		return passwd.User{}, nil, fmt.Errorf("useradd %s: %v: %s", real, err, out)
	}
	del := func() { exec.Command("userdel", real).Run() }
	u, err := passwd.System().Lookup(real)
	if err == nil {
		err = os.MkdirAll(home, 0o700)
	}
	if err == nil {
		err = os.Chown(home, u.UID, u.GID)
	}
	if err == nil {
		err = openPath(filepath.Dir(home))
	}
	if err != nil {
		del()
		return passwd.User{}, nil, err
	}
	return u, del, nil
}

// openPath lets every user traverse dir and its parents up to the
// temporary directory: test directories are made 0700 by root, and a
// delivery that switched to a test user must reach its mailbox.
func openPath(dir string) error {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// cmdUseradd is "useradd NAME": a system user for this script (root only),
// deleted when the script ends. It sets $NAME to the user's real name, and
// $NAME_UID, $NAME_GID and $NAME_HOME ($WORK/home/NAME). The letterbox
// executable is made reachable so that scripts can run it as the user.
func cmdUseradd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: useradd NAME")
	}
	name := args[0]
	u, del, err := addUser(name, ts.MkAbs(filepath.Join("home", name)))
	ts.Check(err)
	ts.Defer(del)
	ts.Setenv(name, u.Name)
	ts.Setenv(name+"_UID", strconv.Itoa(u.UID))
	ts.Setenv(name+"_GID", strconv.Itoa(u.GID))
	ts.Setenv(name+"_HOME", u.Home)
	lb, err := exec.LookPath("letterbox")
	ts.Check(err)
	ts.Check(openPath(filepath.Dir(lb)))
	ts.Check(openPath(ts.MkAbs(".")))
}

// TestAddUser checks the helper the user tests stand on: the user exists in
// the database with its home, and is gone after the cleanup.
func TestAddUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: useradd")
	}
	home := filepath.Join(t.TempDir(), "home")
	u, del, err := addUser("t", home)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(home)
	if err != nil || u.Home != home || u.UID == 0 {
		t.Fatalf("user %+v, home %v %v", u, fi, err)
	}
	del()
	if _, err := passwd.System().Lookup(u.Name); err == nil {
		t.Fatalf("user %s still exists after the cleanup", u.Name)
	}
}
