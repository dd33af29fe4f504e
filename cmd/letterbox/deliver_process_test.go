package main

// Delivery under real failures, with real processes: a signal in the middle
// of a large append, a file-size limit (EFBIG), a full filesystem (ENOSPC),
// and concurrent deliveries by letterbox and procmail into one mailbox.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"letterbox/mbox"
)

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// seedMailbox writes an mbox of about size bytes.
func seedMailbox(t *testing.T, path string, size int) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "From old@example.org  Sat Nov 21 00:00:00 2026\nSubject: old %d\n\n%s\n\n", i, strings.Repeat("o", 1000))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// bigMessage writes a message of about size bytes to a file.
func bigMessage(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "Subject: big\n\n")
	line := []byte(strings.Repeat("b", 99) + "\n")
	for n := 0; n < size; n += len(line) {
		f.Write(line)
	}
}

// noLeftovers asserts that no lock or temporary file is next to M.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".lock") || strings.HasPrefix(e.Name(), ".letterbox") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestDeliverSignalRollsBack: SIGTERM while a 300 MB message is being
// appended undoes the append (exit 75, mailbox byte-identical). If the
// signal comes too late — the data already durable — the delivery stands
// (exit 0, message complete); never anything in between.
func TestDeliverSignalRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 600 MB")
	}
	bin := letterboxPath(t)
	dir := t.TempDir()
	mb := filepath.Join(dir, "M")
	seedMailbox(t, mb, 100<<10)
	before := sum(t, mb)
	st0, _ := os.Stat(mb)
	msg := filepath.Join(dir, "msg")
	bigMessage(t, msg, 300<<20)
	rolledBack := 0
	for try := 0; try < 3 && rolledBack == 0; try++ {
		p := startProc(t, dir, bin, "deliver", "-p", msg, "-f", "a@b", "-r", "c@d", "M")
		// Wait for the append to start, then interrupt it.
		waitFor(t, 60*time.Second, "the append to start", func() bool {
			st, err := os.Stat(mb)
			return err == nil && st.Size() > st0.Size()+(1<<20) || p.exited()
		})
		p.cmd.Process.Signal(syscall.SIGTERM)
		switch code := p.wait(t, 60*time.Second); code {
		case 75:
			if !regexp.MustCompile(`\A4\.2\.0 M: delivery interrupted; undone\n`).MatchString(p.stderr.String()) {
				t.Fatalf("stderr: %s", p.stderr.String())
			}
			if sum(t, mb) != before {
				t.Fatal("mailbox changed by an interrupted delivery")
			}
			rolledBack++
		case 0:
			st, _ := os.Stat(mb)
			if st.Size() < st0.Size()+300<<20 {
				t.Fatalf("exit 0 with a partial message: %d bytes", st.Size())
			}
			t.Log("the signal came after the data was durable; the delivery stands")
			seedMailbox(t, mb, 100<<10)
			before = sum(t, mb)
		default:
			t.Fatalf("exit %d: %s", code, p.stderr.String())
		}
		noLeftovers(t, dir)
	}
	if rolledBack == 0 {
		t.Fatal("never caught the append in the middle")
	}
}

// TestKilledWriterTakenBack: a delivery SIGKILLed in the middle of its
// append leaves a partial message and its lock; the next delivery breaks
// the dead writer's lock at once and takes the partial message back, so the
// mailbox holds the messages before, the new one, and — after the MTA's
// retry — the killed one, each once and intact (issue 12, item 5).
func TestKilledWriterTakenBack(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	mb := filepath.Join(dir, "M")
	seedMailbox(t, mb, 100<<10)
	before, _ := os.ReadFile(mb)
	msg := filepath.Join(dir, "msg")
	bigMessage(t, msg, 200<<20)
	p := startProc(t, dir, bin, "deliver", "-p", msg, "-f", "a@b", "-r", "c@d", "M")
	waitFor(t, 60*time.Second, "the append to start", func() bool {
		st, err := os.Stat(mb)
		return err == nil && st.Size() > int64(len(before))+(1<<20) || p.exited()
	})
	p.cmd.Process.Signal(syscall.SIGKILL)
	if code := p.wait(t, 60*time.Second); code == 0 {
		t.Skip("the delivery finished before the kill")
	}
	st, _ := os.Stat(mb)
	if st.Size() >= int64(len(before))+200<<20 {
		t.Skip("the kill came after the whole message was written")
	}
	if _, err := os.Stat(mb + ".lock"); err != nil {
		t.Fatalf("the killed writer left no lock: %v", err)
	}
	next := exec.Command(bin, "deliver", "-f", "n@b", "-r", "c@d", "M")
	next.Dir, next.Env, next.Stdin = dir, testEnv(), strings.NewReader("Subject: next\n\nafter the kill\n")
	if out, err := next.CombinedOutput(); err != nil {
		t.Fatalf("next delivery: %v: %s", err, out)
	}
	got, _ := os.ReadFile(mb)
	if !bytes.HasPrefix(got, before) || !bytes.Contains(got[len(before):], []byte("Subject: next")) || len(got)-len(before) > 1000 {
		t.Fatalf("after the next delivery the mailbox is %d bytes; want the %d before, then the new message (the remnant taken back)", len(got), len(before))
	}
	retry := exec.Command(bin, "deliver", "-p", msg, "-f", "a@b", "-r", "c@d", "M")
	retry.Dir, retry.Env = dir, testEnv()
	if out, err := retry.CombinedOutput(); err != nil {
		t.Fatalf("the MTA's retry: %v: %s", err, out)
	}
	check := exec.Command(bin, "check", "M")
	check.Dir, check.Env = dir, testEnv()
	if out, err := check.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("sound")) {
		t.Errorf("check: %v: %s", err, out)
	}
	f, err := os.Open(mb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mbox.NewReader(f, mbox.MboxRD)
	var sizes []int64
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rd)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
	}
	big := 0
	for _, n := range sizes {
		if n > 100<<20 {
			big++
		}
	}
	if big != 1 || len(sizes) < 3 {
		t.Errorf("messages of sizes %v: want the seeds, the next one and the large one once", sizes)
	}
	noLeftovers(t, dir)
}

// TestDeliverEFBIG: a file-size limit (RLIMIT_FSIZE, as Postfix sets it for
// mailbox_size_limit) makes the append fail with EFBIG part way; it is
// undone, and the size policy decides the status (4.2.2 by default).
func TestDeliverEFBIG(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	mb := filepath.Join(dir, "M")
	seedMailbox(t, mb, 900<<10)
	before := sum(t, mb)
	msg := filepath.Join(dir, "msg")
	bigMessage(t, msg, 512<<10) // stays in the in-memory spool
	// 1 MiB: the mailbox is at 900 KiB, the message would take it past.
	code, _, errOut := runProc(t, dir, 30*time.Second, "prlimit", "--fsize=1048576", bin, "deliver", "-p", "msg", "-f", "a@b", "-r", "c@d", "M")
	if code != 75 || errOut != "4.2.2 M: write: file too large\n" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if sum(t, mb) != before {
		t.Fatal("mailbox changed")
	}
	noLeftovers(t, dir)
	// With quota_tempfail = false the same is a permanent 5.2.2 (73).
	cfg := writeFile(t, filepath.Join(dir, "perm.toml"), "quota_tempfail = false\n", 0o644)
	code, _, errOut = runProc(t, dir, 30*time.Second, "prlimit", "--fsize=1048576", bin, "deliver", "-c", cfg, "-p", "msg", "-f", "a@b", "-r", "c@d", "M")
	if code != 73 || errOut != "5.2.2 M: write: file too large\n" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if sum(t, mb) != before {
		t.Fatal("mailbox changed")
	}
}

// TestDeliverENOSPC: a full filesystem (a 2 MiB tmpfs) in the middle of the
// append: undone, 4.3.1, exit 75.
func TestDeliverENOSPC(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	bin := letterboxPath(t)
	dir := t.TempDir()
	fsDir := filepath.Join(dir, "small")
	os.Mkdir(fsDir, 0o755)
	if err := syscall.Mount("tmpfs", fsDir, "tmpfs", 0, "size=2m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	defer syscall.Unmount(fsDir, syscall.MNT_DETACH)
	mb := filepath.Join(fsDir, "M")
	seedMailbox(t, mb, 1500<<10)
	before := sum(t, mb)
	msg := filepath.Join(dir, "msg") // outside the small filesystem
	bigMessage(t, msg, 900<<10)
	code, _, errOut := runProc(t, dir, 30*time.Second, bin, "deliver", "-p", msg, "-f", "a@b", "-r", "c@d", mb)
	if code != 75 || !strings.HasPrefix(errOut, "4.3.1 ") || !strings.Contains(errOut, "no space left on device") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if sum(t, mb) != before {
		t.Fatal("mailbox changed")
	}
	noLeftovers(t, fsDir)
}

// TestDeliverConcurrentWithProcmail: 8 letterbox processes × 250
// deliveries and procmail delivering 200 more into the same mbox at the
// same time: exactly 2200 intact messages, each once.
func TestDeliverConcurrentWithProcmail(t *testing.T) {
	if testing.Short() {
		t.Skip("2200 deliveries")
	}
	if _, err := exec.LookPath("procmail"); err != nil {
		t.Skip("procmail not installed (Debian package procmail)")
	}
	bin := letterboxPath(t)
	dir := t.TempDir()
	mb := filepath.Join(dir, "M")
	// procmail as the MDA with a minimal rc; LOCKSLEEP=0 so its collisions
	// cost no 8 s sleeps.
	rc := writeFile(t, filepath.Join(dir, "rc"), fmt.Sprintf("LOCKSLEEP=0\nDEFAULT=%s\n", mb), 0o644)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	deliverN := func(name string, n int, argv func(i int) []string) {
		defer wg.Done()
		for i := range n {
			a := argv(i)
			cmd := exec.Command(a[0], a[1:]...)
			cmd.Dir = dir
			cmd.Env = testEnv()
			cmd.Stdin = strings.NewReader(fmt.Sprintf("Subject: %s-%d\nX-Seq: %s-%d\n\nFrom the body of %s-%d\n>From quoted\n", name, i, name, i, name, i))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%s-%d: %v: %s", name, i, err, out)
				return
			}
		}
	}
	for w := range 8 {
		wg.Add(1)
		go deliverN(fmt.Sprintf("lb%d", w), 250, func(int) []string {
			return []string{bin, "deliver", "-f", "a@example.org", "-r", "c@example.net", "M"}
		})
	}
	wg.Add(1)
	go deliverN("pm", 200, func(int) []string { return []string{"procmail", "-m", "-f", "p@example.org", rc} })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(mb)
	if err != nil {
		t.Fatal(err)
	}
	// Split on From_ lines after an empty line (or at the start), as formail
	// and mutt do, and check every message.
	msgs := regexp.MustCompile(`(?m)^From \S+  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n`).Split(string(b), -1)
	if msgs[0] != "" {
		t.Fatalf("mailbox does not start with a From_ line: %.40q", msgs[0])
	}
	seen := map[string]bool{}
	seq := regexp.MustCompile(`(?m)^X-Seq: (\S+)$`)
	for i, m := range msgs[1:] {
		id := seq.FindStringSubmatch(m)
		if id == nil {
			t.Fatalf("message %d has no X-Seq: %.200q", i, m)
		}
		if seen[id[1]] {
			t.Fatalf("%s delivered twice", id[1])
		}
		seen[id[1]] = true
		// letterbox writes mboxrd, procmail mboxo.
		want := "\n\n>From the body of " + id[1] + "\n>>From quoted\n\n"
		if strings.HasPrefix(id[1], "pm") {
			want = "\n\n>From the body of " + id[1] + "\n>From quoted\n\n"
		}
		if !strings.HasSuffix(m, want) {
			t.Fatalf("%s damaged: %q", id[1], m)
		}
		if !strings.HasSuffix(m, "\n\n") {
			t.Fatalf("%s not followed by an empty line: %q", id[1], m)
		}
	}
	if len(seen) != 2200 {
		t.Fatalf("%d messages, want 2200", len(seen))
	}
	noLeftovers(t, dir)
}
