package main

// A migration killed with SIGKILL at random points and run again each time
// ends complete, with every message exactly once (docs/design.md §2.3).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"letterbox/mbox"
)

// killMessages is the size of the migrations killed.
const killMessages = 20000

// writeKillMbox writes killMessages small messages, a third of them seen,
// some with From_-like body lines.
func writeKillMbox(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < killMessages; i++ {
		fmt.Fprintf(w, "From s%d@example.org  %s\n", i, base.Add(time.Duration(i)*time.Minute).Format("Mon Jan _2 15:04:05 2006"))
		fmt.Fprintf(w, "Subject: message %d\nX-Seq: %d\n", i, i)
		if i%3 == 0 {
			w.WriteString("Status: RO\n")
		}
		fmt.Fprintf(w, "\nbody of %d\n", i)
		if i%7 == 0 {
			w.WriteString(">From the middle\n")
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// maildirCount counts the messages in new/ and cur/.
func maildirCount(root string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		if names, err := readNames(filepath.Join(root, sub)); err == nil {
			n += len(names)
		}
	}
	return n
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func mboxSize(path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return int(fi.Size())
}

func TestConvertKilled(t *testing.T) {
	bin := letterboxPath(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "M")
	writeKillMbox(t, src)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	total := len(orig)
	md := filepath.Join(dir, "md")
	back := filepath.Join(dir, "back")
	// fsync is off only for the mbox destination: each append would sync
	// the file, 20,000 times a run, and a SIGKILL loses nothing the page
	// cache holds, so durability is not what is tested here.
	// Each run after a kill breaks the stale lock the killed one left and
	// logs a warning; the logs are off so that any other output fails.
	nosync := writeFile(t, filepath.Join(dir, "nosync.toml"), "fsync = false\nlog = \"none\"\n", 0o644)
	quiet := writeFile(t, filepath.Join(dir, "quiet.toml"), "log = \"none\"\n", 0o644)
	r := rand.New(rand.NewPCG(6, uint64(time.Now().UnixNano())))

	for _, tc := range []struct {
		name     string
		argv     []string
		progress func() int // how far the destination is, in the unit of limit
		limit    int
	}{
		{"mbox to Maildir", []string{bin, "convert", "-c", quiet, src, md + "/"}, func() int { return maildirCount(md) }, killMessages},
		{"Maildir to mbox", []string{bin, "convert", "-c", nosync, md, back}, func() int { return mboxSize(back) }, total},
	} {
		// Ten points spread over the run, in the order the destination
		// grows: each kill lands while the destination is at a random
		// size (a message half written, a link done but not its cleanup,
		// an mbox append half done...).
		var points []int
		for i := 0; i < 10; i++ {
			points = append(points, 1+r.IntN(tc.limit-1))
		}
		sort.Ints(points)
		kills := 0
		for _, at := range points {
			p := startProc(t, dir, tc.argv...)
			for !p.exited() && tc.progress() < at {
				time.Sleep(time.Millisecond)
			}
			if p.exited() {
				continue // finished before this point: the next run goes on
			}
			p.killGroup(syscall.SIGKILL)
			<-p.done
			kills++
		}
		code, stdout, stderr := runProc(t, dir, 2*time.Minute, tc.argv...)
		if code != 0 || stdout != "" || stderr != "" {
			t.Fatalf("%s: the last run: status %d, %q, %q", tc.name, code, stdout, stderr)
		}
		if kills < 5 {
			t.Fatalf("%s: only %d of 10 kills landed in a run", tc.name, kills)
		}
		t.Logf("%s: %d kills", tc.name, kills)
	}
	if b, _ := os.ReadFile(src); !bytes.Equal(b, orig) {
		t.Fatal("the source changed")
	}

	// The Maildir: every index once, nothing in tmp/, each file holding
	// its message.
	seen := make([]bool, killMessages)
	re := regexp.MustCompile(`^\d+\.L(\d+)H[0-9a-f]{16}\.convert,S=\d+(:2,S?)?$`)
	for _, sub := range []string{"new", "cur"} {
		names, err := readNames(filepath.Join(md, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			m := re.FindStringSubmatch(n)
			if m == nil {
				t.Fatalf("%s/%s: not a name convert gives", sub, n)
			}
			i, _ := strconv.Atoi(m[1])
			if seen[i] {
				t.Fatalf("message %d twice", i)
			}
			seen[i] = true
			b, err := os.ReadFile(filepath.Join(md, sub, n))
			if err != nil || !bytes.Contains(b, []byte(fmt.Sprintf("\nX-Seq: %d\n", i))) || (sub == "cur") != (i%3 == 0) {
				t.Fatalf("%s/%s: %q %v", sub, n, b, err)
			}
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("message %d missing", i)
		}
	}
	if names, _ := readNames(filepath.Join(md, "tmp")); len(names) != 0 {
		t.Fatalf("left in tmp/: %v", names[:min(5, len(names))])
	}

	// The mbox: the messages in order, each once, nothing partial.
	f, err := os.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mbox.NewReader(f, mbox.MboxRD)
	seq := regexp.MustCompile(`\nX-Seq: (\d+)\n`)
	for i := 0; ; i++ {
		e, err := rd.Next()
		if err == io.EOF {
			if i != killMessages {
				t.Fatalf("the mbox holds %d messages, want %d", i, killMessages)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rd)
		m := seq.FindSubmatch(b)
		if m == nil || string(m[1]) != strconv.Itoa(i) || e.Truncated {
			t.Fatalf("message %d of the mbox: %q (truncated %v)", i, b, e.Truncated)
		}
	}
	for _, l := range []string{src, back} {
		if _, err := os.Stat(l + ".lock"); err == nil {
			t.Fatalf("%s.lock left behind", l)
		}
	}
}
