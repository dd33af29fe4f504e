package nfstest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lmtpBin is letterbox-lmtp, built beside letterboxBin's letterbox once
// per test binary run (or found beside $NFSTEST_LETTERBOX).
var lmtpBin = sync.OnceValues(func() (string, error) {
	lb, err := letterboxBin()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(lb), "letterbox-lmtp")
	if _, err := os.Stat(bin); err == nil && os.Getenv("NFSTEST_LETTERBOX") != "" {
		return bin, nil
	}
	out, err := exec.Command("go", "build", "-o", bin, "letterbox/cmd/letterbox-lmtp").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// lockedBuffer collects a process's stderr while the test may read it.
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

// lmtpServer is letterbox-lmtp running on a host, listening on a unix
// socket in a local directory (a socket cannot live on the FUSE mount),
// which the test, in the same filesystem, connects to.
type lmtpServer struct {
	h      *Host
	cmd    *exec.Cmd
	sock   string
	tmp    string // its TMPDIR, for spooled messages
	stderr *lockedBuffer
	exited chan struct{}
	err    error
}

// startLMTP starts letterbox-lmtp on h with r's configuration and the
// virtual layout into h's view of the server ({user} is the mailbox's
// name there), and waits until it listens.
func (r *rig) startLMTP(h *Host) *lmtpServer {
	r.t.Helper()
	bin, err := lmtpBin()
	if err != nil {
		r.t.Fatal(err)
	}
	s := &lmtpServer{h: h, sock: filepath.Join(r.dir, "lmtp-"+h.Name+".sock"), tmp: filepath.Join(r.dir, "tmp-"+h.Name),
		stderr: &lockedBuffer{}, exited: make(chan struct{})}
	if err := os.Mkdir(s.tmp, 0o700); err != nil {
		r.t.Fatal(err)
	}
	conf := filepath.Join(r.dir, "lmtp-"+h.Name+".toml")
	text := testConf + fmt.Sprintf("[lmtp]\nmax_connections = 50\nmailbox = %q\n", h.Dir+"/{user}")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
	s.cmd = h.Command("env", "TMPDIR="+s.tmp, bin, "-c", conf, "--listen", "unix:"+s.sock)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	r.t.Cleanup(func() { s.cmd.Process.Kill(); <-s.exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", s.sock); err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.exited:
			r.t.Fatalf("%s: letterbox-lmtp exited: %v: %s", h.Name, s.err, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: letterbox-lmtp not listening after 30 s: %s", h.Name, s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM, as systemd does, and reports how it
// exited.
func (s *lmtpServer) stop() error {
	if err := s.h.Kill(s.cmd, syscall.SIGTERM); err != nil {
		return err
	}
	<-s.exited
	return s.err
}

// lmtpConn is a raw LMTP client: one transaction at a time, one
// recipient, as an MTA's lmtp client speaks it.
type lmtpConn struct {
	c  net.Conn
	br *bufio.Reader
}

var errNoReply = errors.New("no reply after the final dot")

func dialLMTP(sock string) (*lmtpConn, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	lc := &lmtpConn{c: c, br: bufio.NewReader(c)}
	for _, cmd := range []string{"", "LHLO mx.test"} {
		if code, l, err := lc.cmd(cmd); err != nil || code/100 != 2 {
			c.Close()
			return nil, fmt.Errorf("%q: %v %s", cmd, err, l)
		}
	}
	return lc, nil
}

// cmd sends line (unless empty) and reads the reply; a read may take two
// minutes (a lock_timeout and then some): a guard against a hang.
func (lc *lmtpConn) cmd(line string) (int, string, error) {
	if line != "" {
		if _, err := lc.c.Write([]byte(line + "\r\n")); err != nil {
			return 0, "", err
		}
	}
	lc.c.SetReadDeadline(time.Now().Add(2*time.Minute + 10*time.Second))
	for {
		l, err := lc.br.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) >= 4 && l[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(l[:min(3, len(l))])
		if err != nil {
			return 0, l, fmt.Errorf("bad reply %q", l)
		}
		return code, l, nil
	}
}

// send delivers msg (CRLF lines, none starting with ".") to rcpt. It
// returns the reply code after the final "." (0 with errNoReply when none
// came), or an error from before it, when nothing can have been delivered.
func (lc *lmtpConn) send(rcpt string, msg []byte) (int, string, error) {
	for _, c := range []struct {
		line string
		want int
	}{{"MAIL FROM:<sender@example.org>", 2}, {"RCPT TO:<" + rcpt + ">", 2}, {"DATA", 3}} {
		code, l, err := lc.cmd(c.line)
		if err != nil {
			return 0, l, err
		}
		if code/100 != c.want {
			return code, l, fmt.Errorf("%s: %s", c.line, l)
		}
	}
	if _, err := lc.c.Write(msg); err != nil {
		return 0, "", err
	}
	if _, err := lc.c.Write([]byte(".\r\n")); err != nil {
		return 0, "", fmt.Errorf("%w: %v", errNoReply, err)
	}
	code, l, err := lc.cmd("")
	if err != nil {
		return 0, l, fmt.Errorf("%w: %v", errNoReply, err)
	}
	return code, l, nil
}

// lmtpOutcome is what the clients of one host saw.
type lmtpOutcome struct {
	delivered int
	retries   int            // attempts after a 4xx, no reply or a failed connection
	noReply   map[string]int // per message, the attempts that got no reply after "."
	temp      map[string]int // the 4xx replies, by code and the start of their text
	failures  []string       // given up on, with the last reply or error
}

// lmtpLoop delivers n new messages from h through s with clients
// connections at once, retrying what got a 4xx or no reply as an MTA
// does, up to maxTries times a message.
func (r *rig) lmtpLoop(h *Host, s *lmtpServer, n, clients int) lmtpOutcome {
	o := lmtpOutcome{noReply: map[string]int{}, temp: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lc *lmtpConn
			defer func() {
				if lc != nil {
					lc.Close()
				}
			}()
			for i := c; i < n; i += clients {
				id := fmt.Sprintf("%s-%03d", h.Name, i)
				r.message(id)
				r.mu.Lock()
				msg := bytes.ReplaceAll(r.msgs[id], []byte("\n"), []byte("\r\n"))
				r.mu.Unlock()
				var last string
				ok := false
				for try := 0; try < maxTries && !ok; try++ {
					if try > 0 {
						mu.Lock()
						o.retries++
						mu.Unlock()
						time.Sleep(10 * time.Millisecond)
					}
					if lc == nil {
						var err error
						if lc, err = dialLMTP(s.sock); err != nil {
							lc, last = nil, err.Error()
							continue
						}
					}
					code, l, err := lc.send("M@example.org", msg)
					switch {
					case err == nil && code == 250:
						ok = true
					case err == nil && code/100 == 5:
						last, try = l, maxTries
					case err == nil:
						last = l // 4xx: retry on the same connection
						mu.Lock()
						o.temp[l[:min(len(l), 160)]]++
						mu.Unlock()
					default:
						if errors.Is(err, errNoReply) {
							mu.Lock()
							o.noReply[id]++
							mu.Unlock()
						}
						last = err.Error()
						lc.Close()
						lc = nil
					}
				}
				mu.Lock()
				if ok {
					o.delivered++
				} else {
					o.failures = append(o.failures, id+": "+last)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return o
}

func (lc *lmtpConn) Close() error { return lc.c.Close() }

// Scenario 6: one letterbox-lmtp per host (three hosts), each host's MTA
// delivering 300 messages through it, 6 connections at once, into one
// mbox, under the faults of scenarios 1 and 2: 5% of the replies to link,
// unlink, rename, O_EXCL create and mkdir lost, and every 20th lock
// release replayed up to 50 ms later. Each server commits what queued on
// it in groups; what got a 4xx or no reply is retried. Every message is
// there intact, a message twice only if an attempt of it got no reply, and
// nothing is left in the spool.
func TestLMTPNFS(t *testing.T) {
	if !Isolate(t) {
		return
	}
	faults := &Faults{LoseRate: 0.05, ReplayEvery: 20, ReplayDelay: 50 * time.Millisecond}
	r := newRig(t, faults, standardCaching, "hostA", "hostB", "hostC")
	servers := make(map[*Host]*lmtpServer)
	for _, h := range r.hosts {
		servers[h] = r.startLMTP(h)
	}
	start := time.Now()
	outs := make([]lmtpOutcome, len(r.hosts))
	var wg sync.WaitGroup
	for i, h := range r.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = r.lmtpLoop(h, servers[h], 300, 6)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var warnings []string
	for _, h := range r.hosts {
		s := servers[h]
		if err := s.stop(); err != nil {
			t.Errorf("%s: letterbox-lmtp after SIGTERM: %v", h.Name, err)
		}
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if (strings.HasPrefix(l, "warning: ") || strings.HasPrefix(l, "error: ")) && !strings.Contains(l, ", relay=letterbox, ") {
				warnings = append(warnings, h.Name+": "+l)
			}
		}
		if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
			t.Errorf("%s: its TMPDIR holds %d files", h.Name, len(ents))
		}
	}

	tl := r.checkMbox(filepath.Join(r.backing, "M"))
	delivered, retries, unanswered := 0, 0, 0
	noReply := map[string]int{}
	for _, o := range outs {
		delivered += o.delivered
		retries += o.retries
		for id, n := range o.noReply {
			noReply[id] = n
			unanswered += n
		}
		for _, f := range o.failures {
			t.Errorf("gave up: %s", f)
		}
	}
	// A message may be there once more for each attempt that got no
	// reply; any other second copy is a double delivery.
	seen := map[string]int{}
	for _, id := range tl.duplicated {
		seen[id]++
		if seen[id] > noReply[id] {
			t.Errorf("%s is in the mailbox %d times; %d of its attempts got no reply", id, seen[id]+1, noReply[id])
		}
	}
	if tl.intact != 900 || len(tl.missing) != 0 || len(tl.damaged) != 0 {
		t.Errorf("mailbox: %s; want 900 intact\nmissing %v\ndamaged %v", tl, tl.missing, tl.damaged)
	}
	if l := r.leftovers("M"); len(l) != 0 {
		t.Errorf("left in the spool: %v", l)
	}
	st := r.srv.Faults.Stats()
	t.Logf("letterbox-lmtp: %d delivered in %v, %d retries (after a 4xx, no reply or a failed connection), %d attempts without a reply, %d duplicates; faults: lost %v, %d lock releases, %d replayed (%d acting on a lock); mailbox: %s",
		delivered, wall.Round(100*time.Millisecond), retries, unanswered, len(tl.duplicated), st.Lost, st.Releases, st.ReplaysDue, st.Replayed, tl)
	for _, o := range outs {
		for l, n := range o.temp {
			t.Logf("  %dx %s...", n, l)
		}
	}
	for _, w := range warnings {
		t.Logf("  logged: %s", w)
	}
	if st.ReplaysDue == 0 || st.Lost[Link]+st.Lost[Rename]+st.Lost[Unlink]+st.Lost[Create] == 0 {
		t.Errorf("the faults did not happen: %+v", st)
	}
}
