package lockrun

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/locking"
)

// Run reports what a shell would, runs the command only under the lock,
// and leaves no lock behind.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "M")
	if err := os.WriteFile(mbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := locking.Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
	o := locking.Options{Timeout: time.Second}
	for _, tc := range []struct {
		argv []string
		code int
		err  int // StartError code, 0 for none
	}{
		{[]string{"sh", "-c", "test -f " + mbox + ".lock"}, 0, 0}, // the dot-lock is there while it runs
		{[]string{"sh", "-c", "exit 3"}, 3, 0},
		{[]string{"sh", "-c", "kill -9 $$"}, 128 + 9, 0},
		{[]string{"letterbox-no-such-command"}, 0, 127},
		{[]string{filepath.Join(dir, "M")}, 0, 126}, // not executable
	} {
		code, err := Run(mbox, m, o, tc.argv, os.Environ())
		var se *StartError
		switch {
		case tc.err != 0 && (!errors.As(err, &se) || se.Code != tc.err):
			t.Errorf("%q: %d, %v; want a start error %d", tc.argv, code, err, tc.err)
		case tc.err == 0 && (err != nil || code != tc.code):
			t.Errorf("%q: %d, %v; want %d", tc.argv, code, err, tc.code)
		}
		if _, err := os.Lstat(mbox + ".lock"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%q: lock left behind: %v", tc.argv, err)
		}
	}
}

// A lock taken away while the command runs stops the command (SIGTERM)
// and is reported as a LostError.
func TestRunLockLost(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "M")
	o := locking.Options{Timeout: time.Second, Refresh: 50 * time.Millisecond, StaleOwn: 10 * time.Second}
	start := time.Now()
	_, err := Run(mbox, locking.Methods{Dotlock: true}, o, []string{"sh", "-c", "rm " + mbox + ".lock; exec sleep 10"}, os.Environ())
	var le *LostError
	if !errors.As(err, &le) || !errors.Is(err, locking.ErrLost) {
		t.Fatalf("Run = %v, want a LostError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the command was not stopped: Run took %s", d)
	}
}

// The server runs our release's rename a second time, after B took the
// lock (NFS after a reboot: docs/locking.md §10.9): the release finds B's
// lock under its private name and puts it back. The command ran under the
// lock — proven after it ended — so its status stands: a loss reported now
// would make the caller redo work that was done under the lock.
func TestRunReplayedReleaseKeepsStatus(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "M")
	lock := mbox + ".lock"
	f := faulty.New(sys.Real{})
	replay := &faulty.Rule{Op: faulty.Rename, Count: 1,
		Match: func(c faulty.Call) bool { return c.Path == lock && strings.Contains(c.Path2, ".rel.") },
		After: func(c faulty.Call) {
			os.WriteFile(lock+".B", []byte("B's lock"), 0o644)
			os.Link(lock+".B", lock)
			os.Remove(lock + ".B")
			os.Rename(c.Path, c.Path2)
		}}
	f.Add(replay)
	code, err := Run(mbox, locking.Methods{Dotlock: true}, locking.Options{Sys: f, Timeout: time.Second}, []string{"sh", "-c", "exit 3"}, os.Environ())
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want the command's 3", code, err)
	}
	if replay.Fired() != 1 {
		t.Fatal("the replay was not injected")
	}
	if b, err := os.ReadFile(lock); string(b) != "B's lock" {
		t.Fatalf("B's lock was not put back: %q, %v", b, err)
	}
	if names, _ := filepath.Glob(lock + ".*"); len(names) != 0 {
		t.Fatalf("left behind: %q", names)
	}
}
