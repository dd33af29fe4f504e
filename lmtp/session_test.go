package lmtp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// The directories a virtual mailbox needs are made 0700, and the directory
// holding each new one is fsynced before anything is acknowledged.
func TestMakeParentsSyncs(t *testing.T) {
	dir := t.TempDir()
	f := faulty.New(sys.Real{})
	mb := filepath.Join(dir, "a", "b", "c", "mbox")
	if err := makeParents(f, mb); err != nil {
		t.Fatal(err)
	}
	var synced []string
	for _, c := range f.Calls() {
		if c.Op == faulty.Fsync {
			synced = append(synced, c.Path)
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		if !slices.Contains(synced, d) {
			t.Errorf("%s not fsynced (fsyncs: %q)", d, synced)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "a", "b", "c"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("c: %v, %v; want a 0700 directory", st.Mode(), err)
	}
	// Present already: nothing made, nothing synced.
	n := len(f.Calls())
	if err := makeParents(f, mb); err != nil || len(f.Calls()) != n {
		t.Errorf("second call: %v, %d more calls", err, len(f.Calls())-n)
	}
}
