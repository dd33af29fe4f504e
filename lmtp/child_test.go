package lmtp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"letterbox/config"
	"letterbox/internal/passwd"
	"letterbox/internal/testuser"
)

// buildLetterbox builds the real letterbox binary into dir, for the
// server's Exe.
func buildLetterbox(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "letterbox")
	if out, err := exec.Command("go", "build", "-o", exe, "../cmd/letterbox").CombinedOutput(); err != nil {
		t.Fatalf("go build letterbox: %v\n%s", err, out)
	}
	return exe
}

func owner(t *testing.T, path string) (uid, gid int, mode os.FileMode) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid), int(st.Gid), os.FileMode(st.Mode & 0o7777)
}

// TestRootChild runs the server as root for real system users (useradd),
// with the real letterbox binary as Exe: each recipient's mail is
// delivered by a child "letterbox deliver -d USER" that becomes the user,
// so every file it makes is the user's and a mailbox the user may not
// write is not written, though root could; an unknown user is refused at
// RCPT with 550 5.1.1.
func TestRootChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes users with useradd and delivers as them")
	}
	if testing.Short() {
		t.Skip("builds letterbox")
	}
	var users [2]passwd.User
	ts := start(t, nil, func(o *Options) {
		if err := testuser.OpenPath(o.TempDir); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"alice", "bob"} {
			u, del, err := testuser.Add(name, filepath.Join(o.TempDir, "home", name))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(del)
			users[i] = u
		}
		// The child reads the same file as the server (-c).
		o.ConfigPath = filepath.Join(o.TempDir, "letterbox.toml")
		if err := os.WriteFile(o.ConfigPath, []byte("home_mailbox = \"mbox\"\nlog = \"none\"\nlock_timeout = \"2s\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(o.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		c.LMTP.Timeout = o.Config.LMTP.Timeout
		o.Config = c
		o.Users = passwd.System()
		o.Exe = buildLetterbox(t, o.TempDir)
	})
	alice, bob := users[0], users[1]
	aliceMbox, bobMbox := filepath.Join(alice.Home, "mbox"), filepath.Join(bob.Home, "mbox")

	// Alice and bob in one transaction; an unknown user refused at RCPT.
	r := dial(t, ts.addr)
	r.hello()
	r.expect("MAIL FROM:<sender@example.org>\r\n", "250 ")
	r.expect("RCPT TO:<"+alice.Name+"@example.net>\r\n", "250 ")
	r.expect("RCPT TO:<lb-no-such-user@example.net>\r\n", "550 5.1.1 ")
	r.expect("RCPT TO:<"+bob.Name+"@example.net>\r\n", "250 ")
	r.expect("DATA\r\n", "354 ")
	r.send("Subject: hi\r\n\r\nFrom here\r\n.\r\n")
	r.expect("", "250 2.0.0 <"+alice.Name+"@example.net>")
	r.expect("", "250 2.0.0 <"+bob.Name+"@example.net>")
	for _, c := range []struct {
		u    passwd.User
		mbox string
	}{{alice, aliceMbox}, {bob, bobMbox}} {
		got := messages(t, c.mbox)
		addr := c.u.Name + "@example.net"
		if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <sender@example.org>\nX-Original-To: "+addr+"\nDelivered-To: "+addr+"\n") || !strings.Contains(got[0], "Subject: hi\n\nFrom here\n") {
			t.Fatalf("%s: %q", c.mbox, got)
		}
		if uid, gid, mode := owner(t, c.mbox); uid != c.u.UID || gid != c.u.GID || mode != 0o600 {
			t.Errorf("%s: uid %d gid %d mode %o, want %d %d 600", c.mbox, uid, gid, mode, c.u.UID, c.u.GID)
		}
		// Nothing in the home directory is root's: the lock files were
		// made by the user too.
		out, err := exec.Command("find", c.u.Home, "!", "-user", c.u.Name).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("files in %s not owned by %s: %s %v", c.u.Home, c.u.Name, out, err)
		}
	}

	// Alice's mbox, hers but read-only: root could append to it, alice
	// cannot; the delivery fails temporarily and the file is unchanged.
	before, err := os.ReadFile(aliceMbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(aliceMbox, 0o400); err != nil {
		t.Fatal(err)
	}
	r.expect("MAIL FROM:<sender@example.org>\r\n", "250 ")
	r.expect("RCPT TO:<"+alice.Name+"@example.net>\r\n", "250 ")
	r.expect("DATA\r\n", "354 ")
	r.send("Subject: two\r\n\r\nbody\r\n.\r\n")
	rep := r.expect("", "45")
	if after, _ := os.ReadFile(aliceMbox); string(after) != string(before) {
		t.Errorf("alice's read-only mbox was written (reply %q):\n%s", rep, after)
	}
	t.Logf("read-only mailbox: %s", rep)

	// Writable again: delivered.
	if err := os.Chmod(aliceMbox, 0o600); err != nil {
		t.Fatal(err)
	}
	r.expect("MAIL FROM:<sender@example.org>\r\n", "250 ")
	r.expect("RCPT TO:<"+alice.Name+"@example.net>\r\n", "250 ")
	r.expect("DATA\r\n", "354 ")
	r.send("Subject: three\r\n\r\nbody\r\n.\r\n")
	r.expect("", "250 2.0.0 ")
	if got := messages(t, aliceMbox); len(got) != 2 || !strings.Contains(got[1], "Subject: three\n") {
		t.Fatalf("alice's mbox: %q", got)
	}
	r.expect("QUIT\r\n", "221 ")
}
