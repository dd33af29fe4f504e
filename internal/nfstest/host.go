package nfstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// isolatedEnv marks the run of a test inside its private mount namespace.
const isolatedEnv = "NFSTEST_ISOLATED"

// Isolate makes the calling test run in a private mount namespace, so that
// the mounts it makes vanish with it however it ends. Called outside one, it
// runs the test binary again for just this test under "unshare --mount",
// fails t if that run fails, and returns false: the caller returns. Inside,
// it returns true and the test goes on. It skips t, with the reason, where
// the harness cannot run: not root, no /dev/fuse, no unshare or nsenter.
func Isolate(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts FUSE filesystems and makes namespaces")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	for _, prog := range []string{"unshare", "nsenter", "hostname"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("needs %s (util-linux, hostname): %v", prog, err)
		}
	}
	args := []string{"--mount", "--propagation", "private", os.Args[0],
		"-test.run=^" + t.Name() + "$", "-test.count=1", "-test.v", "-test.timeout=15m"}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("isolated run:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("isolated run failed: %v", err)
	}
	return false
}

// Host is one simulated NFS client: its own mount of the server (its own
// caches), its own hostname (UTS namespace) and its own pid namespace, so
// that two hosts can hand out the same pid.
type Host struct {
	Name string
	Dir  string // where this host sees the server's directory

	fuse *fuse.Server
	ns   *exec.Cmd // the namespaces' first process, "sleep"
	pid  int       // its pid, as this process sees it
}

// NewHost mounts s at a new directory below dir for host name, with caching
// c, and starts its namespaces. Both end when the test does.
func (s *Server) NewHost(t testing.TB, dir, name string, c Caching) *Host {
	t.Helper()
	h := &Host{Name: name, Dir: filepath.Join(dir, name)}
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Mount(h.Dir, c)
	if err != nil {
		t.Fatalf("mount for %s: %v", name, err)
	}
	h.fuse = fs
	t.Cleanup(func() {
		if err := fs.Unmount(); err != nil {
			syscall.Unmount(h.Dir, syscall.MNT_DETACH)
		}
	})
	// --mount-proc: a /proc of the host's own pid namespace, where a
	// process finds itself by the pid getpid returns.
	h.ns = exec.Command("unshare", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c", `hostname "$0" && exec sleep 100000`, name)
	if err := h.ns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ns.Process.Kill(); h.ns.Wait() })
	// The sleep is unshare's child; wait until it runs with the hostname.
	deadline := time.Now().Add(10 * time.Second)
	for h.pid == 0 {
		if kids := children(h.ns.Process.Pid); len(kids) == 1 {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", kids[0])); err == nil && strings.TrimSpace(string(b)) == "sleep" {
				h.pid = kids[0]
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s: namespaces did not start", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return h
}

// Command returns argv to be run on the host: in its UTS, pid and mount
// namespaces. The process it starts is nsenter, which forks argv; Kill
// reaches argv itself.
func (h *Host) Command(argv ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(h.pid), "--uts", "--pid", "--mount", "--"}, argv...)...)
}

// Kill sends sig to the program that cmd (from Command, started) runs on
// the host. The pid read from /proc may be gone and reused by the time
// it is signalled — with pid_max at 32768 a busy test run reuses pids
// within seconds, and a stray signal then lands in another package's test
// (a mutt, a delivery) — so the signal goes through a pidfd opened while
// the pid is still nsenter's child.
func (h *Host) Kill(cmd *exec.Cmd, sig syscall.Signal) error {
	kids := children(cmd.Process.Pid)
	if len(kids) != 1 {
		return fmt.Errorf("nsenter %d has %d children", cmd.Process.Pid, len(kids))
	}
	fd, err := unix.PidfdOpen(kids[0], 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", kids[0], err)
	}
	defer unix.Close(fd)
	if now := children(cmd.Process.Pid); len(now) != 1 || now[0] != kids[0] {
		return fmt.Errorf("nsenter %d: child %d is gone", cmd.Process.Pid, kids[0])
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// children lists the child processes of pid.
func children(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
