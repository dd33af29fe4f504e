package kernelnfs

// The guest's side of the kernel NFS tests: this test binary, booted as
// /payload/run with KERNELNFS_GUEST=1 (TestMain), runs the scenarios
// named in /payload/scenarios against the two client mounts and prints one
// "RESULT {json}" line per scenario for the host to judge.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"letterbox/mbox"
)

// result is what the guest reports of one scenario.
type result struct {
	Scenario   string         `json:"scenario"`
	Vers       string         `json:"vers"`
	Judged     bool           `json:"judged"` // false for a control
	Expected   int            `json:"expected"`
	Delivered  int            `json:"delivered"` // runs that reported success
	Retries    int            `json:"retries"`   // runs that failed and were run again
	Exits      map[string]int `json:"exits"`     // exit status: how many runs
	Armed      int            `json:"armed"`     // fault rounds run
	Dropped    int            `json:"dropped"`   // ... in which a reply was really dropped
	Restarts   int            `json:"restarts"`  // knfsd restarts
	Wall       float64        `json:"wall"`      // seconds
	Problems   []string       `json:"problems"`  // what fails the scenario
	Notes      []string       `json:"notes"`     // figures and observations
	Stderr     []string       `json:"stderr"`    // what the programs said, timed
	FaultTrail []string       `json:"faults"`
}

func (r *result) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// said keeps what a program wrote on standard error, a line each, timed
// and marked with who ran it; not the log line of every delivery, which is
// noise here.
func (r *result) said(who string, stderr []byte) {
	for _, l := range strings.Split(strings.TrimSpace(string(stderr)), "\n") {
		if l != "" && !strings.Contains(l, "status=sent") {
			r.Stderr = append(r.Stderr, fmt.Sprintf("%s %s: %s", since(), who, l))
		}
	}
}

// guest is one client "machine": a mount and the host name its programs
// run under (a UTS namespace for b, so that lock files name two hosts).
type guest struct {
	name  string // a or b
	mount string
	host  string
}

var guests = []guest{{"a", "/mnt/a", "nfsguest"}, {"b", "/mnt/b", "nfsclientb"}}

// command runs argv on g.
func (g guest) command(argv ...string) *exec.Cmd {
	if g.name == "a" {
		return exec.Command(argv[0], argv[1:]...)
	}
	return exec.Command("unshare", append([]string{"-u", "sh", "-c", `hostname "$0" && exec "$@"`, g.host}, argv...)...)
}

const (
	letterbox = "/payload/letterbox"
	spool     = "spool" // below /export and the mounts
	perProc   = 20      // deliveries per process
	procs     = 2       // processes per mount
	rounds    = 2       // fault rounds: each drops one reply of every kind
)

var t0 = time.Now()

func since() string { return fmt.Sprintf("%6.2fs", time.Since(t0).Seconds()) }

func guestMain() int {
	names, err := os.ReadFile("/payload/scenarios")
	if err != nil {
		fmt.Println("guest:", err)
		return 2
	}
	sysctl("net.ipv4.tcp_max_orphans", "0") // see restartServer
	if err := setupFaults(); err != nil {
		fmt.Println("guest:", err)
		return 2
	}
	vers := os.Getenv("LBNFS_VERS")
	for _, name := range strings.Fields(string(names)) {
		s, ok := scenarios[name]
		if !ok {
			fmt.Println("guest: no scenario", name)
			return 2
		}
		r := &result{Scenario: name, Vers: vers, Judged: !controls[name], Exits: map[string]int{}}
		start := time.Now()
		s(r)
		r.Wall = time.Since(start).Seconds()
		b, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", b)
	}
	return 0
}

var faults = []string{"link", "remove", "rename"}

var scenarios = map[string]func(*result){
	"mbox":        func(r *result) { deliveries(r, "mbox", "mbox", nil, config("/tmp", "")) },
	"mbox-faults": func(r *result) { deliveries(r, "mboxf", "mbox", faults, config("/tmp", "")) },
	"maildir":     func(r *result) { deliveries(r, "md", "maildir", faults, config("/tmp", "")) },
	"control": func(r *result) {
		if _, err := exec.LookPath("dotlockfile"); err != nil {
			r.Notes = append(r.Notes, "not run: the host has no dotlockfile to copy into the guest (liblockfile-bin)")
			return
		}
		deliveries(r, "ctl", "control", faults, "")
	},
	"lock-sigkill": lockKill,
	"replay":       replayedRelease,
	"local-locks":  localLocks,
	// mbox-faults where the operator has said, wrongly, that only one
	// machine writes the spool: what the dot-lock alone does.
	"mbox-faults-trusted": func(r *result) {
		os.MkdirAll("/tmp/trust", 0o755)
		deliveries(r, "mboxt", "mbox", faults, config("/tmp/trust", "trust_local_locks = true\n"))
	},
}

// short are lock ages for a scenario that waits for a dead holder's lock
// to go stale.
const short = "stale_lock_own = \"6s\"\nlock_refresh = \"2s\"\n"

// controls are reported beside the others, never judged.
var controls = map[string]bool{"control": true, "mbox-faults-trusted": true}

// config is letterbox's configuration in the guest, with extra appended:
// warnings on stderr, where the driver collects them.
func config(dir string, extra string) string {
	text := "log = \"stderr\"\nlock_timeout = \"150s\"\n" + extra
	p := filepath.Join(dir, "letterbox.toml")
	os.WriteFile(p, []byte(text), 0o644)
	return p
}

// deliveries: procs processes on each mount deliver perProc messages each
// into one mailbox, kind "mbox", "maildir" or "control" (dotlockfile and
// cat >>), while faults drops the replies of the named calls, one kind a
// round, and restarts knfsd in every round.
func deliveries(r *result, dir, kind string, faults []string, conf string) {
	server := filepath.Join("/export", spool, dir)
	os.MkdirAll(server, 0o755)
	box := "mbox"
	if kind == "maildir" {
		box = "Maildir"
		for _, sub := range []string{"tmp", "new", "cur"} {
			os.MkdirAll(filepath.Join(server, box, sub), 0o700)
		}
	}
	var ids []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := make(chan struct{})
	for _, g := range guests {
		for p := 1; p <= procs; p++ {
			worker := fmt.Sprintf("%s%d", g.name, p)
			var mine []string
			for i := 1; i <= perProc; i++ {
				mine = append(mine, fmt.Sprintf("%s-%d", worker, i))
			}
			ids = append(ids, mine...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := filepath.Join(g.mount, spool, dir, box)
				target := path
				if kind == "maildir" {
					target += "/"
				}
				for _, id := range mine {
					for try := 0; ; try++ {
						var cmd *exec.Cmd
						msg := message(id)
						switch kind {
						case "maildir", "mbox":
							cmd = g.command(deliverArgs(conf, target)...)
						case "control":
							// dotlockfile retries itself (-r 0: once); cat >> appends.
							cmd = g.command("sh", "-c", `dotlockfile -l -r 0 "$0.lock" || exit 75; cat >> "$0"; rc=$?; dotlockfile -u "$0.lock"; exit $rc`, path)
							msg = append([]byte("From tester@example.org  Mon Jan  5 10:00:00 2026\n"), append(msg, '\n')...)
						}
						cmd.Stdin = bytes.NewReader(msg)
						var stderr bytes.Buffer
						cmd.Stderr = &stderr
						err := cmd.Run()
						code := exitCode(err)
						mu.Lock()
						r.Exits[strconv.Itoa(code)]++
						r.said(worker+" "+id, stderr.Bytes())
						if code == 0 {
							r.Delivered++
						} else {
							r.Retries++
						}
						mu.Unlock()
						if code == 0 {
							break
						}
						if try > 400 {
							mu.Lock()
							r.problem("%s: gave up after %d tries", id, try)
							mu.Unlock()
							break
						}
						time.Sleep(time.Duration(5+rand.IntN(40)) * time.Millisecond)
					}
				}
			}()
		}
	}
	r.Expected = len(ids)
	go func() { wg.Wait(); close(done) }()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(15 * time.Second):
				mu.Lock()
				fmt.Printf("PROGRESS %s %s: %d of %d delivered, %d retries\n", r.Scenario, since(), r.Delivered, r.Expected, r.Retries)
				mu.Unlock()
			}
		}
	}()
	if faults != nil {
		prefix := "mbox"
		if kind == "maildir" {
			// Maildir names begin with the time in seconds.
			prefix = strconv.FormatInt(time.Now().Unix(), 10)[:4]
		}
		injectFaults(r, &mu, faults, prefix, done)
	}
	<-done
	time.Sleep(time.Second) // let the last closes reach the server
	switch kind {
	case "maildir":
		verifyMaildir(r, filepath.Join(server, box), ids)
	default:
		verifyMbox(r, filepath.Join(server, box), ids)
	}
	leftovers(r, server, box)
}

// deliverArgs is the command line of one test delivery to target.
func deliverArgs(conf, target string) []string {
	return []string{letterbox, "deliver", "-c", conf, "-f", "tester@example.org", "-r", "rcpt@example.net", target}
}

// injectFaults runs fault rounds until done: each drops the server's
// replies on the connection that carries the next call of one kind on a
// name beginning with prefix, for 3 s, then restarts knfsd (losing its
// reply cache, as a reboot does) and lets the client retransmit.
func injectFaults(r *result, mu *sync.Mutex, faults []string, prefix string, done <-chan struct{}) {
	for round := 1; round <= rounds; round++ {
		for _, op := range faults {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
			if err := armDrop(op, prefix); err != nil {
				mu.Lock()
				r.problem("arm %s: %v", op, err)
				mu.Unlock()
				return
			}
			at := since()
			time.Sleep(3 * time.Second)
			calls, dropped := dropCounters()
			restartServer()
			disarm()
			mu.Lock()
			r.Armed++
			r.Restarts++
			if dropped > 0 {
				r.Dropped++
			}
			r.FaultTrail = append(r.FaultTrail, fmt.Sprintf("%s round %d %s: calls matched %d, replies dropped %d; knfsd restarted at %s", at, round, op, calls, dropped, since()))
			fmt.Println("PROGRESS", r.Scenario, r.FaultTrail[len(r.FaultTrail)-1])
			mu.Unlock()
		}
	}
}

// message is the test message of id: a unique X-Test-Id and a body of a
// length and content that follow from id, so that any damage shows.
func message(id string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: tester@example.org\nTo: rcpt@example.net\nSubject: test %s\nMessage-ID: <%s@kernelnfs>\nX-Test-Id: %s\n\n", id, id, id)
	b.Write(body(id))
	return b.Bytes()
}

func body(id string) []byte {
	var b bytes.Buffer
	h := fnv.New32a()
	h.Write([]byte(id))
	n := 5 + int(h.Sum32()%150)
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, "%s line %d %s\n", id, k, strings.Repeat("abcdefghij", 1+k%7))
	}
	fmt.Fprintf(&b, "END %s lines=%d\n", id, n)
	return b.Bytes()
}

var testID = regexp.MustCompile(`(?m)^X-Test-Id: (\S+)$`)

// judge checks one stored message: its id, and its body unchanged.
func judge(r *result, seen map[string]int, where string, msg []byte) {
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		r.problem("%s: no end of header", where)
		return
	}
	m := testID.FindSubmatch(msg[:i+1])
	if m == nil {
		r.problem("%s: no X-Test-Id", where)
		return
	}
	id := string(m[1])
	seen[id]++
	if !bytes.Equal(msg[i+2:], body(id)) {
		r.problem("%s: %s: body damaged (%d bytes, want %d)", where, id, len(msg)-i-2, len(body(id)))
	}
}

// tally reports missing, duplicated and unexpected messages.
func tally(r *result, seen map[string]int, ids []string) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		switch n := seen[id]; {
		case n == 0:
			r.problem("%s: missing", id)
		case n > 1:
			r.problem("%s: stored %d times", id, n)
		}
	}
	for id := range seen {
		if !want[id] {
			r.problem("%s: not sent", id)
		}
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	r.Notes = append(r.Notes, fmt.Sprintf("stored %d messages, %d distinct, of %d", total, len(seen), len(ids)))
}

// verifyMbox reads the server's copy of the mbox and runs letterbox check
// on it.
func verifyMbox(r *result, path string, ids []string) {
	f, err := os.Open(path)
	if err != nil {
		r.problem("open mbox: %v", err)
		return
	}
	defer f.Close()
	seen := map[string]int{}
	rd := mbox.NewReader(f, mbox.MboxRD)
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.problem("read mbox: %v", err)
			break
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			r.problem("read mbox at %d: %v", e.Offset, err)
			break
		}
		judge(r, seen, fmt.Sprintf("offset %d", e.Offset), b)
	}
	tally(r, seen, ids)
	check(r, path)
}

// check runs letterbox check on the server's copy of the mailbox at path.
func check(r *result, path string) {
	out, err := exec.Command(letterbox, "check", path).CombinedOutput()
	if code := exitCode(err); code != 0 {
		r.problem("letterbox check (server's copy): status %d: %s", code, bytes.TrimSpace(out))
	} else {
		r.Notes = append(r.Notes, "letterbox check (server's copy): "+firstLine(out))
	}
}

// verifyMaildir reads the server's copy of the Maildir.
func verifyMaildir(r *result, path string, ids []string) {
	seen := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		es, err := os.ReadDir(filepath.Join(path, sub))
		if err != nil {
			r.problem("read %s: %v", sub, err)
			continue
		}
		for _, e := range es {
			b, err := os.ReadFile(filepath.Join(path, sub, e.Name()))
			if err != nil {
				r.problem("%v", err)
				continue
			}
			judge(r, seen, sub+"/"+e.Name(), b)
		}
	}
	tally(r, seen, ids)
	if es, _ := os.ReadDir(filepath.Join(path, "tmp")); len(es) > 0 {
		r.problem("tmp/ holds %d files: %s", len(es), es[0].Name())
	}
	check(r, path)
}

// leftovers reports any name in the server's directory besides the
// mailbox: a lock, a unique or private lock name, a silly-renamed .nfs file.
func leftovers(r *result, dir, box string) {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if e.Name() != box {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			r.problem("left behind: %s (%q)", e.Name(), firstLine(b))
		}
	}
}

// localLocks is run on mounts whose kernel locks stay on each client
// (local_lock=all): deliveries into an mbox and "letterbox lock" on both
// mounts must be refused at once with 4.3.5 and the option named, leaving
// nothing on the server, and a delivery into a Maildir, which needs no
// lock, must go through.
func localLocks(r *result) {
	const dir = "local"
	server := filepath.Join("/export", spool, dir)
	for _, sub := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(server, "Maildir", sub), 0o700)
	}
	conf := config("/tmp", "")
	for _, g := range guests {
		box := filepath.Join(g.mount, spool, dir)
		for _, c := range []struct {
			what string
			argv []string
			want int
		}{
			{"deliver to mbox", deliverArgs(conf, box+"/mbox"), 75},
			{"lock", []string{letterbox, "lock", "-c", conf, box + "/mbox", "--", "true"}, 75},
			{"deliver to Maildir", deliverArgs(conf, box+"/Maildir/"), 0},
		} {
			r.Expected++
			cmd := g.command(c.argv...)
			cmd.Stdin = bytes.NewReader(message("local-" + g.name))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			code := exitCode(cmd.Run())
			r.Exits[strconv.Itoa(code)]++
			r.said(g.name+" "+c.what, stderr.Bytes())
			switch {
			case code != c.want:
				r.problem("%s on %s: status %d, want %d: %s", c.what, g.name, code, c.want, firstLine(stderr.Bytes()))
			case c.want != 0 && !(strings.Contains(stderr.String(), "4.3.5") && strings.Contains(stderr.String(), "local_lock=all")):
				r.problem("%s on %s: refused without saying why: %s", c.what, g.name, firstLine(stderr.Bytes()))
			default:
				r.Delivered++
			}
		}
	}
	time.Sleep(time.Second) // let the last closes reach the server
	verifyMaildir(r, filepath.Join(server, "Maildir"), []string{"local-a", "local-b"})
	leftovers(r, server, "Maildir")
}

// lockKill: holders of "letterbox lock" on both mounts take turns, each
// proving inside that nobody else is (a mkdir on the server's own copy);
// then a holder on a is killed with SIGKILL while waiters on both mounts
// wait, and both must get the lock, one after the other, with nothing left
// behind.
func lockKill(r *result) {
	const dir = "lk"
	server := filepath.Join("/export", spool, dir)
	os.MkdirAll(server, 0o755)
	os.WriteFile(filepath.Join(server, "mbox"), nil, 0o600) // for the kernel lock too
	os.MkdirAll("/tmp/lk", 0o755)
	conf := config("/tmp/lk", short)
	inside := filepath.Join(server, "inside")
	// The critical section: fails with 99 if another holder is in it.
	critical := `mkdir "$0" 2>/dev/null || exit 99; usleep 30000; rmdir "$0"`
	var mu sync.Mutex
	run := func(g guest, worker string) int {
		cmd := g.command(letterbox, "lock", "-c", conf, filepath.Join(g.mount, spool, dir, "mbox"), "--", "sh", "-c", critical, inside)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code := exitCode(cmd.Run())
		mu.Lock()
		defer mu.Unlock()
		r.said(worker, stderr.Bytes())
		return code
	}
	var wg sync.WaitGroup
	const turns = 10
	for _, g := range guests {
		for p := 1; p <= procs; p++ {
			worker := fmt.Sprintf("%s%d", g.name, p)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < turns; i++ {
					code := run(g, worker)
					mu.Lock()
					r.Exits[strconv.Itoa(code)]++
					switch code {
					case 0:
						r.Delivered++
					case 99:
						r.problem("%s: two holders in the critical section at %s", worker, since())
						os.Remove(inside)
					default:
						r.Retries++
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	r.Expected = turns * procs * len(guests)

	// The SIGKILL: a holder on a, waiters on a and b.
	holder := guests[0].command(letterbox, "lock", "-c", conf, filepath.Join("/mnt/a", spool, dir, "mbox"), "--", "sh", "-c", `mkdir "$0"; touch /tmp/held; exec sleep 600`, inside)
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	os.Remove("/tmp/held")
	if err := holder.Start(); err != nil {
		r.problem("start holder: %v", err)
		return
	}
	for i := 0; i < 600; i++ {
		if _, err := os.Stat("/tmp/held"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	type waited struct {
		worker string
		code   int
		at     time.Time
	}
	res := make(chan waited, 2)
	for _, g := range guests {
		go func() {
			code := run(g, "waiter-"+g.name)
			res <- waited{"waiter on " + g.name, code, time.Now()}
		}()
	}
	time.Sleep(3 * time.Second)
	select {
	case w := <-res:
		r.problem("%s got through (status %d) while the holder was alive", w.worker, w.code)
	default:
	}
	// The holder's host "crashes": letterbox and its command die at once,
	// leaving the lock file and the critical section's marker.
	syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
	holder.Wait()
	killed := time.Now()
	os.Remove(inside)
	r.Expected += 2
	for i := 0; i < 2; i++ {
		select {
		case w := <-res:
			r.Exits[strconv.Itoa(w.code)]++
			if w.code != 0 {
				r.problem("%s: status %d after the holder was killed", w.worker, w.code)
			} else {
				r.Delivered++
			}
			r.Notes = append(r.Notes, fmt.Sprintf("%s had the lock %.1fs after the SIGKILL", w.worker, w.at.Sub(killed).Seconds()))
		case <-time.After(120 * time.Second):
			r.problem("a waiter still waits 120 s after the SIGKILL")
		}
	}
	time.Sleep(time.Second)
	leftovers(r, server, "mbox")
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return l
}

func sysctl(key, value string) {
	os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
}

// restartServer stops and starts knfsd, which empties its duplicate reply
// cache and, for NFSv4, forgets every session: what a reboot or a
// fail-over does. The grace period is ended at once, so the clients'
// kernel locks cannot be reclaimed either — the harshest case. With
// tcp_max_orphans at 0 (guestMain) the closed server sockets reset at
// once instead of sending the dropped replies late, as a rebooted server's
// would not.
func restartServer() {
	exec.Command("rpc.nfsd", "0").Run()
	exec.Command("rpc.nfsd", "8").Run()
	os.WriteFile("/proc/fs/nfsd/v4_end_grace", []byte("Y"), 0o644)
}

// setupFaults makes the nftables table the faults use: a set of client
// endpoints whose replies are dropped, and a chain for the rules. A call
// that armDrop matches adds its sender (address and port) to the set; the
// server's replies to an endpoint in the set are dropped.
//
// Not connection tracking and marks: while no rule used tracking the
// kernel stopped following the connections, their tracked windows went
// stale, and when a fault brought tracking back the next packets were out
// of window — no mark was set and no reply dropped (in about one fault
// round in twenty; in the replay scenario A's release then went through
// whole, unseen). A set of endpoints needs no state of the connection.
func setupFaults() error {
	return nft("add table inet lbnfs\n" +
		"add set inet lbnfs lost { type ipv4_addr . inet_service; flags dynamic; }\n" +
		"add chain inet lbnfs out { type filter hook output priority 0; policy accept; }\n")
}

// nft loads rules with nft -f.
func nft(rules string) error {
	os.WriteFile("/tmp/lbnfs.nft", []byte(rules), 0o644)
	if out, err := exec.Command("nft", "-f", "/tmp/lbnfs.nft").CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, out)
	}
	return nil
}

// dropReplies is the rule that drops the server's replies to the endpoints
// in the set.
const dropReplies = "add rule inet lbnfs out tcp sport 2049 ip daddr . tcp dport @lost counter drop\n"

// armDrop makes nftables drop every reply of the server on the connection
// that carries the next call op ("link", "remove", "rename") on a name
// beginning with prefix (NFSv4; NFSv3 calls are matched by procedure
// alone). The call is matched and its sender put in the set; the set
// drops the replies.
func armDrop(op, prefix string) error {
	v3 := map[string]int{"link": 15, "remove": 12, "rename": 14}[op]
	v4 := map[string]int{"link": 11, "remove": 28, "rename": 29}[op]
	var b strings.Builder
	b.WriteString("flush chain inet lbnfs out\nflush set inet lbnfs lost\n")
	const add = "counter add @lost { ip saddr . tcp sport }"
	if os.Getenv("LBNFS_VERS") == "3" {
		// RPC over TCP: record mark, xid, CALL (0), rpcvers, prog, vers, proc.
		fmt.Fprintf(&b, "add rule inet lbnfs out tcp dport 2049 @ih,64,32 0 @ih,128,32 100003 @ih,160,32 3 @ih,192,32 %d %s\n", v3, add)
	} else {
		// A COMPOUND's operations sit at offsets that vary, but XDR keeps
		// every field 4-byte aligned: one rule per offset nft can reach
		// (255 bytes) for "opnum, name length, first 4 bytes of the name".
		var name [4]byte
		copy(name[:], prefix)
		for k := 0; (k*32+96)/8 <= 252; k++ {
			fmt.Fprintf(&b, "add rule inet lbnfs out tcp dport 2049 @ih,%d,32 %d @ih,%d,32 0x%x %s\n", k*32, v4, k*32+64, name, add)
		}
	}
	b.WriteString(dropReplies)
	return nft(b.String())
}

// disarm removes the fault rules and empties the set.
func disarm() { nft("flush chain inet lbnfs out\nflush set inet lbnfs lost\n") }

// dropCounters sums the packets the matching rules saw and the replies the
// drop rule dropped.
func dropCounters() (calls, dropped int) {
	out, _ := exec.Command("nft", "list", "chain", "inet", "lbnfs", "out").Output()
	re := regexp.MustCompile(`packets (\d+)`)
	for _, l := range strings.Split(string(out), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if strings.Contains(l, "drop") {
			dropped += n
		} else {
			calls += n
		}
	}
	return calls, dropped
}

// replayedRelease makes, one step at a time, the sequence the fault
// scenarios show now and then (docs/locking.md §10.9): A's release renames
// the lock aside and the reply is lost; B takes the free lock; the server
// restarts, losing the reply cache (v3) or the session (v4.1+) that would
// have recognised the retransmission; A's client sends the RENAME again
// and the server runs it again — on B's lock. A must see B's inode under
// its private name and put it back, B's lock must stand again under the
// lock name, and nothing may be left behind.
func replayedRelease(r *result) {
	const dir = "rr"
	server := filepath.Join("/export", spool, dir)
	os.MkdirAll(server, 0o755)
	os.WriteFile(filepath.Join(server, "mbox"), nil, 0o600)
	os.MkdirAll("/tmp/rr", 0o755)
	conf := config("/tmp/rr", short)
	lock := filepath.Join(server, "mbox.lock")
	r.Expected = 2

	// 1. A holds the lock for a moment; the reply to its release is lost.
	if err := armDrop("rename", "mbox"); err != nil {
		r.problem("arm: %v", err)
		return
	}
	var aerr, berr bytes.Buffer
	a := guests[0].command(letterbox, "lock", "-c", conf, filepath.Join("/mnt/a", spool, dir, "mbox"), "--", "true")
	a.Stderr = &aerr
	if err := a.Start(); err != nil {
		r.problem("start A: %v", err)
		return
	}
	aDone := make(chan int, 1)
	go func() { aDone <- exitCode(a.Wait()) }()
	var aside []string
	aExit := -1
	if !waitUntil(15*time.Second, func() bool {
		aside, _ = filepath.Glob(lock + ".rel.*")
		_, err := os.Lstat(lock)
		if err != nil && len(aside) == 1 {
			return true
		}
		select {
		case aExit = <-aDone:
			return true // checked below
		default:
			return false
		}
	}) || aExit >= 0 {
		calls, dropped := dropCounters()
		if aExit >= 0 {
			// A whole release, reply and all: the fault did not happen.
			r.problem("A exited %d before its release was seen half done: the reply to its RENAME was not dropped", aExit)
		} else {
			r.problem("A's release was not seen on the server (lock renamed aside) within 15 s")
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s calls matched %d, replies dropped %d; on the server: %s", since(), calls, dropped, listing(server)))
		disarm()
		if aExit < 0 {
			r.Notes = append(r.Notes, kernelStacks(a.Process.Pid)...)
			a.Process.Signal(syscall.SIGQUIT) // Go prints every goroutine's stack
			select {
			case <-aDone:
			case <-time.After(10 * time.Second):
				a.Process.Kill()
			}
		}
		r.said("A", aerr.Bytes())
		return
	}
	calls, _ := dropCounters()
	r.Notes = append(r.Notes, fmt.Sprintf("%s A's RENAME %s -> %s done on the server, its reply dropped (calls matched %d)", since(), filepath.Base(lock), filepath.Base(aside[0]), calls))
	keepDropping()
	r.Armed++
	r.Dropped++

	// 2. B takes the lock, which is free now, and holds it.
	os.Remove("/tmp/rr-held")
	b := guests[1].command(letterbox, "lock", "-c", conf, filepath.Join("/mnt/b", spool, dir, "mbox"), "--", "sh", "-c", "touch /tmp/rr-held; sleep 8")
	b.Stderr = &berr
	if err := b.Start(); err != nil {
		r.problem("start B: %v", err)
		return
	}
	bDone := make(chan int, 1)
	go func() { bDone <- exitCode(b.Wait()) }()
	if !waitUntil(15*time.Second, func() bool { _, err := os.Stat("/tmp/rr-held"); return err == nil }) {
		r.problem("B did not get the free lock within 15 s")
	}
	var bIno uint64
	if st, err := os.Lstat(lock); err == nil {
		bIno = st.Sys().(*syscall.Stat_t).Ino
		r.Notes = append(r.Notes, fmt.Sprintf("%s B holds the lock: inode %d", since(), bIno))
	}

	// 3. The server restarts; A's client sends its RENAME again.
	restartServer()
	disarm()
	r.Restarts++
	r.Notes = append(r.Notes, since()+" knfsd restarted")
	var aCode int
	select {
	case aCode = <-aDone:
	case <-time.After(60 * time.Second):
		r.problem("A still waits 60 s after the restart")
		a.Process.Kill()
		aCode = <-aDone
	}
	r.Exits[strconv.Itoa(aCode)]++
	if aCode == 0 {
		r.Delivered++
	} else {
		// A's command ran under the lock, proven after it ended: what its
		// release found afterwards is no reason to report a failure.
		r.problem("A exited %d", aCode)
	}
	st, err := os.Lstat(lock)
	switch {
	case err != nil:
		r.problem("after A's release: no lock, B's was not put back (%v)", err)
	case st.Sys().(*syscall.Stat_t).Ino != bIno:
		r.problem("after A's release: the lock is inode %d, B's was %d", st.Sys().(*syscall.Stat_t).Ino, bIno)
	default:
		r.Notes = append(r.Notes, fmt.Sprintf("%s A exited %d; B's inode %d stands under the lock name again", since(), aCode, bIno))
	}
	if !strings.Contains(aerr.String(), "displaced by a replayed rename") {
		r.problem("A did not report the displaced lock it put back: %q", aerr.String())
	}
	bCode := <-bDone
	r.Exits[strconv.Itoa(bCode)]++
	if bCode == 0 {
		r.Delivered++
	} else {
		r.Notes = append(r.Notes, fmt.Sprintf("B exited %d: it saw its lock gone before A put it back", bCode))
	}
	r.said("A", aerr.Bytes())
	r.said("B", berr.Bytes())
	time.Sleep(time.Second)
	leftovers(r, server, "mbox")
}

// keepDropping keeps dropping the replies to the endpoints in the set, but
// adds no more.
func keepDropping() { nft("flush chain inet lbnfs out\n" + dropReplies) }

// listing names the files in dir with inode, link count and size.
func listing(dir string) string {
	es, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range es {
		if st, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			s := st.Sys().(*syscall.Stat_t)
			fmt.Fprintf(&b, "%s(ino %d, nlink %d, %d bytes) ", e.Name(), s.Ino, s.Nlink, s.Size)
		}
	}
	return b.String()
}

// kernelStacks is where in the kernel each thread of pid waits, with the
// system call it is in: what a process stuck on the server is waiting for.
func kernelStacks(pid int) []string {
	var out []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		sc, _ := os.ReadFile(t + "/syscall")
		st, _ := os.ReadFile(t + "/stack")
		out = append(out, fmt.Sprintf("thread %s syscall %s: %s", filepath.Base(t), strings.Fields(string(sc) + " ?")[0], strings.Join(strings.Fields(string(st)), " ")))
	}
	return out
}

func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
