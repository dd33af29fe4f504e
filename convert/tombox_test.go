package convert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/mbox"
)

// bigMaildir makes a Maildir of n small messages at dir/md (through an
// mbox, converted without fsync) and returns its path.
func bigMaildir(t *testing.T, dir string, n int) string {
	t.Helper()
	var b bytes.Buffer
	date := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		b.Write(mbox.FromLine("a@example.org", date.Add(time.Duration(i)*time.Minute)))
		fmt.Fprintf(&b, "Subject: message %d\nMessage-ID: <%d@test>\n\nbody %d\n\n", i, i, i)
	}
	src := filepath.Join(dir, "src.mbox")
	if err := os.WriteFile(src, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "md")
	o := testOptions()
	o.Fsync, o.Verify = false, false
	if _, err := Run(context.Background(), src, md+"/", o); err != nil {
		t.Fatal(err)
	}
	return md
}

// anchors returns the state files convert left beside the mbox at dst.
func anchors(t *testing.T, dst string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".letterbox-convert.*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFsyncPerCheckpoint: a Maildir converted to an mbox syncs the mbox
// once per checkpointMessages messages and at the end, not once per
// message (3003 fsyncs for 3000 messages before), and leaves no state file.
func TestFsyncPerCheckpoint(t *testing.T) {
	dir := t.TempDir()
	md := bigMaildir(t, dir, 2500)
	for _, tc := range []struct {
		messages, mboxSyncs int
	}{
		{1, 1},
		{999, 1},
		{1000, 1},
		{1001, 2},
		{2500, 3},
	} {
		t.Run(fmt.Sprint(tc.messages), func(t *testing.T) {
			sub := filepath.Join(t.TempDir(), "md")
			if err := copyMaildir(md, sub, tc.messages); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "back")
			f := faulty.New(sys.Real{})
			o := testOptions()
			o.Sys = f
			began := time.Now()
			res, err := Run(context.Background(), sub, dst, o)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			if got := res.Folders[0]; got.Converted != tc.messages || !got.Verified {
				t.Fatalf("result %+v", got)
			}
			mboxSyncs, all := 0, 0
			for _, c := range f.Calls() {
				if c.Op == faulty.Fsync || c.Op == faulty.Syncfs {
					all++
					if c.Path == dst {
						mboxSyncs++
					}
				}
			}
			t.Logf("%d messages: %d fsyncs of the mbox, %d in all, %v", tc.messages, mboxSyncs, all, took)
			if mboxSyncs != tc.mboxSyncs {
				t.Errorf("%d fsyncs of the mbox, want %d", mboxSyncs, tc.mboxSyncs)
			}
			// The others: the state file and its directory, the lock.
			if all > mboxSyncs+6 {
				t.Errorf("%d fsyncs in all", all)
			}
			if a := anchors(t, dst); len(a) != 0 {
				t.Errorf("state files left after success: %v", a)
			}
			es, _ := readMbox(t, dst, mbox.MboxRD)
			if len(es) != tc.messages {
				t.Errorf("%d messages in the mbox", len(es))
			}
		})
	}
}

// copyMaildir copies the first n messages (in name order) of the Maildir
// src to dst.
func copyMaildir(src, dst string, n int) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dst, sub), 0o700); err != nil {
			return err
		}
	}
	msgs, err := listMaildir(sys.Real{}, src)
	if err != nil {
		return err
	}
	for _, m := range msgs[:n] {
		rel, _ := filepath.Rel(src, m.path)
		if err := os.Link(m.path, filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	return nil
}

// TestStateFile: a run that fails half-way leaves its state file; the
// re-run uses it (it compares from the start it records), completes the
// mbox with every message once, and removes it. A state file whose start
// lies past the end of the mbox is not trusted.
func TestStateFile(t *testing.T) {
	_, _, md := converted(t)
	n := len(testCorpus())
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dst string)
	}{
		{"crash", func(t *testing.T, dst string) {
			f := faulty.New(sys.Real{})
			// The 12th append fails, after 11 were written.
			f.Add(&faulty.Rule{Op: faulty.Write, Match: func(c faulty.Call) bool { return c.Path == dst }, Skip: 11, Err: unix.EIO})
			o := testOptions()
			o.Sys = f
			if _, err := Run(context.Background(), md, dst, o); err == nil {
				t.Fatal("no error from the failing run")
			}
			a := anchors(t, dst)
			if len(a) != 1 {
				t.Fatalf("state files after the failed run: %v", a)
			}
			b, _ := os.ReadFile(a[0])
			if !strings.Contains(string(b), "\nstart 0\n") {
				t.Fatalf("state file %q", b)
			}
		}},
		{"stale", func(t *testing.T, dst string) {
			os.WriteFile(dst, nil, 0o600)
			os.WriteFile(anchorPath(dst, md), []byte("letterbox convert\nsource x\nstart 99999\n"), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "back")
			tc.setup(t, dst)
			before, _ := readMbox(t, dst, mbox.MboxRD)
			res, err := Run(context.Background(), md, dst, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			f := res.Folders[0]
			if f.Present != len(before) || f.Converted != n-len(before) || f.Foreign != 0 || !f.Verified {
				t.Fatalf("re-run: %+v (%d there before)", f, len(before))
			}
			if es, _ := readMbox(t, dst, mbox.MboxRD); len(es) != n {
				t.Fatalf("%d messages, want %d", len(es), n)
			}
			if a := anchors(t, dst); len(a) != 0 {
				t.Fatalf("state files left after the re-run: %v", a)
			}
		})
	}
}

// TestRerunAfterCrashWithHole: a system crash loses what was written since
// the last checkpoint, not necessarily as a tail: here message 5 is gone
// while 6..20 reached the disk, and a delivery came before the re-run.
// The re-run finds 6..20 out of order, adds 5 and 21.., nothing twice.
func TestRerunAfterCrashWithHole(t *testing.T) {
	dir, _, md := converted(t)
	back := filepath.Join(dir, "back")
	if _, err := Run(context.Background(), md, back, testOptions()); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(back)
	es, contents := readMbox(t, back, mbox.MboxRD)
	foreign := "From other@example.net  Mon Jan  5 10:00:00 2026\nSubject: delivered meanwhile\n\nhello\n\n"
	b := append(append(append([]byte{}, full[:es[5].Offset]...), full[es[6].Offset:es[21].Offset]...), foreign...)
	os.WriteFile(back, b, 0o600)
	if err := (&anchor{path: anchorPath(back, md)}).write(sys.Real{}, md, 0); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), md, back, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	n := len(testCorpus())
	if f := res.Folders[0]; f.Present != 20 || f.Converted != n-20 || f.Foreign != 1 || !f.Verified {
		t.Fatalf("re-run: %+v", f)
	}
	_, got := readMbox(t, back, mbox.MboxRD)
	seen := map[string]int{}
	for _, c := range got {
		seen[string(c)]++
	}
	for i, c := range contents {
		if seen[string(c)] != 1 {
			t.Errorf("message %d is there %d times", i, seen[string(c)])
		}
	}
	if len(got) != n+1 {
		t.Errorf("%d messages, want %d and the delivery", len(got), n)
	}
	if a := anchors(t, back); len(a) != 0 {
		t.Fatalf("state files left: %v", a)
	}
}
