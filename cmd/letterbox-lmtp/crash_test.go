package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"letterbox/mbox"
)

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// crashMessage is the message with key k as a client sends it (CRLF
// lines, no line starting with "."), with a body line that mboxrd quotes:
// 50-60 KiB, so that a group commit of ~50 of them takes a few
// milliseconds; those of iteration 0 ("it0-...") 200-250 KiB, so that
// writing one takes long enough to be killed in the middle of.
func crashMessage(k string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: crash test %s\r\nMessage-ID: <%s@crash.test>\r\nX-Seq: %s\r\n\r\n", k, k, k)
	fmt.Fprintf(&b, "From the start of %s\r\n>From a quoted line\r\n", k)
	n := 0
	for _, c := range k {
		n = n*31 + int(c)
	}
	size := 50<<10 + (n%10)<<10
	if strings.HasPrefix(k, "it0-") {
		size = 200<<10 + (n%10)*5<<10
	}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %d: the quick brown fox jumps over the lazy dog\r\n", k, i)
	}
	return b.Bytes()
}

var (
	xseqRE    = regexp.MustCompile(`(?m)^X-Seq: (\S+)$`)
	recordRE  = regexp.MustCompile(` off=(\d+) end=(\d+)\n`)
	crashConf = "log = \"stderr\"\n[lmtp]\nmax_connections = 200\nmailbox = \"%s/mail/{user}\"\n"
)

// killPoint is where an iteration kills the server: when cond holds of
// the lock's record (off, end; end 0 when there is none or no lock), the
// mailbox's size, the 250s received and the transactions awaiting their
// reply.
type killPoint struct {
	name string
	// hold: a "letterbox lock" holds the mailbox until every client has
	// sent its first message, which makes the append after the one that
	// waited for the lock a group commit of most of them.
	hold bool
	cond func(it int, off, end, size int64, acked, inflight int) bool
}

// bigBatch is the bytes a group commit of 40 or more of crashMessage's
// messages of iteration it appends at least.
func bigBatch(it int) int64 {
	if it == 0 {
		return 40 * 251 << 10
	}
	return 40 * 61 << 10
}

var killPoints = []killPoint{
	{"in the middle of writing a group commit of 40 or more", true, func(it int, off, end, size int64, acked, inflight int) bool {
		return end-off >= bigBatch(it) && off < size && size < end
	}},
	{"after writing a group commit of 40 or more, before its release", true, func(it int, off, end, size int64, acked, inflight int) bool {
		return end-off >= bigBatch(it) && size == end
	}},
	{"at the 300th 250, wherever the server is", false, func(it int, off, end, size int64, acked, inflight int) bool {
		return acked >= 300
	}},
}

// TestLMTPKilledDuringGroupCommit kills letterbox-lmtp (SIGKILL) while 64
// clients deliver into one mbox and group commits of ~50 messages run,
// restarts it, and has every client retry what got no 250, as an MTA
// retries what got no reply. Every message answered 250 is in the mailbox
// exactly once and intact, the mailbox parses and "letterbox check" finds
// it sound, and a message is there twice only if an attempt of it got no
// reply; no lock or temporary file is left. Three kill points, one
// mailbox: each iteration adds its messages to the last one's.
func TestLMTPKilledDuringGroupCommit(t *testing.T) {
	bin := buildBinaries(t)
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lmtp.sock")
	mb := filepath.Join(dir, "mail", "inbox")
	if err := os.Mkdir(filepath.Dir(mb), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "lb.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(crashConf, dir)), 0o644); err != nil {
		t.Fatal(err)
	}

	type server struct {
		cmd    *exec.Cmd
		stderr *lockedBuffer
		exited chan struct{}
		err    error
	}
	start := func() *server {
		s := &server{cmd: exec.Command(filepath.Join(bin, "letterbox"), "lmtp", "-c", cfg, "--listen", "unix:"+sock),
			stderr: &lockedBuffer{}, exited: make(chan struct{})}
		s.cmd.Stderr = s.stderr
		s.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { s.err = s.cmd.Wait(); close(s.exited) }()
		t.Cleanup(func() { s.cmd.Process.Kill(); <-s.exited })
		waitSocket(t, sock, s.exited, s.stderr)
		return s
	}

	const clients, perClient = 64, 12
	// noReply counts, per message, the attempts that got no reply after
	// the final ".": each may or may not have delivered it.
	var mu sync.Mutex
	noReply := map[string]int{}
	acked := map[string]bool{}
	var all []string

	for it, kp := range killPoints {
		keys := make([][]string, clients)
		for c := range keys {
			for i := 0; i < perClient; i++ {
				k := fmt.Sprintf("it%d-c%02d-m%02d", it, c, i)
				keys[c] = append(keys[c], k)
				all = append(all, k)
			}
		}
		var nAcked, inflight, sent atomic.Int64
		// deliver sends every message of client c not yet answered 250.
		// With retry false it stops at the first failure (the server is
		// being killed); with retry it retries, as an MTA does, up to 50
		// times a message, and returns how often it retried.
		deliver := func(c int, retry bool) (retries int, err error) {
			var lc *lmtpClient
			defer func() {
				if lc != nil {
					lc.Close()
				}
			}()
			for _, k := range keys[c] {
				mu.Lock()
				done := acked[k]
				mu.Unlock()
				for try := 0; !done; try++ {
					if try > 0 {
						if !retry || try == 50 {
							return retries, err
						}
						retries++
						time.Sleep(10 * time.Millisecond)
					}
					if lc == nil {
						if lc, err = dialLMTP(sock); err != nil {
							lc = nil
							continue
						}
						lc.dotSent = func() { sent.Add(1) }
					}
					inflight.Add(1)
					err = lc.send("sender@example.org", "inbox@example.org", crashMessage(k))
					inflight.Add(-1)
					var re *replyError
					switch {
					case err == nil:
						mu.Lock()
						acked[k] = true
						mu.Unlock()
						nAcked.Add(1)
						done = true
					case errors.As(err, &re) && re.code/100 == 5:
						return retries, fmt.Errorf("%s: %w", k, err)
					case errors.Is(err, errNoReply):
						mu.Lock()
						noReply[k]++
						mu.Unlock()
						fallthrough
					default:
						// The connection is of no more use after a failure.
						lc.Close()
						lc = nil
						if re != nil {
							err = fmt.Errorf("%s: %w", k, err)
						}
					}
				}
			}
			return retries, nil
		}

		var holder *exec.Cmd
		var release io.WriteCloser
		if kp.hold {
			holder = exec.Command(filepath.Join(bin, "letterbox"), "lock", "-c", cfg, mb, "--", "cat")
			var err error
			if release, err = holder.StdinPipe(); err != nil {
				t.Fatal(err)
			}
			if err := holder.Start(); err != nil {
				t.Fatal(err)
			}
			for !fileExists(mb + ".lock") {
				time.Sleep(time.Millisecond)
			}
		}
		srv := start()
		var wg sync.WaitGroup
		var running atomic.Int64
		for c := 0; c < clients; c++ {
			wg.Add(1)
			running.Add(1)
			go func() {
				defer wg.Done()
				defer running.Add(-1)
				deliver(c, false)
			}()
		}
		if kp.hold {
			for sent.Load() < clients && running.Load() > 0 {
				time.Sleep(time.Millisecond)
			}
			// Give the server a moment to queue what it read; this only
			// makes the group commit larger.
			time.Sleep(200 * time.Millisecond)
			release.Close()
			if err := holder.Wait(); err != nil {
				t.Fatalf("letterbox lock: %v", err)
			}
		}
		// Watch the lock and the mailbox, and kill at the kill point; if
		// it does not come before 80% of the messages are answered, kill
		// there, wherever the server is.
		caught := false
		for {
			off, end, size := lockRecord(mb)
			a, in := int(nAcked.Load()), int(inflight.Load())
			if kp.cond(it, off, end, size, a, in) {
				caught = true
				break
			}
			if a >= clients*perClient*8/10 || running.Load() == 0 {
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		srv.cmd.Process.Signal(syscall.SIGKILL)
		<-srv.exited
		wg.Wait()
		// Where the kill landed, from what it left on disk.
		off, end, size := lockRecord(mb)
		where := "between appends (no lock held)"
		switch {
		case end == 0 && fileExists(mb+".lock"):
			where = "holding the lock, nothing recorded yet"
		case end == 0:
		case size == off:
			where = fmt.Sprintf("holding the lock, before the first byte of an append of %d bytes", end-off)
		case size < end:
			where = fmt.Sprintf("in the middle of an append: %d of %d bytes written, %d messages begun", size-off, end-off, fromLines(mb, off, size))
		case size == end:
			where = fmt.Sprintf("after an append of %d messages (%d bytes) was written, before its release", fromLines(mb, off, size), end-off)
		}
		mu.Lock()
		unanswered := 0
		for _, k := range all {
			if noReply[k] > 0 && !acked[k] {
				unanswered++
			}
		}
		mu.Unlock()
		t.Logf("iteration %d: kill point %q %s; killed %s, with %d of %d messages answered 250 and %d awaiting their reply",
			it, kp.name, map[bool]string{true: "caught", false: "not caught (killed at 80% instead)"}[caught], where, nAcked.Load(), clients*perClient, unanswered)

		// Restart; every client retries what got no 250.
		srv = start()
		var retries atomic.Int64
		errs := make(chan error, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := deliver(c, true)
				retries.Add(int64(n))
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("iteration %d: after the restart: %v", it, err)
		}
		srv.cmd.Process.Signal(syscall.SIGTERM)
		<-srv.exited
		if srv.err != nil {
			t.Errorf("iteration %d: exit after SIGTERM: %v\n%s", it, srv.err, srv.stderr)
		}
		if t.Failed() {
			t.Fatalf("server log:\n%s", srv.stderr)
		}

		// The mailbox: every message answered 250, once, intact; a second
		// copy only of a message an attempt of which got no reply.
		copies, damaged := readCrashMbox(t, mb)
		dups := 0
		mu.Lock()
		for _, k := range all {
			n := copies[k]
			switch {
			case !acked[k]:
				t.Errorf("%s never answered 250", k)
			case n == 0:
				t.Errorf("%s answered 250 but not in the mailbox", k)
			case n > 1+noReply[k]:
				t.Errorf("%s is in the mailbox %d times; %d of its attempts got no reply", k, n, noReply[k])
			}
			if n > 1 && strings.HasPrefix(k, fmt.Sprintf("it%d-", it)) {
				dups += n - 1
			}
			delete(copies, k)
		}
		mu.Unlock()
		for k := range copies {
			t.Errorf("%s: in the mailbox but never sent", k)
		}
		for _, d := range damaged {
			t.Errorf("damaged: %s", d)
		}
		t.Logf("iteration %d: %d retries after the restart; %d of the iteration's messages are there twice (of %d unanswered at the kill)",
			it, retries.Load(), dups, unanswered)

		if out, err := exec.Command(filepath.Join(bin, "letterbox"), "check", mb).CombinedOutput(); err != nil {
			t.Errorf("iteration %d: letterbox check: %v\n%s", it, err, out)
		}
		if ents, _ := os.ReadDir(filepath.Dir(mb)); len(ents) != 1 {
			t.Errorf("iteration %d: the mail directory holds %v; want only the mailbox", it, names(ents))
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("iteration %d: the spool directory holds %v", it, names(ents))
		}
		if t.Failed() {
			t.Fatalf("server log:\n%s", srv.stderr)
		}
	}
}

// lockRecord returns the append recorded in mb's lock (end 0 when there
// is no lock or no record) and mb's size.
func lockRecord(mb string) (off, end, size int64) {
	if b, err := os.ReadFile(mb + ".lock"); err == nil {
		if m := recordRE.FindSubmatch(b); m != nil {
			off, _ = strconv.ParseInt(string(m[1]), 10, 64)
			end, _ = strconv.ParseInt(string(m[2]), 10, 64)
		}
	}
	if st, err := os.Stat(mb); err == nil {
		size = st.Size()
	}
	return off, end, size
}

// fromLines counts the From_ lines in mb between off and end: the
// messages an append there began.
func fromLines(mb string, off, end int64) int {
	f, err := os.Open(mb)
	if err != nil {
		return -1
	}
	defer f.Close()
	b := make([]byte, end-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return -1
	}
	n := bytes.Count(b, []byte("\nFrom "))
	if bytes.HasPrefix(b, []byte("From ")) {
		n++
	}
	return n
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// readCrashMbox reads mb with letterbox's mboxrd reader and counts the
// copies of each message by its X-Seq; a message that is truncated or is
// not what crashMessage sent (with CRLF made LF) is damaged.
func readCrashMbox(t *testing.T, mb string) (copies map[string]int, damaged []string) {
	t.Helper()
	f, err := os.Open(mb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	copies = map[string]int{}
	rd := mbox.NewReader(f, mbox.MboxRD)
	for i := 0; ; i++ {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: message %d: %v", mb, i, err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("%s: message %d: %v", mb, i, err)
		}
		m := xseqRE.FindSubmatch(b)
		if m == nil {
			damaged = append(damaged, fmt.Sprintf("#%d: no X-Seq: %.200q", i, b))
			continue
		}
		k := string(m[1])
		want := bytes.ReplaceAll(crashMessage(k), []byte("\r\n"), []byte("\n"))
		if e.Truncated || !bytes.HasSuffix(b, want) || !strings.HasPrefix(string(b), "Return-Path: <sender@example.org>\n") {
			damaged = append(damaged, fmt.Sprintf("#%d: %s (truncated %v, %d bytes)", i, k, e.Truncated, len(b)))
			continue
		}
		copies[k]++
	}
	return copies, damaged
}
