package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildLMTP builds letterbox-lmtp into dir, beside the letterbox there,
// where "letterbox lmtp" looks for it.
func buildLMTP(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "letterbox-lmtp"), "../letterbox-lmtp").CombinedOutput()
	if err != nil {
		t.Fatalf("go build letterbox-lmtp: %v\n%s", err, out)
	}
}

// startLMTPServer runs argv (ending in "letterbox lmtp -c FILE") and waits
// until the server greets on the unix socket sock. The caller stops it with
// stopLMTPServer.
func startLMTPServer(t *testing.T, sock string, argv ...string) *proc {
	t.Helper()
	p := startProc(t, "/", argv...)
	waitFor(t, 30*time.Second, "the LMTP server on "+sock, func() bool {
		if p.exited() {
			t.Fatalf("%s exited %d: %s", p.name, p.code, p.stderr.String())
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		defer c.Close()
		// Greeting, QUIT, 221: a client that hung up on the greeting
		// would be logged as a reset connection.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
			t.Fatalf("%s: greeting %q %v", sock, l, err)
		}
		io.WriteString(c, "QUIT\r\n")
		if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "221 ") {
			t.Fatalf("%s: QUIT: %q %v", sock, l, err)
		}
		return true
	})
	return p
}

// stopLMTPServer ends the server with SIGTERM, as systemd does, and wants
// exit status 0 and no warning or error in its log besides the lines of
// deliveries (a deferred one is logged as a warning).
func stopLMTPServer(t *testing.T, p *proc) {
	t.Helper()
	p.killGroup(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("%s: exit %d after SIGTERM:\n%s", p.name, code, p.stderr.String())
	}
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if (strings.HasPrefix(l, "warning: ") || strings.HasPrefix(l, "error: ")) && !strings.Contains(l, ", relay=letterbox, ") {
			t.Errorf("%s logged a warning or error:\n%s", p.name, p.stderr.String())
			break
		}
	}
}

// TestPostfixLMTP runs a real Postfix whose lmtp(8) client delivers to
// "letterbox lmtp", set up as README.md says:
//
//   - mailbox_transport to a server running as root, for system users: it
//     delivers through a child "letterbox deliver -d USER" that becomes the
//     user, so the mailbox is the user's, 0600, with one From_ line and one
//     each of Return-Path, X-Original-To and Delivered-To;
//   - virtual_transport to a server running as the vmail user, with
//     [lmtp] mailbox naming the virtual layout (Maildirs);
//   - a delivery held up by a busy mbox lock is answered 451 4.2.0, which
//     Postfix defers and keeps; once the lock is released a flush
//     delivers it exactly once, and the queue ends empty.
func TestPostfixLMTP(t *testing.T) {
	dir, bin := postfixSetup(t)
	buildLMTP(t, filepath.Dir(bin))
	alice, delAlice, err := addUser("alice", filepath.Join(dir, "home", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer delAlice()
	vmail, delVmail, err := addUser("vmail", filepath.Join(dir, "vmail"))
	if err != nil {
		t.Fatal(err)
	}
	defer delVmail()
	pfDir := filepath.Join(dir, "postfix")
	queue := filepath.Join(pfDir, "queue")

	// The virtual server's socket directory: vmail's, group postfix and
	// set-group-ID, so the socket it makes there is group postfix and the
	// default socket_mode 0660 lets Postfix in, and no one else.
	vrun := filepath.Join(dir, "vrun")
	if err := os.Mkdir(vrun, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(vrun, vmail.UID, postfixGID(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(vrun, os.ModeSetgid|0o750); err != nil {
		t.Fatal(err)
	}
	vsock := filepath.Join(vrun, "lmtp")
	// The root server's socket is in Postfix's private/ directory, which
	// only Postfix can enter (as Dovecot's LMTP recipe does it).
	sock := filepath.Join(queue, "private", "letterbox")

	// The recipes of README.md, with the paths of this test. A short
	// lock_timeout, so that a held lock defers within the test.
	conf := writeFile(t, filepath.Join(dir, "letterbox.toml"), fmt.Sprintf(`home_mailbox = "mbox"
lock_timeout = "2s"
log = "stderr"

[lmtp]
listen = ["unix:%s"]
socket_mode = "0666"
`, sock), 0o644)
	vconf := writeFile(t, filepath.Join(dir, "letterbox-vmail.toml"), fmt.Sprintf(`log = "stderr"

[lmtp]
listen = ["unix:%s"]
mailbox = "%s/{domain}/{user}/"
`, vsock, vmail.Home), 0o644)
	mainExtra := fmt.Sprintf(`mailbox_transport = lmtp:unix:private/letterbox
virtual_mailbox_domains = virtual.test
virtual_transport = lmtp:unix:%s
`, vsock)
	pf := startPostfix(t, pfDir, mainExtra, "")

	// Postfix made private/ when it started; the servers start after it.
	root := startLMTPServer(t, sock, bin, "lmtp", "-c", conf)
	virt := startLMTPServer(t, vsock, "setpriv", "--reuid="+strconv.Itoa(vmail.UID), "--regid="+strconv.Itoa(vmail.GID), "--clear-groups", bin, "lmtp", "-c", vconf)
	if st := stat(t, sock); st.Mode&0o777 != 0o666 || st.Uid != 0 {
		t.Errorf("root server's socket: uid %d mode %o, want 0 666", st.Uid, st.Mode&0o777)
	}
	if st := stat(t, vsock); st.Mode&0o777 != 0o660 || int(st.Uid) != vmail.UID || int(st.Gid) != postfixGID(t) {
		t.Errorf("vmail server's socket: uid %d gid %d mode %o, want %d %d 660", st.Uid, st.Gid, st.Mode&0o777, vmail.UID, postfixGID(t))
	}

	aliceAddr := alice.Name + "@letterbox.test"
	aliceMbox := filepath.Join(alice.Home, "mbox")
	sent := func(line, relay string) {
		t.Helper()
		re := `postfix/lmtp\[\d+\]: .*relay=\S+\[` + regexp.QuoteMeta(relay) + `\], .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <[^>]+> Delivered\)`
		if !regexp.MustCompile(re).MatchString(line) {
			t.Fatalf("want a delivery by lmtp to %s, sent with 2.0.0; got:\n%s", relay, line)
		}
		t.Logf("maillog: %s", line)
	}

	// a. mailbox_transport: alice's home mbox, written by the child as
	// alice.
	id := pf.send("sender@example.org", aliceAddr, "one@test", "Subject: one\n\nFrom the start.\n")
	sent(pf.delivery(id, aliceAddr), "private/letterbox")
	raw, err := os.ReadFile(aliceMbox)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^From `).FindAll(raw, -1)); n != 1 || !strings.HasPrefix(string(raw), "From sender@example.org ") {
		t.Errorf("alice's mbox: %d From_ lines, want 1, of the sender; the body's From line quoted:\n%s", n, raw)
	}
	_, msgs := readMbox(t, aliceMbox)
	if len(msgs) != 1 {
		t.Fatalf("alice's mbox holds %d messages, want 1", len(msgs))
	}
	for _, want := range []string{"Return-Path: <sender@example.org>\n", "X-Original-To: " + aliceAddr + "\n", "Delivered-To: " + aliceAddr + "\n", "Subject: one\n", "\nFrom the start.\n"} {
		if strings.Count(string(msgs[0]), want) != 1 {
			t.Errorf("alice's message does not hold %q once:\n%s", want, msgs[0])
		}
	}
	if !strings.HasPrefix(string(msgs[0]), "Return-Path: ") {
		t.Errorf("alice's message does not start with the envelope block:\n%s", msgs[0])
	}
	if st := stat(t, aliceMbox); int(st.Uid) != alice.UID || int(st.Gid) != alice.GID || st.Mode&0o777 != 0o600 {
		t.Errorf("alice's mbox: uid %d gid %d mode %o, want %d %d 600", st.Uid, st.Gid, st.Mode&0o777, alice.UID, alice.GID)
	}

	// b. virtual_transport: carol's Maildir in the virtual layout, made by
	// the server running as vmail.
	id = pf.send("sender@example.org", "carol@virtual.test", "two@test", "Subject: two\n\nbody\n")
	sent(pf.delivery(id, "carol@virtual.test"), vsock)
	maildir := filepath.Join(vmail.Home, "virtual.test", "carol")
	files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	if len(files) != 1 {
		t.Fatalf("carol's Maildir holds %d new messages, want 1", len(files))
	}
	if b, _ := os.ReadFile(files[0]); !strings.HasPrefix(string(b), "Return-Path: <sender@example.org>\n") || strings.Count(string(b), "Delivered-To: carol@virtual.test\n") != 1 || !strings.Contains(string(b), "Subject: two\n") {
		t.Errorf("carol's message:\n%s", b)
	}
	for _, p := range []string{filepath.Join(vmail.Home, "virtual.test"), maildir, files[0]} {
		if st := stat(t, p); int(st.Uid) != vmail.UID {
			t.Errorf("%s: uid %d, want vmail's %d", p, st.Uid, vmail.UID)
		}
	}

	// c. A lock held past lock_timeout: the child says 4.2.0, the server
	// answers 451 4.2.0, Postfix defers and keeps the message.
	release := holdLock(t, bin, conf, aliceMbox)
	id = pf.send("sender@example.org", aliceAddr, "three@test", "Subject: three\n\nbody\n")
	line := pf.delivery(id, aliceAddr)
	if !regexp.MustCompile(`postfix/lmtp\[\d+\]: .*relay=\S+\[private/letterbox\], .*dsn=4\.2\.0, status=deferred \(host \S+ said: 451 4\.2\.0 .*/mbox\.lock: lock busy for 2s \(held by `).MatchString(line) {
		t.Fatalf("delivery under a held lock: %s", line)
	}
	t.Logf("maillog: %s", line)
	pf.wantQueued(id)
	if _, msgs := readMbox(t, aliceMbox); len(msgs) != 1 {
		t.Fatalf("alice's mbox holds %d messages while locked, want 1", len(msgs))
	}
	release()
	sent(pf.flushDeferred(id, aliceAddr), "private/letterbox")
	_, msgs = readMbox(t, aliceMbox)
	if len(msgs) != 2 || !strings.Contains(string(msgs[1]), "Subject: three\n") {
		t.Fatalf("after the flush alice's mbox holds %d messages, want 2 (one, three): %q", len(msgs), msgs)
	}

	// d. Nothing is left in the queue, and both servers stop cleanly.
	pf.wantQueueEmpty()
	stopLMTPServer(t, root)
	stopLMTPServer(t, virt)
}

func postfixGID(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("id", "-g", "postfix").Output()
	if err != nil {
		t.Fatalf("id -g postfix: %v", err)
	}
	gid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return gid
}
