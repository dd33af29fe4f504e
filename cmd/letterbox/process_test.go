package main

// Process tests: "letterbox lock" as real processes racing each other, the
// real dot-locking peers (liblockfile's dotlockfile, procmail's lockfile),
// signals, killed holders, and "other hosts" made with a UTS namespace.
//
// The executable is the copy of this test binary that testscript.Main puts
// in $PATH as "letterbox" (see TestMain and letterboxPath in main_test.go);
// run under that name it is the real command.
//
// Each test works in its own t.TempDir with a config file written by the
// test, with short lock intervals so that staleness shows within seconds.

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
	"syscall"
	"testing"
	"time"
)

// cs.sh is the critical section every lock holder runs, whatever lock it
// took. It detects a second holder three ways: mkdir(2) of cs.d fails while
// another holder is inside; the read-modify-write of counter loses an
// update when two run at once (checked at the end against the log); and the
// lock file must exist while anyone is inside. $1 names the iteration.
const criticalSection = `
if ! mkdir cs.d 2>/dev/null; then echo "OVERLAP $1" >> overlaps; fi
[ -e M.lock ] || echo "NOLOCK $1" >> overlaps
read n < counter
sleep 0.001
echo $((n+1)) > counter
echo "$1" >> log
rmdir cs.d 2>/dev/null
exit 0
`

// baseConfig is the config of most process tests: a holder refreshes every
// 200ms, a letterbox lock of another host is stale after 1s.
const baseConfig = `
lock_timeout   = "60s"
lock_refresh   = "200ms"
stale_lock_own = "2s"
log            = "stderr"
`

// testEnv is the environment of the processes started here: the test's own
// (with letterbox in $PATH), without a config file from outside.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LETTERBOX_CONFIG=") {
			env = append(env, kv)
		}
	}
	return env
}

func writeFile(t testing.TB, path, content string, perm os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is a process started by a test, in its own process group so that it
// and everything it started can be killed together.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int // exit status, or -1 when killed by a signal
	sig    syscall.Signal
}

func startProc(t testing.TB, dir string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: strings.Join(argv, " "), done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Env = testEnv()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.sig = ws.Signal()
			}
		} else if err != nil {
			p.code = -2
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.killGroup(syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// killGroup signals the process and everything it started.
func (p *proc) killGroup(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig)
}

// wait waits up to timeout for the process to end and returns its status.
func (p *proc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.killGroup(syscall.SIGKILL)
		<-p.done
		t.Fatalf("%s: still running after %v; killed. stderr:\n%s", p.name, timeout, p.stderr.String())
		return -1
	}
}

// runProc runs argv in dir and returns its status, stdout and stderr.
func runProc(t testing.TB, dir string, timeout time.Duration, argv ...string) (int, string, string) {
	t.Helper()
	p := startProc(t, dir, argv...)
	code := p.wait(t, timeout)
	return code, p.stdout.String(), p.stderr.String()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func stat(t testing.TB, path string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatalf("lstat %s: %v", path, err)
	}
	return &st
}

// changed is the later of a file's mtime and ctime: the time its age is
// measured from.
func changed(st *syscall.Stat_t) time.Time {
	m := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	c := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	if c.After(m) {
		return c
	}
	return m
}

func mtime(t testing.TB, path string) time.Time {
	t.Helper()
	st := stat(t, path)
	return time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
}

// wantLockFiles fails unless the names in dir that start with M.lock are
// exactly want.
func wantLockFiles(t testing.TB, dir string, want ...string) {
	t.Helper()
	got, err := lockLeftovers(dir, "M")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("lock files in %s: %q, want %q", dir, got, want)
	}
}

// checkCriticalSection verifies what cs.sh recorded: no overlap, and every
// one of the ids ran exactly once and was counted.
func checkCriticalSection(t *testing.T, dir string, ids []string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "overlaps")); err == nil {
		t.Errorf("two holders at once:\n%s", firstLines(string(b), 20))
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		seen[l]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("critical section %s ran %d times, want 1", id, seen[id])
		}
	}
	if n := len(strings.Fields(string(b))); n != len(ids) {
		t.Errorf("critical section ran %d times, want %d", n, len(ids))
	}
	c, err := os.ReadFile(filepath.Join(dir, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(c)); got != strconv.Itoa(len(ids)) {
		t.Errorf("counter = %s, want %d: updates were lost to concurrent holders", got, len(ids))
	}
	if exists(filepath.Join(dir, "cs.d")) {
		t.Errorf("cs.d left behind")
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...\n")
	}
	return strings.Join(lines, "")
}

// lockDir is a fresh directory with the tests' config file.
func lockDir(t *testing.T) (dir, cfg string) {
	dir = t.TempDir()
	return dir, writeFile(t, filepath.Join(dir, "lb.toml"), baseConfig, 0o644)
}

// stressDir prepares a directory for the mutual exclusion tests: the
// critical section, its counter, an existing mailbox M (so the kernel lock
// is taken too) and the config.
func stressDir(t *testing.T) (dir, cfg string) {
	dir = t.TempDir()
	// Nothing here is stale: a generous stale_lock_own keeps a holder that
	// the loaded machine starves of CPU for half a second from (rightly)
	// giving its lock up, which would read as a failed run.
	relaxed := strings.Replace(baseConfig, `stale_lock_own = "2s"`, `stale_lock_own = "30s"`, 1)
	if relaxed == baseConfig {
		t.Fatal("baseConfig changed: update stressDir")
	}
	cfg = writeFile(t, filepath.Join(dir, "lb.toml"), relaxed, 0o644)
	writeFile(t, filepath.Join(dir, "cs.sh"), criticalSection, 0o644)
	writeFile(t, filepath.Join(dir, "counter"), "0\n", 0o644)
	writeFile(t, filepath.Join(dir, "M"), "", 0o644)
	return dir, cfg
}

// letterboxLoop runs n iterations of "letterbox lock M -- sh cs.sh ID",
// one after the other, and reports every failure. A run must succeed and
// print nothing: a warning (say, "broke stale lock" or "restored a fresh
// lock") under plain contention is a bug too.
func letterboxLoop(bin, dir, cfg, prefix string, n int, ids chan<- string, errs chan<- error) {
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		cmd := exec.Command(bin, "lock", "-c", cfg, "M", "--", "sh", "cs.sh", id)
		cmd.Dir = dir
		cmd.Env = testEnv()
		out, err := cmd.CombinedOutput()
		switch {
		case err != nil:
			errs <- fmt.Errorf("%s: %v: %s", id, err, out)
			continue
		case len(out) > 0:
			errs <- fmt.Errorf("%s: unexpected output: %s", id, out)
		}
		ids <- id
	}
}

// collect runs the loops started by launch and returns the ids of the
// iterations that ran, failing the test on any reported error.
func collect(t *testing.T, launch func(ids chan<- string, errs chan<- error, wg *sync.WaitGroup)) []string {
	t.Helper()
	ids := make(chan string, 10000)
	errs := make(chan error, 10000)
	var wg sync.WaitGroup
	launch(ids, errs, &wg)
	wg.Wait()
	close(ids)
	close(errs)
	nerr := 0
	for err := range errs {
		if nerr++; nerr <= 10 {
			t.Error(err)
		}
	}
	if nerr > 10 {
		t.Errorf("... %d errors in all", nerr)
	}
	var out []string
	for id := range ids {
		out = append(out, id)
	}
	return out
}

// TestMutualExclusion races 4 loops of 250 "letterbox lock" processes over
// one mailbox: never two holders at once, and every run gets the lock.
func TestMutualExclusion(t *testing.T) {
	bin := letterboxPath(t)
	dir, cfg := stressDir(t)
	loops, iters := 4, 250
	if testing.Short() {
		iters = 50
	}
	start := time.Now()
	ids := collect(t, func(ids chan<- string, errs chan<- error, wg *sync.WaitGroup) {
		for l := range loops {
			wg.Go(func() { letterboxLoop(bin, dir, cfg, fmt.Sprintf("lb%d", l), iters, ids, errs) })
		}
	})
	t.Logf("%d locked runs in %v", len(ids), time.Since(start).Round(time.Millisecond))
	if len(ids) != loops*iters {
		t.Errorf("%d of %d runs succeeded", len(ids), loops*iters)
	}
	checkCriticalSection(t, dir, ids)
	wantLockFiles(t, dir)
}

// needPeers skips t unless the programs it runs are installed (CI installs
// them).
func needPeers(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			pkg := map[string]string{"dotlockfile": "liblockfile-bin", "lockfile": "procmail", "unshare": "util-linux", "postfix": "postfix"}[p]
			t.Skipf("%s is not installed (Debian package %s)", p, pkg)
		}
	}
}

// Peer loops: n rounds of lock, critical section, unlock, in one shell.
// The peers' own retry sleeps are whole seconds (dotlockfile -i, lockfile
// -SECONDS; 0 is a busy spin), which would starve them against letterbox
// loops, so the shell retries a single attempt ("-r 0") every 5ms instead:
// the lock itself is still created and removed by the peer program.
const (
	dotlockfileLoop = `i=0
while [ $i -lt $1 ]; do
	until dotlockfile -q -l -r 0 M.lock; do sleep 0.005; done
	sh cs.sh dotlockfile-$i
	dotlockfile -u M.lock || echo "UNLOCK dotlockfile-$i" >> overlaps
	i=$((i+1))
done
`
	procmailLoop = `i=0
while [ $i -lt $1 ]; do
	until lockfile -r 0 M.lock 2>/dev/null; do sleep 0.005; done
	sh cs.sh lockfile-$i
	rm -f M.lock
	i=$((i+1))
done
`
)

// TestInteropMutualExclusion races letterbox against liblockfile's
// dotlockfile and procmail's lockfile on one mailbox: 2 letterbox loops, 1
// dotlockfile loop, 1 lockfile loop, never two holders at once.
func TestInteropMutualExclusion(t *testing.T) {
	needPeers(t, "dotlockfile", "lockfile")
	bin := letterboxPath(t)
	dir, cfg := stressDir(t)
	writeFile(t, filepath.Join(dir, "dotlockfile.sh"), dotlockfileLoop, 0o644)
	writeFile(t, filepath.Join(dir, "lockfile.sh"), procmailLoop, 0o644)
	lbIters, peerIters := 200, 150
	if testing.Short() {
		lbIters, peerIters = 30, 20
	}
	start := time.Now()
	ids := collect(t, func(ids chan<- string, errs chan<- error, wg *sync.WaitGroup) {
		for l := range 2 {
			wg.Go(func() { letterboxLoop(bin, dir, cfg, fmt.Sprintf("lb%d", l), lbIters, ids, errs) })
		}
		for _, peer := range []string{"dotlockfile", "lockfile"} {
			wg.Go(func() {
				cmd := exec.Command("sh", peer+".sh", strconv.Itoa(peerIters))
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
					errs <- fmt.Errorf("%s loop: %v: %s", peer, err, out)
					return
				}
				for i := range peerIters {
					ids <- fmt.Sprintf("%s-%d", peer, i)
				}
			})
		}
	})
	t.Logf("%d locked runs in %v", len(ids), time.Since(start).Round(time.Millisecond))
	if want := 2*lbIters + 2*peerIters; len(ids) != want {
		t.Errorf("%d of %d runs succeeded", len(ids), want)
	}
	checkCriticalSection(t, dir, ids)
	wantLockFiles(t, dir)
}

// peer describes how a dot-locking peer takes and drops M.lock.
type peer struct {
	name     string
	tryLock  []string // one attempt, no retry
	waitLock []string // retry about every second, for about 5 s
	unlock   []string
}

var peers = []peer{
	{"dotlockfile",
		[]string{"dotlockfile", "-l", "-r", "0", "M.lock"},
		[]string{"dotlockfile", "-l", "-r", "6", "-i", "1", "M.lock"},
		[]string{"dotlockfile", "-u", "M.lock"}},
	{"lockfile",
		[]string{"lockfile", "-r", "0", "M.lock"},
		[]string{"lockfile", "-1", "-r", "6", "M.lock"},
		[]string{"rm", "-f", "M.lock"}},
}

// TestInteropPeerHolds: a lock taken by dotlockfile or procmail's lockfile
// keeps letterbox out (4.2.0, EX_TEMPFAIL at the timeout, the peer's lock
// untouched); a letterbox waiting for it gets it promptly once the peer lets
// go.
func TestInteropPeerHolds(t *testing.T) {
	for _, pr := range peers {
		t.Run(pr.name, func(t *testing.T) {
			needPeers(t, pr.name)
			bin := letterboxPath(t)
			dir, cfg := lockDir(t)
			lockPath := filepath.Join(dir, "M.lock")
			if code, out, errOut := runProc(t, dir, 10*time.Second, pr.tryLock...); code != 0 {
				t.Fatalf("%s: status %d: %s%s", pr.name, code, out, errOut)
			}
			before := stat(t, lockPath)
			content, _ := os.ReadFile(lockPath)

			code, _, errOut := runProc(t, dir, 10*time.Second, bin, "lock", "-c", cfg, "--timeout", "1s", "M", "--", "touch", "ran")
			if code != 75 {
				t.Fatalf("letterbox against %s's lock: status %d, want 75; stderr:\n%s", pr.name, code, errOut)
			}
			if !regexp.MustCompile(`(?m)^4\.2\.0 M\.lock: lock busy for 1s \(held by another program`).MatchString(errOut) {
				t.Errorf("stderr does not report the busy lock:\n%s", errOut)
			}
			if exists(filepath.Join(dir, "ran")) {
				t.Errorf("the command ran without the lock")
			}
			after := stat(t, lockPath)
			now, _ := os.ReadFile(lockPath)
			if after.Ino != before.Ino || !bytes.Equal(now, content) {
				t.Errorf("%s's lock was changed: inode %d -> %d, content %q -> %q", pr.name, before.Ino, after.Ino, content, now)
			}
			wantLockFiles(t, dir, "M.lock")

			// A waiting letterbox gets the lock soon after the peer drops it.
			w := startProc(t, dir, bin, "lock", "-c", cfg, "--timeout", "20s", "M", "--", "touch", "ran")
			time.Sleep(500 * time.Millisecond)
			if w.exited() {
				t.Fatalf("letterbox did not wait for %s's lock: status %d, stderr:\n%s", pr.name, w.code, w.stderr.String())
			}
			if exists(filepath.Join(dir, "ran")) {
				t.Fatalf("the command ran while %s held the lock", pr.name)
			}
			if code, out, errOut := runProc(t, dir, 10*time.Second, pr.unlock...); code != 0 {
				t.Fatalf("%s unlock: status %d: %s%s", pr.name, code, out, errOut)
			}
			released := time.Now()
			if code := w.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("waiting letterbox: status %d, stderr:\n%s", code, w.stderr.String())
			}
			if d := time.Since(released); d > 2*time.Second {
				t.Errorf("letterbox took %v to take the lock after %s released it", d, pr.name)
			}
			if !exists(filepath.Join(dir, "ran")) {
				t.Errorf("the command did not run")
			}
			wantLockFiles(t, dir)
		})
	}
}

// TestInteropLetterboxHolds: while letterbox holds the lock, dotlockfile
// and procmail's lockfile cannot take it; once it is released, a waiting
// peer takes it.
func TestInteropLetterboxHolds(t *testing.T) {
	for _, pr := range peers {
		t.Run(pr.name, func(t *testing.T) {
			needPeers(t, pr.name)
			bin := letterboxPath(t)
			dir, cfg := lockDir(t)
			lockPath := filepath.Join(dir, "M.lock")
			h := startProc(t, dir, bin, "lock", "-c", cfg, "M", "--", "sh", "-c", "touch started; sleep 2; touch finished")
			waitFor(t, 10*time.Second, "the holder's command to start", func() bool { return exists(filepath.Join(dir, "started")) })
			ours, _ := os.ReadFile(lockPath)
			if !bytes.HasPrefix(ours, []byte("letterbox tok=")) {
				t.Fatalf("M.lock holds %q, not letterbox's record", ours)
			}

			if code, out, errOut := runProc(t, dir, 10*time.Second, pr.tryLock...); code == 0 {
				t.Fatalf("%s took the lock letterbox holds: %s%s", pr.name, out, errOut)
			}
			if now, _ := os.ReadFile(lockPath); !bytes.Equal(now, ours) {
				t.Fatalf("M.lock changed under the holder: %q", now)
			}

			// A peer that retries gets it after letterbox releases.
			w := startProc(t, dir, pr.waitLock...)
			if code := h.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("holder: status %d, stderr:\n%s", code, h.stderr.String())
			}
			if h.stderr.Len() > 0 {
				t.Errorf("holder wrote to stderr:\n%s", h.stderr.String())
			}
			if code := w.wait(t, 20*time.Second); code != 0 {
				t.Fatalf("%s waiting for the lock: status %d: %s%s", pr.name, code, w.stdout.String(), w.stderr.String())
			}
			// The peer's lock was created (its ctime) no earlier than the
			// end of the holder's command: both are file times, one clock.
			if took, fin := changed(stat(t, lockPath)), mtime(t, filepath.Join(dir, "finished")); took.Before(fin) {
				t.Fatalf("%s took the lock at %v, before letterbox's command ended at %v", pr.name, took, fin)
			}
			if now, _ := os.ReadFile(lockPath); bytes.HasPrefix(now, []byte("letterbox")) {
				t.Fatalf("after %s took the lock, M.lock holds %q", pr.name, now)
			}
			if code, out, errOut := runProc(t, dir, 10*time.Second, pr.unlock...); code != 0 {
				t.Fatalf("%s unlock: status %d: %s%s", pr.name, code, out, errOut)
			}
			wantLockFiles(t, dir)
		})
	}
}

// TestStaleForeignLock: another program's lock ("0", as procmail and
// liblockfile write it) is kept while younger than stale_lock_foreign and
// broken after.
func TestStaleForeignLock(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "lb.toml"), `
lock_timeout       = "30s"
lock_refresh       = "300ms"
stale_lock_own     = "2s"
stale_lock_foreign = "2s"
log                = "stderr"
`, 0o644)
	lockPath := filepath.Join(dir, "M.lock")
	writeFile(t, lockPath, "0\n", 0o444)
	created := changed(stat(t, lockPath))
	ino := stat(t, lockPath).Ino

	// Fresh: kept.
	code, _, errOut := runProc(t, dir, 10*time.Second, bin, "lock", "-c", cfg, "--timeout", "1s", "M", "--", "touch", "ran")
	if code != 75 || !regexp.MustCompile(`(?m)^4\.2\.0 M\.lock: lock busy for 1s \(held by another program: "0"\)$`).MatchString(errOut) {
		t.Fatalf("fresh foreign lock: status %d, want 75 and 4.2.0; stderr:\n%s", code, errOut)
	}
	if exists(filepath.Join(dir, "ran")) {
		t.Fatalf("the command ran under a fresh foreign lock")
	}
	if st := stat(t, lockPath); st.Ino != ino || !changed(st).Equal(created) {
		t.Fatalf("the fresh foreign lock was replaced or touched")
	}
	wantLockFiles(t, dir, "M.lock")

	// Old: broken.
	time.Sleep(time.Until(created.Add(2100 * time.Millisecond)))
	code, _, errOut = runProc(t, dir, 10*time.Second, bin, "lock", "-c", cfg, "M", "--", "touch", "ran")
	if code != 0 {
		t.Fatalf("stale foreign lock: status %d, want 0; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "broke stale lock") {
		t.Errorf("breaking the stale lock was not logged; stderr:\n%s", errOut)
	}
	ran := mtime(t, filepath.Join(dir, "ran"))
	if age := ran.Sub(created); age < 2*time.Second {
		t.Errorf("the lock was broken at age %v, before stale_lock_foreign (2s)", age)
	}
	wantLockFiles(t, dir)
}

// staleConfig is the config of the long-hold and kill tests.
const staleConfig = `
lock_timeout       = "30s"
lock_refresh       = "300ms"
stale_lock_own     = "2s"
stale_lock_foreign = "1s"
log                = "stderr"
`

// needUnshare skips unless this process may make UTS namespaces.
func needUnshare(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: another host is simulated with a new UTS namespace (unshare --uts)")
	}
	needPeers(t, "unshare")
	if out, err := exec.Command("unshare", "--uts", "sh", "-c", "hostname otherhost && hostname").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "otherhost" {
		t.Skipf("cannot make a UTS namespace with another hostname: %v: %s", err, out)
	}
}

// otherHost is argv run as if on the host "otherhost": same boot, same pid
// namespace, another hostname, so the lock's pid means nothing to it.
func otherHost(argv ...string) []string {
	return append([]string{"unshare", "--uts", "sh", "-c", `hostname otherhost && exec "$@"`, "sh"}, argv...)
}

// TestLongHoldOtherHost: a lock that its holder refreshes is never taken
// from it, not by a waiter on the same host, and not by one on another host
// that can only judge it by age, although the hold lasts six times
// stale_lock_own.
func TestLongHoldOtherHost(t *testing.T) {
	needUnshare(t)
	bin := letterboxPath(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "lb.toml"), staleConfig, 0o644)
	lockPath := filepath.Join(dir, "M.lock")
	h := startProc(t, dir, bin, "lock", "-c", cfg, "M", "--", "sh", "-c", "touch started; sleep 6")
	waitFor(t, 10*time.Second, "the holder's command to start", func() bool { return exists(filepath.Join(dir, "started")) })
	m0 := mtime(t, lockPath)

	other := startProc(t, dir, otherHost(bin, "lock", "-c", cfg, "--timeout", "4s", "M", "--", "touch", "stolen-other")...)
	same := startProc(t, dir, bin, "lock", "-c", cfg, "--timeout", "4s", "M", "--", "touch", "stolen-same")
	time.Sleep(time.Second)
	if m1 := mtime(t, lockPath); !m1.After(m0) {
		t.Errorf("the holder did not refresh the lock within 1s (mtime %v, then %v)", m0, m1)
	}
	for _, w := range []struct {
		p    *proc
		host string
	}{{other, "otherhost"}, {same, "the same host"}} {
		code := w.p.wait(t, 15*time.Second)
		if code != 75 {
			t.Errorf("waiter on %s: status %d, want 75; stderr:\n%s", w.host, code, w.p.stderr.String())
		}
		if !regexp.MustCompile(`(?m)^4\.2\.0 M\.lock: lock busy for 4s \(held by host=\S+ pid=\d+\)$`).MatchString(w.p.stderr.String()) {
			t.Errorf("waiter on %s: stderr does not report the busy lock:\n%s", w.host, w.p.stderr.String())
		}
	}
	for _, f := range []string{"stolen-other", "stolen-same"} {
		if exists(filepath.Join(dir, f)) {
			t.Errorf("a waiter took the lock from a live holder (%s)", f)
		}
	}
	if code := h.wait(t, 15*time.Second); code != 0 || h.stderr.Len() > 0 {
		t.Errorf("holder: status %d, stderr:\n%s", code, h.stderr.String())
	}
	wantLockFiles(t, dir)
}

// TestKilledHolder: the lock of a holder killed with SIGKILL (it and its
// command) is taken at once by a letterbox on the same host, which can see
// that the pid is dead, and by one on another host only once the lock is
// older than stale_lock_own (plus the confirmation wait).
func TestKilledHolder(t *testing.T) {
	bin := letterboxPath(t)
	const staleOwn, refresh = 2 * time.Second, 300 * time.Millisecond

	// killed starts a holder, kills it and its command, reaps it (a zombie
	// still has its pid and start time, so its lock is rightly live until
	// then) and returns when the lock was last refreshed.
	killed := func(t *testing.T, dir, cfg string) time.Time {
		h := startProc(t, dir, bin, "lock", "-c", cfg, "M", "--", "sh", "-c", "touch started; exec sleep 60")
		waitFor(t, 10*time.Second, "the holder's command to start", func() bool { return exists(filepath.Join(dir, "started")) })
		// Let it refresh twice, and kill it between two refreshes.
		time.Sleep(2*refresh + refresh/2)
		h.killGroup(syscall.SIGKILL)
		h.wait(t, 5*time.Second)
		if h.sig != syscall.SIGKILL {
			t.Fatalf("holder was not killed: status %d", h.code)
		}
		lockPath := filepath.Join(dir, "M.lock")
		c, err := os.ReadFile(lockPath)
		if err != nil || !bytes.HasPrefix(c, []byte("letterbox tok=")) {
			t.Fatalf("the killed holder's lock is not there: %q, %v", c, err)
		}
		return changed(stat(t, lockPath))
	}

	t.Run("same host", func(t *testing.T) {
		dir := t.TempDir()
		cfg := writeFile(t, filepath.Join(dir, "lb.toml"), staleConfig, 0o644)
		killed(t, dir, cfg)
		start := time.Now()
		code, _, errOut := runProc(t, dir, 20*time.Second, bin, "lock", "-c", cfg, "--timeout", "20s", "M", "--", "touch", "taken")
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("taker: status %d, stderr:\n%s", code, errOut)
		}
		t.Logf("dead holder's lock taken in %v", took.Round(time.Millisecond))
		if took >= 5*time.Second {
			t.Errorf("taking a dead holder's lock on the same host took %v, want < 5s", took)
		}
		if !strings.Contains(errOut, "broke stale lock") {
			t.Errorf("breaking was not logged; stderr:\n%s", errOut)
		}
		if !exists(filepath.Join(dir, "taken")) {
			t.Errorf("the command did not run")
		}
		wantLockFiles(t, dir)
	})

	t.Run("other host", func(t *testing.T) {
		needUnshare(t)
		dir := t.TempDir()
		cfg := writeFile(t, filepath.Join(dir, "lb.toml"), staleConfig, 0o644)
		last := killed(t, dir, cfg)
		killedAt := time.Now()
		code, _, errOut := runProc(t, dir, 20*time.Second, otherHost(bin, "lock", "-c", cfg, "--timeout", "20s", "M", "--", "touch", "taken")...)
		took := time.Since(killedAt)
		if code != 0 {
			t.Fatalf("taker on otherhost: status %d, stderr:\n%s", code, errOut)
		}
		// The file times of "taken" and of the lock come from the same
		// clock (the file system's): the lock was taken no earlier than
		// stale_lock_own after its last refresh.
		age := mtime(t, filepath.Join(dir, "taken")).Sub(last)
		t.Logf("lock last refreshed %v before the kill, taken %v after the kill, at age %v",
			killedAt.Sub(last).Round(time.Millisecond), took.Round(time.Millisecond), age.Round(time.Millisecond))
		// Stale at stale_lock_own, then confirmed unchanged for
		// lock_refresh*7/6 before it is broken. File times are coarse (a
		// few ms), hence the tolerance.
		if min := staleOwn + refresh*7/6 - 20*time.Millisecond; age < min {
			t.Errorf("the lock was taken at age %v, want >= %v (stale_lock_own %v + confirmation)", age, min, staleOwn)
		}
		if took < staleOwn-refresh {
			t.Errorf("the lock was taken %v after the kill; its last refresh cannot have been %v before", took, staleOwn)
		}
		if max := staleOwn + refresh*7/6 + 3*time.Second; took > max {
			t.Errorf("the lock was taken %v after the kill, want < %v", took, max)
		}
		if !strings.Contains(errOut, "broke stale lock") {
			t.Errorf("breaking was not logged; stderr:\n%s", errOut)
		}
		wantLockFiles(t, dir)
	})
}

// TestSignalForwarded: SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGUSR1 sent to letterbox while
// the command runs are passed on to the command; letterbox exits as the
// command did (128+signal) and releases the lock.
func TestSignalForwarded(t *testing.T) {
	bin := letterboxPath(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1} {
		t.Run(sig.String(), func(t *testing.T) {
			dir, cfg := lockDir(t)
			p := startProc(t, dir, bin, "lock", "-c", cfg, "M", "--", "sh", "-c", `echo $$ > child.pid; exec sleep 30`)
			var child int
			waitFor(t, 10*time.Second, "the command to start", func() bool {
				b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
				child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil && child > 0
			})
			time.Sleep(50 * time.Millisecond) // let sh exec sleep
			p.cmd.Process.Signal(sig)         // letterbox alone, not its group
			sent := time.Now()
			code := p.wait(t, 5*time.Second)
			if want := 128 + int(sig); code != want {
				t.Errorf("status %d, want %d; stderr:\n%s", code, want, p.stderr.String())
			}
			if d := time.Since(sent); d > 2*time.Second {
				t.Errorf("letterbox took %v to end after %v", d, sig)
			}
			if err := syscall.Kill(child, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("the command (pid %d) is still there after letterbox ended: %v", child, err)
			}
			if p.stderr.Len() > 0 {
				t.Errorf("stderr:\n%s", p.stderr.String())
			}
			wantLockFiles(t, dir)
		})
	}
}

// TestSignalWhileWaiting: SIGTERM to a letterbox waiting for a busy lock
// ends the wait at once with 4.2.0 and EX_TEMPFAIL; its unique file is
// removed and the holder's lock is left alone.
func TestSignalWhileWaiting(t *testing.T) {
	bin := letterboxPath(t)
	dir, cfg := lockDir(t)
	lockPath := filepath.Join(dir, "M.lock")
	writeFile(t, lockPath, "0\n", 0o644)
	ino := stat(t, lockPath).Ino
	p := startProc(t, dir, bin, "lock", "-c", cfg, "--timeout", "30s", "M", "--", "touch", "ran")
	waitFor(t, 10*time.Second, "the waiter's unique file", func() bool {
		names, _ := lockLeftovers(dir, "M")
		return len(names) > 1
	})
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	sent := time.Now()
	code := p.wait(t, 10*time.Second)
	if d := time.Since(sent); d > time.Second {
		t.Errorf("letterbox took %v to stop waiting after SIGTERM", d)
	}
	if code != 75 {
		t.Errorf("status %d, want 75", code)
	}
	if !regexp.MustCompile(`(?m)^4\.2\.0 M: interrupted while waiting for the lock$`).MatchString(p.stderr.String()) {
		t.Errorf("stderr does not report the interruption:\n%s", p.stderr.String())
	}
	if exists(filepath.Join(dir, "ran")) {
		t.Errorf("the command ran")
	}
	if c, err := os.ReadFile(lockPath); err != nil || string(c) != "0\n" || stat(t, lockPath).Ino != ino {
		t.Errorf("the holder's lock was changed: %q, %v", c, err)
	}
	wantLockFiles(t, dir, "M.lock")
}

// TestLockLost: when someone removes the lock under a holder (mutt's
// "force removal", an operator), letterbox sees it at its next refresh,
// stops the command with SIGTERM and exits with 4.2.0 "lock lost" and
// EX_TEMPFAIL; it never removes a lock that replaced its own.
func TestLockLost(t *testing.T) {
	bin := letterboxPath(t)
	// The command notes the SIGTERM, and stops its sleep.
	const command = `trap 'touch got-term; kill $! 2>/dev/null; exit 1' TERM; touch started; sleep 10 & wait $!; touch not-stopped`
	for _, replace := range []bool{false, true} {
		name := "removed"
		if replace {
			name = "replaced"
		}
		t.Run(name, func(t *testing.T) {
			dir, cfg := lockDir(t)
			lockPath := filepath.Join(dir, "M.lock")
			p := startProc(t, dir, bin, "lock", "-c", cfg, "M", "--", "sh", "-c", command)
			waitFor(t, 10*time.Second, "the command to start", func() bool { return exists(filepath.Join(dir, "started")) })
			if err := os.Remove(lockPath); err != nil {
				t.Fatal(err)
			}
			var ino uint64
			if replace {
				writeFile(t, lockPath, "0\n", 0o644)
				ino = stat(t, lockPath).Ino
			}
			removed := time.Now()
			code := p.wait(t, 10*time.Second)
			took := time.Since(removed)
			t.Logf("letterbox ended %v after the lock was removed", took.Round(time.Millisecond))
			if took > 1500*time.Millisecond {
				t.Errorf("letterbox took %v to notice the lost lock (lock_refresh 200ms)", took)
			}
			if code != 75 {
				t.Errorf("status %d, want 75", code)
			}
			// The status line comes first, before the log lines (log =
			// "stderr" here): an MTA takes the first line as the status.
			if !regexp.MustCompile(`\A4\.2\.0 M: lock not held throughout the command: .*lock lost`).MatchString(p.stderr.String()) {
				t.Errorf("stderr does not start with the lost-lock status:\n%s", p.stderr.String())
			}
			if !regexp.MustCompile(`(?m)^error: lock lost `).MatchString(p.stderr.String()) {
				t.Errorf("the log line is missing:\n%s", p.stderr.String())
			}
			if !exists(filepath.Join(dir, "got-term")) {
				t.Errorf("the command was not sent SIGTERM")
			}
			if exists(filepath.Join(dir, "not-stopped")) {
				t.Errorf("the command ran to its end")
			}
			if replace {
				if c, err := os.ReadFile(lockPath); err != nil || string(c) != "0\n" || stat(t, lockPath).Ino != ino {
					t.Errorf("the lock that replaced ours was changed: %q, %v", c, err)
				}
				wantLockFiles(t, dir, "M.lock")
			} else {
				wantLockFiles(t, dir)
			}
		})
	}
}

// TestUnwritableDirectory: as an ordinary user (nobody) in a directory it
// may not write, letterbox fails with 4.2.0 and EX_TEMPFAIL and creates
// nothing; with dotlock_may_fail it goes on with the kernel lock alone.
// Root may write anywhere, so the test runs the binary as nobody.
func TestUnwritableDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run letterbox as nobody (uid 65534) in a root-owned directory; root itself bypasses the permission under test")
	}
	const nobody = 65534
	base := t.TempDir()
	// The temporary directories are 0700; nobody must reach base.
	if err := openPath(base); err != nil {
		t.Fatal(err)
	}
	// A copy nobody can execute: testscript's bin directory is private.
	bin := filepath.Join(base, "letterbox")
	src, err := os.Open(letterboxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(base, "spool")
	out := filepath.Join(base, "out")
	if err := os.Mkdir(spool, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(out, 0o777) // past the umask
	cfgMayFail := writeFile(t, filepath.Join(base, "mayfail.toml"), "dotlock_may_fail = true\nlog = \"none\"\n", 0o644)

	asNobody := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = base
		cmd.Env = testEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, stderr.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), stderr.String()
		}
		t.Fatalf("run as nobody: %v", err)
		return 0, ""
	}
	spoolNames := func() []string {
		ents, err := os.ReadDir(spool)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		return n
	}

	code, errOut := asNobody("lock", "spool/M", "--", "touch", "out/ran")
	if code != 75 {
		t.Errorf("status %d, want 75; stderr:\n%s", code, errOut)
	}
	if !regexp.MustCompile(`^4\.2\.0 spool/M: .*permission denied\n$`).MatchString(errOut) {
		t.Errorf("stderr is not one 4.2.0 line naming the permission problem:\n%s", errOut)
	}
	if exists(filepath.Join(out, "ran")) {
		t.Errorf("the command ran without a lock")
	}
	if n := spoolNames(); len(n) != 0 {
		t.Errorf("files created in the unwritable directory: %q", n)
	}

	// The same with a mailbox nobody may write, and dotlock_may_fail: the
	// fcntl lock alone guards it.
	mbox := filepath.Join(spool, "M")
	writeFile(t, mbox, "", 0o666)
	os.Chmod(mbox, 0o666)
	code, errOut = asNobody("lock", "-c", cfgMayFail, "spool/M", "--", "touch", "out/ran")
	if code != 0 {
		t.Errorf("with dotlock_may_fail: status %d, want 0; stderr:\n%s", code, errOut)
	}
	if !exists(filepath.Join(out, "ran")) {
		t.Errorf("with dotlock_may_fail: the command did not run")
	}
	if n := spoolNames(); strings.Join(n, " ") != "M" {
		t.Errorf("files in the unwritable directory: %q, want just M", n)
	}
	// ... and without it, still a temporary failure.
	code, errOut = asNobody("lock", "spool/M", "--", "true")
	if code != 75 || !strings.HasPrefix(errOut, "4.2.0 ") {
		t.Errorf("existing mailbox, no dotlock_may_fail: status %d, stderr %q; want 75 and 4.2.0", code, errOut)
	}
}
