package kernelnfs

// The host's side of the kernel NFS tests: build the guest once per run,
// boot it once per NFS version with this test binary and letterbox as the
// payload, and judge the RESULT lines the guest prints (guest_test.go).
// Per-scenario figures are logged and appended to $KERNELNFS_REPORT when
// it is set (.ci/run prints it).

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("KERNELNFS_GUEST") == "1" {
		os.Exit(guestMain())
	}
	code := m.Run()
	if built.root != "" {
		os.RemoveAll(built.root)
	}
	os.Exit(code)
}

// built is the guest and payload, made once per run by the first test that
// needs them.
var built struct {
	sync.Once
	root    string
	guest   *Guest
	payload map[string]string
	err     error
}

func setup(t *testing.T) (*Guest, map[string]string) {
	built.Do(func() {
		built.root, built.err = os.MkdirTemp("", "letterbox-kernelnfs-")
		if built.err != nil {
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			built.err = &UnavailableError{"no cache directory for the kernel packages: " + err.Error()}
			return
		}
		built.guest, built.err = Build(filepath.Join(built.root, "guest"), filepath.Join(cache, "letterbox-ci", "kernelnfs"))
		if built.err != nil {
			return
		}
		built.payload, built.err = payload(built.root)
	})
	if u, ok := built.err.(*UnavailableError); ok {
		t.Skipf("kernel NFS guest unavailable: %s", u.Reason)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.guest, built.payload
}

// payload builds letterbox and this test binary, both static (the guest
// has no libc of its own), into dir.
func payload(dir string) (map[string]string, error) {
	lb := filepath.Join(dir, "letterbox")
	cmd := exec.Command("go", "build", "-o", lb, "letterbox/cmd/letterbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build letterbox: %v: %s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if !static(self) {
		self = filepath.Join(dir, "kernelnfs.test")
		cmd := exec.Command("go", "test", "-c", "-o", self, "letterbox/internal/kernelnfs")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go test -c: %v: %s", err, out)
		}
	}
	return map[string]string{"letterbox": lb, "run": self}, nil
}

// static reports whether the ELF file at path needs no dynamic loader.
func static(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// allScenarios are run in this order in each boot.
var allScenarios = []string{"mbox", "mbox-faults", "maildir", "lock-sigkill", "replay", "control"}

func TestKernelNFSv3(t *testing.T)  { kernelNFS(t, "3", "", allScenarios) }
func TestKernelNFSv42(t *testing.T) { kernelNFS(t, "4.2", "", allScenarios) }

// With local_lock=all the kernel locks stay in each client (as with v3
// nolock): the two mounts are two superblocks, so their locks do not
// exclude each other, and only the dot-lock would guard the mailbox. Under
// the faults of docs/locking.md §10.9 a replayed release lets two writers
// append at once, which no rollback can undo (a message has been lost so),
// so letterbox refuses such a mount for mbox deliveries and "letterbox
// lock": local-locks, judged. mbox-faults-trusted runs the fault scenario
// with trust_local_locks set, to show what the dot-lock alone does; it is
// reported, not judged.
func TestKernelNFSv3LocalLocks(t *testing.T) {
	kernelNFS(t, "3", "local_lock=all", []string{"local-locks", "mbox-faults-trusted"})
}

// kernelNFS boots the guest with NFS version vers and the extra mount
// options opts, and judges the scenarios. Mounts are hard, with a short
// retransmission timeout so that a dropped reply costs a second, not a
// minute.
func kernelNFS(t *testing.T, vers, opts string, names []string) {
	g, pl := setup(t)
	sc := filepath.Join(built.root, "scenarios-"+vers+opts)
	if only := os.Getenv("KERNELNFS_SCENARIOS"); only != "" {
		names = strings.Split(only, ",") // while working on one
	}
	os.WriteFile(sc, []byte(strings.Join(names, "\n")+"\n"), 0o644)
	files := map[string]string{"scenarios": sc}
	for k, v := range pl {
		files[k] = v
	}
	start := time.Now()
	mount := "timeo=10,retrans=1"
	if opts != "" {
		mount += "," + opts
	}
	// The budget of one boot: the suite must stay within 15 minutes.
	out, status, err := g.Boot(context.Background(), files, []string{"lbnfs.vers=" + vers, "lbnfs.opts=" + mount}, 7*time.Minute)
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("guest: %v\noutput:\n%s", err, out)
	}
	if status != 0 {
		t.Fatalf("guest driver: status %d\n%s", status, out)
	}
	results := map[string]*result{}
	for _, l := range strings.Split(out, "\n") {
		if j, ok := strings.CutPrefix(l, "RESULT "); ok {
			r := new(result)
			if err := json.Unmarshal([]byte(j), r); err != nil {
				t.Fatalf("guest result %q: %v", j, err)
			}
			results[r.Scenario] = r
		}
	}
	var report strings.Builder
	fmt.Fprintf(&report, "kernel NFS v%s %s (boot and scenarios %.0fs):\n", vers, opts, wall.Seconds())
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := results[name]
			if r == nil {
				t.Fatalf("the guest reported nothing for %s:\n%s", name, out)
			}
			line := fmt.Sprintf("  %-13s %d/%d done, %d retries, exits %v, fault rounds %d (replies really dropped in %d), knfsd restarts %d, %.1fs",
				name, r.Delivered, r.Expected, r.Retries, r.Exits, r.Armed, r.Dropped, r.Restarts, r.Wall)
			if !r.Judged {
				line += fmt.Sprintf(" [control, not judged: %d problems]", len(r.Problems))
			}
			report.WriteString(line + "\n")
			t.Log(line)
			for _, n := range r.Notes {
				report.WriteString("      " + n + "\n")
				t.Log("  " + n)
			}
			for _, f := range r.FaultTrail {
				t.Log("  fault: " + f)
			}
			for _, s := range r.Stderr {
				t.Log("  stderr: " + s)
			}
			for _, p := range r.Problems {
				if r.Judged {
					t.Error(p)
				} else {
					t.Log("  control: " + p)
				}
			}
			if r.Judged && r.Armed > 0 && r.Dropped == 0 {
				t.Errorf("%d fault rounds, but no reply was ever dropped: the faults did not happen", r.Armed)
			}
		})
	}
	if p := os.Getenv("KERNELNFS_REPORT"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			f.WriteString(report.String())
			f.Close()
		}
	}
}
