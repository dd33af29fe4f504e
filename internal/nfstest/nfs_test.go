package nfstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"letterbox/internal/sys"
	"letterbox/maildir"
	"letterbox/mbox"
)

// letterboxBin builds the letterbox command once per test binary run, or
// takes the one $NFSTEST_LETTERBOX names.
var letterboxBin = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("NFSTEST_LETTERBOX"); p != "" {
		return p, nil
	}
	dir, err := os.MkdirTemp("", "nfstest-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "letterbox")
	out, err := exec.Command("go", "build", "-o", bin, "letterbox/cmd/letterbox").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// rig is one scenario's setup: a server over a backing directory, hosts,
// messages and the letterbox configuration.
type rig struct {
	t       *testing.T
	dir     string // not on FUSE: messages, config, logs
	backing string
	srv     *Server
	hosts   []*Host
	bin     string
	conf    string
	mu      sync.Mutex
	msgs    map[string][]byte // id -> the message as submitted; hosts add in parallel
}

const testConf = `stale_lock_own = "6s"
lock_refresh = "1s"
lock_timeout = "120s"
log = "stderr"
`

func newRig(t *testing.T, faults *Faults, c Caching, hosts ...string) *rig {
	t.Helper()
	bin, err := letterboxBin()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dir: t.TempDir(), bin: bin, msgs: map[string][]byte{}}
	r.backing = filepath.Join(r.dir, "server")
	if err := os.Mkdir(r.backing, 0o755); err != nil {
		t.Fatal(err)
	}
	r.srv = NewServer(r.backing, faults, 1)
	for _, h := range hosts {
		r.hosts = append(r.hosts, r.srv.NewHost(t, filepath.Join(r.dir, "mnt"), h, c))
	}
	r.conf = filepath.Join(r.dir, "letterbox.toml")
	if err := os.WriteFile(r.conf, []byte(testConf), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// message makes the message with id: a body with a line that mbox
// quoting must handle and some filler, 1-3 KiB.
func (r *rig) message(id string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: %s\nMessage-ID: <%s@nfstest>\n\nFrom the start of %s\n", id, id, id)
	n := 10
	for _, c := range id {
		n += int(c)
	}
	for i := 0; i < 10+n%30; i++ {
		fmt.Fprintf(&b, "%s line %d: the quick brown fox jumps over the lazy dog\n", id, i)
	}
	p := filepath.Join(r.dir, "msg-"+id)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		r.t.Fatal(err)
	}
	// The same message as an mboxrd entry, for the control's "cat >>".
	entry := "From sender@example.org  Sun Nov 22 09:00:00 2026\n" + fromRE.ReplaceAllString(b.String(), ">$1") + "\n"
	if err := os.WriteFile(p+".mbox", []byte(entry), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.msgs[id] = b.Bytes()
	r.mu.Unlock()
	return p
}

var fromRE = regexp.MustCompile(`(?m)^(>*From )`)

// outcome is what a loop of deliveries on one host saw.
type outcome struct {
	delivered, retries int
	failures           []string // deliveries given up on, with their last error
	warnings           []string // what letterbox logged besides its result
}

// deliverLoop delivers n new messages from host h with argv (the message
// file is appended) and retries a temporary failure (75) as an MTA would,
// up to maxTries times.
func (r *rig) deliverLoop(h *Host, n int, argv func(msg string) []string) outcome {
	var o outcome
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%03d", h.Name, i)
		msg := r.message(id)
		var last string
		ok := false
		for try := 0; try < maxTries && !ok; try++ {
			cmd := h.Command(argv(msg)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			for _, l := range strings.Split(stderr.String(), "\n") {
				if (strings.HasPrefix(l, "warning: ") || strings.HasPrefix(l, "error: ")) && !strings.Contains(l, ", relay=letterbox, ") {
					o.warnings = append(o.warnings, id+": "+l)
				}
			}
			var ee *exec.ExitError
			switch {
			case err == nil:
				ok = true
			case errors.As(err, &ee) && ee.ExitCode() == 75:
				o.retries++
				last = firstLine(stderr.String())
				time.Sleep(10 * time.Millisecond)
			default:
				last = fmt.Sprintf("%v: %s", err, firstLine(stderr.String()))
				try = maxTries
			}
		}
		if ok {
			o.delivered++
		} else {
			o.failures = append(o.failures, id+": "+last)
		}
	}
	return o
}

// maxTries bounds the retries of one delivery. letterbox waits for a busy
// lock itself and rarely exits 75; the control's "dotlockfile -r 0" exits at
// once when the lock is taken, and is retried after 10 ms.
const maxTries = 3000

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// parallel runs fn for every host at once.
func (r *rig) parallel(fn func(h *Host) outcome) []outcome {
	out := make([]outcome, len(r.hosts))
	var wg sync.WaitGroup
	for i, h := range r.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fn(h)
		}()
	}
	wg.Wait()
	return out
}

// tally is what a mailbox holds, checked against the messages submitted.
type tally struct {
	messages   int
	intact     int
	missing    []string
	duplicated []string
	damaged    []string // unparseable, truncated, or not the message submitted
}

func (tl tally) String() string {
	return fmt.Sprintf("%d messages, %d intact, %d missing, %d duplicated, %d damaged",
		tl.messages, tl.intact, len(tl.missing), len(tl.duplicated), len(tl.damaged))
}

var subjectRE = regexp.MustCompile(`(?m)^Subject: (\S+)$`)

// checkMessages tallies messages (contents as stored) against r.msgs: a
// message is intact when it ends with the submitted message byte for byte.
func (r *rig) checkMessages(contents [][]byte, truncated []bool) tally {
	var tl tally
	seen := map[string]int{}
	for i, c := range contents {
		tl.messages++
		m := subjectRE.FindSubmatch(c)
		if m == nil {
			tl.damaged = append(tl.damaged, fmt.Sprintf("#%d: no Subject", i))
			continue
		}
		id := string(m[1])
		if want, ok := r.msgs[id]; !ok || !bytes.HasSuffix(c, want) || truncated[i] {
			tl.damaged = append(tl.damaged, fmt.Sprintf("#%d: %s", i, id))
			continue
		}
		seen[id]++
		if seen[id] == 1 {
			tl.intact++
		} else {
			tl.duplicated = append(tl.duplicated, id)
		}
	}
	for id := range r.msgs {
		if seen[id] == 0 {
			tl.missing = append(tl.missing, id)
		}
	}
	slices.Sort(tl.missing)
	return tl
}

// checkMbox reads the mbox at path (on the backing directory, not through
// FUSE) with letterbox's reader.
func (r *rig) checkMbox(path string) tally {
	f, err := os.Open(path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var contents [][]byte
	var truncated []bool
	rd := mbox.NewReader(f, mbox.MboxRD)
	var entries []*mbox.Entry
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			r.t.Fatal(err)
		}
		entries = append(entries, e)
		contents = append(contents, b)
	}
	for _, e := range entries {
		truncated = append(truncated, e.Truncated)
	}
	return r.checkMessages(contents, truncated)
}

// leftovers lists what is in the backing directory besides keep.
func (r *rig) leftovers(keep ...string) []string {
	ents, err := os.ReadDir(r.backing)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !slices.Contains(keep, e.Name()) {
			b, _ := os.ReadFile(filepath.Join(r.backing, e.Name()))
			out = append(out, fmt.Sprintf("%s (%q)", e.Name(), b))
		}
	}
	return out
}

// wantAll fails the test unless the mailbox holds exactly n messages, all
// intact, and the spool holds nothing but keep.
func (r *rig) wantAll(tl tally, n int, keep string) {
	r.t.Helper()
	if tl.messages != n || tl.intact != n {
		r.t.Errorf("%s: %s; want %d intact messages\nmissing %v\nduplicated %v\ndamaged %v", keep, tl, n, tl.missing, tl.duplicated, tl.damaged)
	}
	if l := r.leftovers(keep); len(l) != 0 {
		r.t.Errorf("left in the spool: %v", l)
	}
}

func (r *rig) letterbox(mailbox string) func(msg string) []string {
	return func(msg string) []string {
		return []string{r.bin, "deliver", "-c", r.conf, "-f", "sender@example.org", "-r", "rcpt@example.org", "-p", msg, mailbox}
	}
}

// control is the peers' way, for comparison: dotlockfile (liblockfile's
// link-count algorithm) around "cat >>" of a ready mbox entry. It tries the
// lock once ("-r 0") and exits 75 when it is taken; deliverLoop retries.
func (r *rig) control(mailbox string) func(msg string) []string {
	const script = `dotlockfile -l -r 0 "$1.lock" || exit 75
cat "$2.mbox" >> "$1"; rc=$?
dotlockfile -u "$1.lock"
exit $rc`
	return func(msg string) []string {
		return []string{"sh", "-c", script, "sh", mailbox, msg}
	}
}

// mboxRun runs 300 deliveries on each of three hosts into one mbox with
// the given faults, with deliver(h) giving the command for host h, and
// returns the outcome and the tally of the mailbox.
func mboxRun(t *testing.T, faults *Faults, label string, argv func(r *rig, h *Host) func(string) []string) (*rig, tally) {
	r := newRig(t, faults, standardCaching, "hostA", "hostB", "hostC")
	outs := r.parallel(func(h *Host) outcome {
		return r.deliverLoop(h, 300, argv(r, h))
	})
	tl := r.checkMbox(filepath.Join(r.backing, "M"))
	r.report(label, outs, tl)
	return r, tl
}

func letterboxArgv(r *rig, h *Host) func(string) []string {
	return r.letterbox(filepath.Join(h.Dir, "M"))
}

func controlArgv(r *rig, h *Host) func(string) []string {
	return r.control(filepath.Join(h.Dir, "M"))
}

// report logs the faults injected and the outcomes.
func (r *rig) report(name string, outs []outcome, tl tally) {
	st := r.srv.Faults.Stats()
	delivered, retries := 0, 0
	var failures, warnings []string
	for _, o := range outs {
		delivered += o.delivered
		retries += o.retries
		failures = append(failures, o.failures...)
		warnings = append(warnings, o.warnings...)
	}
	r.t.Logf("%s: %d delivered (%d retries after 75), %d given up; faults: lost %v, %d lock releases, %d replayed (%d acting on a lock), %d write errors; mailbox: %s",
		name, delivered, retries, len(failures), st.Lost, st.Releases, st.ReplaysDue, st.Replayed, st.WriteFaults, tl)
	for _, f := range failures {
		r.t.Logf("  gave up: %s", f)
	}
	for _, w := range warnings {
		r.t.Logf("  logged: %s", w)
	}
}

var standardCaching = Caching{Entry: 200 * time.Millisecond, Attr: 200 * time.Millisecond, CloseToOpen: true}

// Scenario 1: three hosts deliver 300 messages each into one mbox while 5%
// of the replies to link, unlink, rename, O_EXCL create and mkdir are lost.
// The control run (dotlockfile and cat) is reported, not judged.
func TestLostReplies(t *testing.T) {
	if !Isolate(t) {
		return
	}
	r, tl := mboxRun(t, &Faults{LoseRate: 0.05}, "letterbox", letterboxArgv)
	r.wantAll(tl, 900, "M")
	if st := r.srv.Faults.Stats(); st.Lost[Link]+st.Lost[Rename]+st.Lost[Unlink]+st.Lost[Create] == 0 {
		t.Errorf("no reply was lost: %+v", st)
	}
	r, _ = mboxRun(t, &Faults{LoseRate: 0.05}, "control: dotlockfile + cat", controlArgv)
	t.Logf("control left in the spool: %d files", len(r.leftovers("M")))
}

// Scenario 2: as scenario 1, and every 20th lock release is executed again
// by the server up to 50 ms later, when the lock may be someone else's.
func TestLateReplay(t *testing.T) {
	if !Isolate(t) {
		return
	}
	faults := func() *Faults {
		return &Faults{LoseRate: 0.05, ReplayEvery: 20, ReplayDelay: 50 * time.Millisecond}
	}
	r, tl := mboxRun(t, faults(), "letterbox", letterboxArgv)
	r.wantAll(tl, 900, "M")
	if st := r.srv.Faults.Stats(); st.ReplaysDue < 40 || st.Replayed == 0 {
		t.Errorf("%d releases replayed, %d of them acting on a lock; the scenario means about 45, some acting", st.ReplaysDue, st.Replayed)
	}
	r, _ = mboxRun(t, faults(), "control: dotlockfile + cat", controlArgv)
	t.Logf("control left in the spool: %d files", len(r.leftovers("M")))
}

// waitFile waits until path exists (on the backing directory).
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Lstat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Scenario 3: the server's clock is an hour ahead of the hosts', then an
// hour behind. A lock held (and refreshed) past stale_lock_own is never
// broken; a dead holder's lock is broken once it is stale_lock_own old in
// server time, neither before nor never.
func TestClockSkew(t *testing.T) {
	if !Isolate(t) {
		return
	}
	r := newRig(t, nil, standardCaching, "hostA", "hostB")
	a, b := r.hosts[0], r.hosts[1]
	lock := filepath.Join(r.backing, "M.lock")
	const staleOwn = 6 * time.Second // testConf
	for _, off := range []time.Duration{time.Hour, -time.Hour} {
		r.srv.Faults.SetClockOffset(off)

		// Live: A holds the lock for 9 s (refreshing it every second); B
		// waits for it, and only gets it after A let go.
		holder := a.Command(r.bin, "lock", "-c", r.conf, filepath.Join(a.Dir, "M"), "--", "sleep", "9")
		var holdErr bytes.Buffer
		holder.Stderr = &holdErr
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		waitFile(t, lock)
		id := fmt.Sprintf("live%+.0fh", off.Hours())
		var out bytes.Buffer
		cmd := b.Command(r.letterbox(filepath.Join(b.Dir, "M"))(r.message(id))...)
		cmd.Stderr = &out
		err := cmd.Run()
		delivered := time.Now()
		if herr := holder.Wait(); herr != nil {
			t.Errorf("clock %+v: the live holder lost its lock: %v: %s", off, herr, holdErr.String())
		}
		held := time.Now()
		if err != nil {
			t.Fatalf("clock %+v: delivery waiting for a live lock: %v: %s", off, err, out.String())
		}
		if delivered.Before(held.Add(-500 * time.Millisecond)) {
			t.Errorf("clock %+v: delivered at %v, before the holder let go at %v", off, delivered, held)
		}

		// Dead: A's holder is killed; B breaks its lock once it is stale.
		holder = a.Command(r.bin, "lock", "-c", r.conf, filepath.Join(a.Dir, "M"), "--", "sleep", "1000")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		waitFile(t, lock)
		time.Sleep(1500 * time.Millisecond) // at least one refresh
		if err := a.Kill(holder, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		holder.Wait()
		st, err := os.Stat(lock)
		if err != nil {
			t.Fatalf("the dead holder's lock: %v", err)
		}
		lastRefresh := st.ModTime() // real time: the backing file
		id = fmt.Sprintf("dead%+.0fh", off.Hours())
		cmd = b.Command(r.letterbox(filepath.Join(b.Dir, "M"))(r.message(id))...)
		out.Reset()
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("clock %+v: delivery after a dead holder: %v: %s", off, err, out.String())
		}
		if age := time.Since(lastRefresh); age < staleOwn {
			t.Errorf("clock %+v: a dead lock was broken %v after its last refresh, before stale_lock_own %v", off, age, staleOwn)
		} else {
			t.Logf("clock %+v: dead lock broken %v after its last refresh (stale_lock_own %v)", off, age.Round(100*time.Millisecond), staleOwn)
		}
	}
	tl := r.checkMbox(filepath.Join(r.backing, "M"))
	if tl.messages != 4 || tl.intact != 4 {
		t.Errorf("mailbox: %s; want the 4 messages intact", tl)
	}

	// Control, reported and not judged: dotlockfile judges a lock's age by
	// the local clock against the server's mtime.
	for _, off := range []time.Duration{time.Hour, -time.Hour} {
		r.srv.Faults.SetClockOffset(off)
		holder := a.Command("sh", "-c", `dotlockfile -l "$1" && sleep 4; dotlockfile -u "$1"`, "sh", filepath.Join(a.Dir, "C.lock"))
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		waitFile(t, filepath.Join(r.backing, "C.lock"))
		start := time.Now()
		broke := false
		for time.Since(start) < 3*time.Second && !broke {
			broke = b.Command("dotlockfile", "-l", "-r", "0", filepath.Join(b.Dir, "C.lock")).Run() == nil
			time.Sleep(100 * time.Millisecond)
		}
		holder.Wait()
		os.Remove(filepath.Join(r.backing, "C.lock"))
		t.Logf("control: dotlockfile with the server clock %+v: live lock broken by another host: %v", off, broke)
	}
	if l := r.leftovers("M"); len(l) != 0 {
		t.Errorf("left in the spool: %v", l)
	}
}

// Scenario 4: a delivery of a large message on host A is killed half-way
// while host B waits for the lock. B takes the lock over once it is stale
// and takes back A's partial message, which A's lock recorded (an append
// never acknowledged); every message reported delivered is there intact,
// and A's retry is intact, once.
func TestKilledWriter(t *testing.T) {
	if !Isolate(t) {
		return
	}
	faults := &Faults{WriteFault: func(path string, off int64, n int) syscall.Errno {
		if filepath.Base(path) == "M" && off > 0 {
			time.Sleep(2 * time.Millisecond) // a slow server: the kill lands mid-message
		}
		return 0
	}}
	r := newRig(t, faults, standardCaching, "hostA", "hostB")
	a, b := r.hosts[0], r.hosts[1]
	mb := filepath.Join(r.backing, "M")
	for i := 0; i < 3; i++ {
		if err := a.Command(r.letterbox(filepath.Join(a.Dir, "M"))(r.message(fmt.Sprintf("before-%d", i)))...).Run(); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := os.Stat(mb)
	before := st.Size()
	// A large message: many writes, each slowed down.
	var big bytes.Buffer
	big.WriteString("Subject: big\nMessage-ID: <big@nfstest>\n\n")
	for big.Len() < 8<<20 {
		big.WriteString("big: the quick brown fox jumps over the lazy dog, again and again\n")
	}
	bigPath := filepath.Join(r.dir, "msg-big")
	os.WriteFile(bigPath, big.Bytes(), 0o644)
	r.msgs["big"] = big.Bytes()
	writer := a.Command(r.letterbox(filepath.Join(a.Dir, "M"))(bigPath)...)
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(mb); err == nil && st.Size() > before+1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the large delivery did not get going")
		}
		time.Sleep(2 * time.Millisecond)
	}
	waiter := b.Command(r.letterbox(filepath.Join(b.Dir, "M"))(r.message("waiter"))...)
	var out bytes.Buffer
	waiter.Stderr = &out
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.Kill(writer, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	writer.Wait()
	killed := time.Now()
	if err := waiter.Wait(); err != nil {
		t.Fatalf("the waiting delivery: %v: %s", err, out.String())
	}
	t.Logf("B took over %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	// The MTA retries A's delivery.
	if err := a.Command(r.letterbox(filepath.Join(a.Dir, "M"))(bigPath)...).Run(); err != nil {
		t.Fatal(err)
	}
	tl := r.checkMbox(mb)
	if tl.intact != 5 || len(tl.missing) != 0 || len(tl.duplicated) != 0 || len(tl.damaged) != 0 {
		t.Errorf("mailbox: %s (damaged %v); want the 5 messages intact and the killed writer's remnant taken back", tl, tl.damaged)
	}
	if l := r.leftovers("M"); len(l) != 0 {
		t.Errorf("left in the spool: %v", l)
	}
}

// Scenario 5: three hosts deliver 300 messages each into one Maildir while
// 5% of the replies to link are lost.
func TestMaildirLostLinks(t *testing.T) {
	if !Isolate(t) {
		return
	}
	r := newRig(t, &Faults{LoseRate: 0.05, LoseOps: []Op{Link}}, standardCaching, "hostA", "hostB", "hostC")
	outs := r.parallel(func(h *Host) outcome {
		return r.deliverLoop(h, 300, r.letterbox(filepath.Join(h.Dir, "Maildir")+"/"))
	})
	root := filepath.Join(r.backing, "Maildir")
	var contents [][]byte
	err := maildir.Walk(sys.Real{}, root, func(m maildir.Message) error {
		b, err := os.ReadFile(m.Path)
		contents = append(contents, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tl := r.checkMessages(contents, make([]bool, len(contents)))
	r.report("letterbox Maildir", outs, tl)
	r.wantAll(tl, 900, "Maildir")
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d files", len(ents))
	}
	if st := r.srv.Faults.Stats(); st.Lost[Link] == 0 {
		t.Error("no link reply was lost")
	}
}

// Write faults: the server fails some writes to the mailbox with ENOSPC or
// EIO. Each failed delivery is rolled back and retried; the mailbox ends
// with every message once and intact. The control's cat leaves what it
// wrote before the error in the mailbox.
func TestWriteFaults(t *testing.T) {
	if !Isolate(t) {
		return
	}
	faults := func() *Faults {
		var mu sync.Mutex
		n := 0
		return &Faults{WriteFault: func(path string, off int64, size int) syscall.Errno {
			if filepath.Base(path) != "M" {
				return 0
			}
			mu.Lock()
			defer mu.Unlock()
			n++
			switch {
			case n%23 == 0:
				return syscall.ENOSPC
			case n%37 == 0:
				return syscall.EIO
			}
			return 0
		}}
	}
	r, tl := mboxRun(t, faults(), "letterbox", letterboxArgv)
	r.wantAll(tl, 900, "M")
	if st := r.srv.Faults.Stats(); st.WriteFaults == 0 {
		t.Error("no write failed")
	}
	mboxRun(t, faults(), "control: dotlockfile + cat", controlArgv)
}
