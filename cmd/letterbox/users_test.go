package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"letterbox/internal/passwd"
	"letterbox/internal/testuser"
)

// addUser and openPath are testuser's, under the names these tests use.
var (
	addUser  = testuser.Add
	openPath = testuser.OpenPath
)

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
