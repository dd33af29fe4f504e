package maildir

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

var still = time.Date(2026, 11, 22, 9, 0, 0, 123456000, time.UTC)

func TestName(t *testing.T) {
	n, err := Name(still, 4711, "mx1.example.org", 1234)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^1795338000\.M123456P4711R[0-9a-f]{16}\.mx1\.example\.org,S=1234$`).MatchString(n) {
		t.Fatalf("name %q", n)
	}
	for host, want := range map[string]string{
		"a/b:c": `a\057b\072c`, `x\y`: `x\134y`, "sp ace,comma": `sp\40ace\54comma`, "": "localhost",
	} {
		if got := escapeHost(host); got != want {
			t.Errorf("escapeHost(%q) = %q, want %q", host, got, want)
		}
	}
	// The clock held still: names still differ.
	seen := map[string]bool{}
	for range 10000 {
		n, _ := Name(still, 1, "h", 1)
		if seen[n] {
			t.Fatalf("name %q twice", n)
		}
		seen[n] = true
	}
}

func maildir(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func opts() Options { return Options{Host: "h", Pid: 1, Now: still, Fsync: true} }

const msg = "Return-Path: <a@b>\nSubject: s\n\nFrom body\n"

// files lists a Maildir subdirectory.
func files(t *testing.T, root, sub string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, sub))
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func TestDeliver(t *testing.T) {
	root := maildir(t)
	p, err := Deliver(sys.Real{}, root, strings.NewReader(msg), int64(len(msg)), opts())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != msg || filepath.Dir(p) != filepath.Join(root, "new") {
		t.Fatalf("%s holds %q", p, b)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if len(files(t, root, "tmp")) != 0 || len(files(t, root, "cur")) != 0 {
		t.Fatal("tmp/ or cur/ not empty")
	}
	if _, err := Deliver(sys.Real{}, filepath.Join(root, "missing"), strings.NewReader(msg), int64(len(msg)), opts()); err == nil {
		t.Fatal("a missing root must not be created")
	}
}

// A message with flags goes to cur/ with its info, readable as the flags
// by ParseName; new/ stays empty.
func TestDeliverFlags(t *testing.T) {
	root := maildir(t)
	o := opts()
	o.Flags = "FS"
	p, err := Deliver(sys.Real{}, root, strings.NewReader(msg), int64(len(msg)), o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p) != filepath.Join(root, "cur") || !strings.HasSuffix(p, ":2,FS") {
		t.Fatalf("delivered to %s, want cur/NAME:2,FS", p)
	}
	if _, _, flags := ParseName(filepath.Base(p)); flags != "FS" {
		t.Fatalf("ParseName flags %q", flags)
	}
	if len(files(t, root, "new")) != 0 || len(files(t, root, "tmp")) != 0 {
		t.Fatal("new/ or tmp/ not empty")
	}
}

// A fault at each step: afterwards new/ holds the message exactly once or
// not at all, and tmp/ is empty.
func TestDeliverFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rule      func(root string) *faulty.Rule
		delivered bool
	}{
		{"tmp create ENOSPC", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Open, Match: inDir("tmp"), Err: unix.ENOSPC}
		}, false},
		{"tmp create EDQUOT", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Open, Match: inDir("tmp"), Err: unix.EDQUOT}
		}, false},
		{"tmp name taken", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Open, Match: inDir("tmp"), Count: 2, Err: unix.EEXIST}
		}, true},
		{"write EIO", func(string) *faulty.Rule { return &faulty.Rule{Op: faulty.Write, Err: unix.EIO} }, false},
		{"short writes", func(string) *faulty.Rule { return &faulty.Rule{Op: faulty.Write, Short: 3} }, true},
		{"fsync EIO", func(string) *faulty.Rule { return &faulty.Rule{Op: faulty.Fsync, Count: 1, Err: unix.EIO} }, false},
		{"close EDQUOT", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Close, Match: inDir("tmp"), Err: unix.EDQUOT}
		}, false},
		{"link done, reply lost (EEXIST)", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Link, Count: 1, Lost: true, Err: unix.EEXIST}
		}, true},
		{"link done, reply lost (EIO)", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Link, Count: 1, Lost: true, Err: unix.EIO}
		}, true},
		{"link EEXIST on another file", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Link, Count: 1, Do: func(c faulty.Call) {
				os.WriteFile(c.Path2, []byte("another message"), 0o600)
			}}
		}, true},
		{"link EIO", func(string) *faulty.Rule { return &faulty.Rule{Op: faulty.Link, Err: unix.EIO} }, false},
		{"new/ fsync EIO", func(string) *faulty.Rule {
			return &faulty.Rule{Op: faulty.Fsync, Skip: 1, Count: 1, Err: unix.EIO}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := maildir(t)
			f := faulty.New(sys.Real{})
			r := f.Add(tc.rule(root))
			_, err := Deliver(f, root, strings.NewReader(msg), int64(len(msg)), opts())
			if r.Fired() == 0 {
				t.Fatal("fault not injected")
			}
			if (err == nil) != tc.delivered {
				t.Fatalf("err %v, delivered should be %v", err, tc.delivered)
			}
			ours := 0
			for _, n := range files(t, root, "new") {
				if b, _ := os.ReadFile(filepath.Join(root, "new", n)); string(b) == msg {
					ours++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.delivered]; ours != want {
				t.Fatalf("new/ holds the message %d times, want %d", ours, want)
			}
			if n := files(t, root, "tmp"); len(n) != 0 {
				t.Fatalf("tmp/ holds %q", n)
			}
		})
	}
}

// A message shorter than announced is refused: the name would lie.
func TestDeliverSizeMismatch(t *testing.T) {
	root := maildir(t)
	_, err := Deliver(sys.Real{}, root, strings.NewReader(msg), int64(len(msg))+1, opts())
	if err == nil || len(files(t, root, "new"))+len(files(t, root, "tmp")) != 0 {
		t.Fatalf("err %v", err)
	}
}

// 8 writers × 2000 deliveries at once with the clock held still (the same
// second and microsecond for all) and one pid: no collision, no overwrite,
// every ,S= true. In-process goroutines stand for processes: only the
// random part of the name can keep them apart, which is the point.
func TestDeliverConcurrentStillClock(t *testing.T) {
	root := maildir(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opts()
			o.Pid = 7 // the same "pid" everywhere
			for i := range 2000 {
				m := strings.Repeat("x", w*3000+i)
				if _, err := Deliver(sys.Real{}, root, strings.NewReader(m), int64(len(m)), o); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	names := files(t, root, "new")
	if len(names) != 16000 {
		t.Fatalf("%d files, want 16000", len(names))
	}
	size := regexp.MustCompile(`,S=(\d+)$`)
	sizes := map[int64]bool{}
	for _, n := range names {
		st, _ := os.Stat(filepath.Join(root, "new", n))
		if m := size.FindStringSubmatch(n); m == nil || m[1] != itoa(st.Size()) {
			t.Fatalf("%s has %d bytes", n, st.Size())
		}
		// Each message is distinct (its length); a second file of the same
		// length would be an overwrite or a duplicate.
		if sizes[st.Size()] {
			t.Fatalf("two files of %d bytes", st.Size())
		}
		sizes[st.Size()] = true
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func inDir(d string) func(faulty.Call) bool {
	return func(c faulty.Call) bool { return filepath.Base(filepath.Dir(c.Path)) == d }
}
