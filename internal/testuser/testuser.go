// Package testuser makes system users for tests that run as root, with
// useradd, and deletes them again. Only tests import it.
package testuser

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"letterbox/internal/passwd"
)

// Add creates a system user with useradd (root only): a unique name built
// from name, home as its home directory (created, owned by the user, 0700)
// and its own group. It returns the user and a function that deletes it
// again.
func Add(name, home string) (passwd.User, func(), error) {
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
		err = OpenPath(filepath.Dir(home))
	}
	if err != nil {
		del()
		return passwd.User{}, nil, err
	}
	return u, del, nil
}

// OpenPath lets every user traverse dir and its parents up to the
// temporary directory: test directories are made 0700 by root, and a
// delivery that switched to a test user must reach its mailbox.
func OpenPath(dir string) error {
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
