package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// postfix is a private Postfix instance for one test: its own
// configuration, queue and log file below a temporary directory, no network
// listener at all (mail comes in through sendmail), started and stopped by
// the test.
type postfix struct {
	t      *testing.T
	config string // the configuration directory
	log    string // maillog_file
}

const postfixMain = `compatibility_level = 3.6
queue_directory = {{dir}}/queue
data_directory = {{dir}}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = letterbox.test
mydomain = letterbox.test
myorigin = $myhostname
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost =
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
maillog_file = {{dir}}/maillog
maillog_file_prefixes = {{dir}}
# Retries happen when the test flushes the queue, not on their own.
queue_run_delay = 1h
minimal_backoff_time = 1h
maximal_backoff_time = 1h
`

// postfixMaster has no smtpd: nothing listens, not even on loopback.
const postfixMaster = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// startPostfix writes the configuration (main.cf plus extra lines, master.cf
// plus extra services), starts Postfix and stops it when the test ends.
func startPostfix(t *testing.T, dir, mainExtra, masterExtra string) *postfix {
	t.Helper()
	p := &postfix{t: t, config: filepath.Join(dir, "etc"), log: filepath.Join(dir, "maillog")}
	for _, d := range []string{p.config, filepath.Join(dir, "queue"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "data"), postfixUID(t), -1); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(p.config, "main.cf"), strings.ReplaceAll(postfixMain, "{{dir}}", dir)+mainExtra, 0o644)
	writeFile(t, filepath.Join(p.config, "master.cf"), postfixMaster+masterExtra, 0o644)
	p.run("postfix", "-c", p.config, "check")
	p.run("postfix", "-c", p.config, "start")
	t.Cleanup(func() {
		if os.Getenv("KEEPLOG") != "" {
			exec.Command("cp", p.log, os.Getenv("KEEPLOG")).Run()
		}
		exec.Command("postfix", "-c", p.config, "stop").Run()
		// postfix stop returns before the master has gone; its pid file
		// goes with it.
		pid := filepath.Join(dir, "queue", "pid", "master.pid")
		deadline := time.Now().Add(10 * time.Second)
		for exists(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	p.waitLog(`postfix/master\[\d+\]: daemon started`)
	return p
}

func postfixUID(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("id", "-u", "postfix").Output()
	if err != nil {
		t.Fatalf("id -u postfix: %v", err)
	}
	var uid int
	fmt.Sscan(string(out), &uid)
	return uid
}

// run runs a Postfix command against this instance.
func (p *postfix) run(argv ...string) string {
	p.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+p.config)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s: %v\n%s\nmaillog:\n%s", strings.Join(argv, " "), err, out, p.readLog())
	}
	return string(out)
}

// send submits msg with sendmail and returns its queue ID, found in the log
// by the message's Message-ID.
func (p *postfix) send(sender, rcpt, msgID, msg string) string {
	p.t.Helper()
	cmd := exec.Command("sendmail", "-i", "-f", sender, "--", rcpt)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+p.config)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("Message-ID: <%s>\n%s", msgID, msg))
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("sendmail: %v\n%s", err, out)
	}
	m := p.waitLog(`postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=<` + regexp.QuoteMeta(msgID) + `>`)
	return m[1]
}

func (p *postfix) readLog() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitLog waits for a log line matching re and returns its submatches.
func (p *postfix) waitLog(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(`(?m)^.*` + re + `.*$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := rx.FindStringSubmatch(p.readLog()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no log line matching %s in 60s; maillog:\n%s", re, p.readLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// delivery waits for the final word on queue ID id's delivery to rcpt
// (sent, deferred or bounced) and returns that log line.
func (p *postfix) delivery(id, rcpt string) string {
	p.t.Helper()
	return p.waitLog(regexp.QuoteMeta(id+": to=<"+rcpt+">") + `.*status=(sent|deferred|bounced)`)[0]
}

// postfixSetup is what every Postfix test starts with: it skips unless
// root with Postfix installed, and returns a temporary directory that every
// user can traverse, with the letterbox binary (testscript's copy) in
// dir/bin where every user can run it.
func postfixSetup(t *testing.T) (dir, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts a Postfix instance and makes users with useradd")
	}
	needPeers(t, "postfix")
	dir = t.TempDir()
	if err := openPath(dir); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "bin", "letterbox")
	os.Mkdir(filepath.Dir(bin), 0o755)
	src, err := os.ReadFile(letterboxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, bin, string(src), 0o755)
	return dir, bin
}

// holdLock holds the lock of mailbox with "letterbox lock" until the
// returned function is called, which waits for the holder to exit.
func holdLock(t *testing.T, bin, conf, mailbox string) (release func()) {
	t.Helper()
	holder := exec.Command(bin, "lock", "-c", conf, mailbox, "--", "sh", "-c", "echo held; read x || true")
	holder.Env = testEnv()
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	if _, err := io.ReadFull(stdout, make([]byte, 5)); err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	return func() {
		t.Helper()
		stdin.Close()
		if err := holder.Wait(); err != nil {
			t.Fatalf("lock holder: %v", err)
		}
	}
}

// wantQueued fails unless queue ID id is in the queue.
func (p *postfix) wantQueued(id string) {
	p.t.Helper()
	if q := p.run("postqueue", "-p"); !strings.Contains(q, id) {
		p.t.Fatalf("deferred message %s is not in the queue:\n%s", id, q)
	}
}

// wantQueueEmpty fails unless the queue is empty.
func (p *postfix) wantQueueEmpty() {
	p.t.Helper()
	if q := p.run("postqueue", "-p"); !strings.Contains(q, "Mail queue is empty") {
		p.t.Fatalf("queue not empty:\n%s", q)
	}
}

// flushDeferred flushes the queue and waits until the deferred message id
// has been delivered to rcpt and removed from the queue: two attempts
// logged in all (deferred, sent), so it was delivered once. It returns
// the line of the second attempt.
func (p *postfix) flushDeferred(id, rcpt string) string {
	p.t.Helper()
	p.run("postqueue", "-f")
	line := p.waitLog(regexp.QuoteMeta(id+": to=<"+rcpt+">") + `.*status=sent`)[0]
	p.waitLog(regexp.QuoteMeta(id + ": removed"))
	if n := strings.Count(p.readLog(), id+": to=<"+rcpt+">"); n != 2 {
		p.t.Fatalf("%d delivery attempts logged for %s, want 2 (deferred, sent)", n, id)
	}
	return line
}

// TestPostfix runs a real Postfix (Debian's package) that delivers through
// letterbox, set up as README.md says: as mailbox_command for a local user,
// and as a pipe(8) transport (flags=DRhu, one recipient per delivery) for a
// virtual domain. A delivery held up by a busy mailbox lock is deferred by
// Postfix with letterbox's 4.2.0 and delivered exactly once by a later flush;
// a Delivered-To loop that letterbox finds is bounced with 5.4.6.
func TestPostfix(t *testing.T) {
	dir, bin := postfixSetup(t)
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
	// A short lock_timeout, so that a held lock defers within the test.
	conf := writeFile(t, filepath.Join(dir, "letterbox.toml"), `home_mailbox = "mbox"
lock_timeout = "2s"
log = "stderr"
`, 0o644)

	// The recipes of README.md, with the paths of this test.
	mainExtra := fmt.Sprintf(`mailbox_command = %[1]s deliver -c %[2]s -f "$SENDER" -a "$ORIGINAL_RECIPIENT" -r "$RECIPIENT"
transport_maps = inline:{ pipe.test=letterbox, loop.test=noloopcheck }
letterbox_destination_recipient_limit = 1
`, bin, conf)
	masterExtra := fmt.Sprintf(`letterbox unix  -       n       n       -       -       pipe
  flags=DRhu user=%[3]s argv=%[1]s deliver -c %[2]s -f ${sender} -a ${original_recipient} -r ${recipient} %[4]s/${user}
noloopcheck unix -      n       n       -       -       pipe
  flags=Rhu user=%[3]s argv=%[1]s deliver -c %[2]s -f ${sender} -r loop@loop.test %[4]s/loop
`, bin, conf, vmail.Name, vmail.Home)
	pf := startPostfix(t, filepath.Join(dir, "postfix"), mainExtra, masterExtra)

	aliceAddr := alice.Name + "@letterbox.test"
	aliceMbox := filepath.Join(alice.Home, "mbox")

	// 1. mailbox_command: a local user's home mbox, written as the user.
	id := pf.send("sender@example.org", aliceAddr, "one@test", "Subject: one\n\nFrom the start.\n")
	if line := pf.delivery(id, aliceAddr); !strings.Contains(line, "status=sent (delivered to command: ") {
		t.Fatalf("mailbox_command delivery: %s", line)
	}
	_, msgs := readMbox(t, aliceMbox)
	if len(msgs) != 1 {
		t.Fatalf("alice's mbox holds %d messages, want 1", len(msgs))
	}
	// Postfix's From_ line and headers were taken as the envelope block:
	// one Return-Path, one Delivered-To; the body's From line is quoted in
	// the file and comes back from the reader.
	for _, want := range []string{"Return-Path: <sender@example.org>\n", "X-Original-To: " + aliceAddr + "\n", "Delivered-To: " + aliceAddr + "\n", "\nFrom the start.\n"} {
		if strings.Count(string(msgs[0]), want) != 1 {
			t.Errorf("alice's message does not hold %q once:\n%s", want, msgs[0])
		}
	}
	if raw, _ := os.ReadFile(aliceMbox); !strings.HasPrefix(string(raw), "From sender@example.org ") || !strings.Contains(string(raw), "\n>From the start.\n") {
		t.Errorf("alice's mbox: no From_ line of the sender, or the body's From line is not quoted:\n%s", raw)
	}
	if st := stat(t, aliceMbox); int(st.Uid) != alice.UID || st.Mode&0o777 != 0o600 {
		t.Errorf("alice's mbox: uid %d mode %o, want %d 600", st.Uid, st.Mode&0o777, alice.UID)
	}

	// 2. pipe transport: a virtual mailbox below vmail's directory.
	id = pf.send("sender@example.org", "carol@pipe.test", "two@test", "Subject: two\n\nbody\n")
	if line := pf.delivery(id, "carol@pipe.test"); !strings.Contains(line, "relay=letterbox") || !strings.Contains(line, "status=sent") {
		t.Fatalf("pipe delivery: %s", line)
	}
	_, msgs = readMbox(t, filepath.Join(vmail.Home, "carol"))
	if len(msgs) != 1 || strings.Count(string(msgs[0]), "Delivered-To: carol@pipe.test\n") != 1 || !strings.Contains(string(msgs[0]), "Subject: two\n") {
		t.Fatalf("carol's mbox: %q", msgs)
	}

	// 3. A lock held past lock_timeout: letterbox says 4.2.0, Postfix defers
	// and keeps the message.
	release := holdLock(t, bin, conf, aliceMbox)
	id = pf.send("sender@example.org", aliceAddr, "three@test", "Subject: three\n\nbody\n")
	line := pf.delivery(id, aliceAddr)
	if !regexp.MustCompile(`dsn=4\.2\.0, status=deferred \(\S+/mbox\.lock: lock busy for 2s \(held by `).MatchString(line) {
		t.Fatalf("delivery under a held lock: %s", line)
	}
	pf.wantQueued(id)
	if _, msgs := readMbox(t, aliceMbox); len(msgs) != 1 {
		t.Fatalf("alice's mbox holds %d messages while locked, want 1", len(msgs))
	}

	// 4. A Delivered-To loop found by letterbox (this transport has no D
	// flag, so Postfix does not look): bounced with 5.4.6. The null sender
	// gets no bounce message.
	loopID := pf.send("", "loop@loop.test", "four@test", "Subject: four\nDelivered-To: loop@loop.test\n\nbody\n")
	if line := pf.delivery(loopID, "loop@loop.test"); !regexp.MustCompile(`relay=noloopcheck, .*dsn=5\.4\.6, status=bounced \(mail forwarding loop for loop@loop\.test`).MatchString(line) {
		t.Fatalf("loop: %s", line)
	}
	if exists(filepath.Join(vmail.Home, "loop")) {
		t.Fatal("the looping message was written")
	}

	// 5. The lock is released; a flush delivers the deferred message, once.
	release()
	pf.flushDeferred(id, aliceAddr)
	_, msgs = readMbox(t, aliceMbox)
	if len(msgs) != 2 || !strings.Contains(string(msgs[1]), "Subject: three\n") {
		t.Fatalf("after the flush alice's mbox holds %d messages, want 2 (one, three): %q", len(msgs), msgs)
	}
	pf.wantQueueEmpty()
}
