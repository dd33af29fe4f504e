package statefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/locking"
	"letterbox/safeopen"
)

var t0 = time.Unix(1_800_000_000, 0)

// TestMain runs as a child of TestConcurrentProcesses when asked to.
func TestMain(m *testing.M) {
	if arg := os.Getenv("STATEFILE_CHILD"); arg != "" {
		path, rest, _ := strings.Cut(arg, "|")
		id, n, _ := strings.Cut(rest, "|")
		count, _ := strconv.Atoi(n)
		for i := range count {
			err := Update(context.Background(), sys.Real{}, path, locking.DefaultPolicy(), t0, func(t *Table) error {
				t.Put(fmt.Sprintf("p%s-%d", id, i), t0.Add(time.Hour))
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func put(t *testing.T, s sys.Sys, path string, now time.Time, kv map[string]time.Time) {
	t.Helper()
	err := Update(context.Background(), s, path, locking.DefaultPolicy(), now, func(tb *Table) error {
		for k, v := range kv {
			tb.Put(k, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func entries(t *testing.T, path string, now time.Time) map[string]time.Time {
	t.Helper()
	got := map[string]time.Time{}
	err := Update(context.Background(), nil, path, locking.DefaultPolicy(), now, func(tb *Table) error {
		for k := range tb.m {
			if e, ok := tb.Get(k); ok {
				got[k] = e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCreateAndFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "vacation")
	put(t, nil, path, t0, map[string]time.Time{"b": t0.Add(2 * time.Second), "a": t0.Add(time.Second)})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d a\n%d b\n", t0.Unix()+1, t0.Unix()+2)
	if string(b) != want {
		t.Errorf("file = %q, want %q", b, want)
	}
	for p, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), mode)
		}
	}
	if _, err := os.Lstat(path + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.new left behind: %v", path, err)
	}
	if _, err := os.Lstat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock left behind: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	put(t, nil, path, t0, map[string]time.Time{"short": t0.Add(10 * time.Second), "long": t0.Add(time.Hour)})
	tests := []struct {
		at   time.Duration
		want []string
	}{
		{9 * time.Second, []string{"long", "short"}},
		{10 * time.Second, []string{"long"}}, // expiry is exclusive
		{time.Hour, nil},
	}
	for _, tt := range tests {
		got := entries(t, path, t0.Add(tt.at))
		var keys []string
		for _, k := range []string{"long", "short"} {
			if _, ok := got[k]; ok {
				keys = append(keys, k)
			}
		}
		if fmt.Sprint(keys) != fmt.Sprint(tt.want) {
			t.Errorf("at +%v: %v, want %v", tt.at, keys, tt.want)
		}
	}
	// A write drops the expired entry from the file.
	put(t, nil, path, t0.Add(20*time.Second), map[string]time.Time{"new": t0.Add(time.Hour)})
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "short") {
		t.Errorf("expired entry still in the file: %q", b)
	}
}

func TestNoWriteWithoutChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	put(t, nil, path, t0, map[string]time.Time{"k": t0.Add(time.Hour)})
	before, _ := os.Stat(path)
	entries(t, path, t0)
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("a read-only Update replaced the file")
	}
}

func TestCorruptLinesSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	good := fmt.Sprintf("%d good\n", t0.Unix()+100)
	content := "garbage\n" + "\n" + "12x bad\n" + "-5 neg\n" + "+5 plus\n" + fmt.Sprintf("%d has\x01ctl\n", t0.Unix()+100) +
		"99999999999999999999999 huge\n" + good + fmt.Sprintf("%d cut", t0.Unix()+100)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got := entries(t, path, t0)
	if len(got) != 1 || got["good"].Unix() != t0.Unix()+100 {
		t.Errorf("entries = %v, want only good", got)
	}
}

func TestBounds(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s")
		var b strings.Builder
		for i := range MaxEntries + 5 {
			fmt.Fprintf(&b, "%d k%d\n", t0.Unix()+int64(i)+1, i)
		}
		os.WriteFile(path, []byte(b.String()), 0o600)
		got := entries(t, path, t0)
		if len(got) != MaxEntries {
			t.Fatalf("%d entries, want %d", len(got), MaxEntries)
		}
		for i := range 5 {
			if _, ok := got[fmt.Sprintf("k%d", i)]; ok {
				t.Errorf("k%d kept; the earliest expiries should go", i)
			}
		}
	})
	t.Run("size", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s")
		pad := strings.Repeat("#\n", MaxSize/2)
		os.WriteFile(path, []byte(pad+fmt.Sprintf("%d past\n", t0.Unix()+10)), 0o600)
		if got := entries(t, path, t0); len(got) != 0 {
			t.Errorf("read past MaxSize: %v", got)
		}
	})
}

func TestKey(t *testing.T) {
	if Key("a", "bc") == Key("ab", "c") {
		t.Error("Key runs parts together")
	}
	if k := Key("x"); len(k) != 64 || !validKey(k) || k != Key("x") {
		t.Errorf("Key(x) = %q", k)
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  error
	}{
		{"symlink", func(t *testing.T, path string) {
			target := path + ".target"
			os.WriteFile(target, nil, 0o600)
			os.Symlink(target, path)
		}, safeopen.ErrUnsafe},
		{"hard link", func(t *testing.T, path string) {
			os.WriteFile(path, nil, 0o600)
			os.Link(path, path+".other")
		}, safeopen.ErrUnsafe},
		{"directory", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, nil},
		{"fifo", func(t *testing.T, path string) { unix.Mkfifo(path, 0o600) }, safeopen.ErrUnsafe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			tt.setup(t, path)
			called := false
			err := Update(context.Background(), nil, path, locking.DefaultPolicy(), t0, func(*Table) error {
				called = true
				return nil
			})
			if err == nil || called {
				t.Fatalf("Update = %v, fn called %v; want a refusal", err, called)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("other owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to make a file of another uid")
		}
		path := filepath.Join(t.TempDir(), "s")
		os.WriteFile(path, nil, 0o600)
		os.Chown(path, 65534, 65534)
		err := Update(context.Background(), nil, path, locking.DefaultPolicy(), t0, func(*Table) error { return nil })
		if !errors.Is(err, safeopen.ErrUnsafe) {
			t.Errorf("err = %v, want ErrUnsafe", err)
		}
	})
}

func TestFnErrorAndBadKeyWriteNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	put(t, nil, path, t0, map[string]time.Time{"k": t0.Add(time.Hour)})
	before, _ := os.ReadFile(path)
	boom := errors.New("boom")
	tests := []struct {
		fn   func(*Table) error
		want error
	}{
		{func(tb *Table) error { tb.Put("x", t0.Add(time.Hour)); return boom }, boom},
		{func(tb *Table) error {
			tb.Put("has space", t0.Add(time.Hour))
			tb.Put("y", t0.Add(time.Hour))
			return nil
		}, ErrBadKey},
		{func(tb *Table) error { tb.Put("", t0.Add(time.Hour)); return nil }, ErrBadKey},
		{func(tb *Table) error { tb.Put("a\nb", t0.Add(time.Hour)); return nil }, ErrBadKey},
		{func(tb *Table) error { tb.Put(strings.Repeat("k", MaxKey+1), t0.Add(time.Hour)); return nil }, ErrBadKey},
	}
	for i, tt := range tests {
		err := Update(context.Background(), nil, path, locking.DefaultPolicy(), t0, tt.fn)
		if !errors.Is(err, tt.want) {
			t.Errorf("%d: err = %v, want %v", i, err, tt.want)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%d: file changed to %q", i, after)
		}
	}
}

func TestDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	put(t, nil, path, t0, map[string]time.Time{"a": t0.Add(time.Hour), "b": t0.Add(time.Hour)})
	err := Update(context.Background(), nil, path, locking.DefaultPolicy(), t0, func(tb *Table) error {
		tb.Delete("a")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(t, path, t0); len(got) != 1 || got["b"].IsZero() {
		t.Errorf("entries = %v, want only b", got)
	}
}

// TestConcurrentGoroutines runs many Updates at once, each adding its own
// key, under the default lock and under kernel locks alone (where a writer
// may lock an inode another has just replaced): none may be lost.
func TestConcurrentGoroutines(t *testing.T) {
	for _, methods := range [][]string{locking.DefaultMethods, {"fcntl"}, {"dotlock"}} {
		t.Run(strings.Join(methods, "+"), func(t *testing.T) {
			m, err := locking.ParseMethods(methods)
			if err != nil {
				t.Fatal(err)
			}
			pol := locking.DefaultPolicy()
			pol.Methods = m
			path := filepath.Join(t.TempDir(), "s")
			const workers, each = 6, 15
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						errs <- Update(context.Background(), nil, path, pol, t0, func(tb *Table) error {
							tb.Put(fmt.Sprintf("w%d-%d", w, i), t0.Add(time.Hour))
							return nil
						})
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := entries(t, path, t0); len(got) != workers*each {
				t.Errorf("%d entries, want %d", len(got), workers*each)
			}
		})
	}
}

// TestConcurrentProcesses is TestConcurrentGoroutines across processes,
// as deliveries on several hosts are: each process its own lock owner.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	const procs, each = 4, 15
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("STATEFILE_CHILD=%s|%d|%d", path, p, each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	if got := entries(t, path, t0); len(got) != procs*each {
		t.Errorf("%d entries, want %d", len(got), procs*each)
	}
}

// TestCrash faults each step of the replacement: the file afterwards holds
// either the whole old table or the whole new one, and no PATH.new stays.
func TestCrash(t *testing.T) {
	eio := unix.EIO
	tests := []struct {
		name    string
		rule    faulty.Rule
		wantNew bool
		wantErr bool
	}{
		{"write fails", faulty.Rule{Op: faulty.Write, Path: "s.new", Err: eio}, false, true},
		{"short writes", faulty.Rule{Op: faulty.Write, Path: "s.new", Short: 3}, true, false},
		{"fsync fails", faulty.Rule{Op: faulty.Fsync, Path: "s.new", Err: eio}, false, true},
		{"close fails", faulty.Rule{Op: faulty.Close, Path: "s.new", Err: unix.ENOSPC, Lost: true}, false, true},
		{"rename fails", faulty.Rule{Op: faulty.Rename, Path: "s.new", Err: eio}, false, true},
		{"rename reply lost", faulty.Rule{Op: faulty.Rename, Path: "s.new", Err: unix.ENOENT, Lost: true}, true, false},
		{"create fails", faulty.Rule{Op: faulty.Open, Path: "s.new", Err: unix.EDQUOT}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			put(t, nil, path, t0, map[string]time.Time{"old": t0.Add(time.Hour)})
			old, _ := os.ReadFile(path)
			f := faulty.New(sys.Real{})
			r := f.Add(&tt.rule)
			err := Update(context.Background(), f, path, locking.DefaultPolicy(), t0, func(tb *Table) error {
				tb.Put("new", t0.Add(time.Hour))
				return nil
			})
			if r.Fired() == 0 {
				t.Fatal("fault never fired")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			b, _ := os.ReadFile(path)
			if tt.wantNew {
				if want := fmt.Sprintf("%d new\n%d old\n", t0.Unix()+3600, t0.Unix()+3600); string(b) != want {
					t.Errorf("file = %q, want %q", b, want)
				}
			} else if string(b) != string(old) {
				t.Errorf("file = %q, want the old %q", b, old)
			}
			if _, err := os.Lstat(path + ".new"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("s.new left behind: %v", err)
			}
		})
	}
}

// TestLeftoverNewReplaced: a PATH.new left by a crashed writer, even a
// symlink someone planted, is removed, never written through.
func TestLeftoverNewReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	os.Symlink(victim, path+".new")
	put(t, nil, path, t0, map[string]time.Time{"k": t0.Add(time.Hour)})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("wrote through a planted link: victim = %q", b)
	}
	if got := entries(t, path, t0); len(got) != 1 {
		t.Errorf("entries = %v", got)
	}
}
