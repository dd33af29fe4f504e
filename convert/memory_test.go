package convert

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBoundedMemory converts a mailbox with a 48 MiB message both ways
// and watches the heap: it must stay far below the message's size, since
// no message is ever held whole (one above 1 MiB is read twice instead).
func TestBoundedMemory(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mbox")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("From a@example.org  Sun Nov 22 09:00:00 2026\nSubject: small\n\nx\n\n")
	w.WriteString("From b@example.org  Sun Nov 22 09:01:00 2026\nSubject: big\nStatus: RO\n\n")
	line := strings.Repeat("y", 99) + "\n"
	const big = 48 << 20
	for n := 0; n < big; n += len(line) {
		w.WriteString(line)
	}
	w.WriteString("\nFrom c@example.org  Sun Nov 22 09:02:00 2026\nSubject: small\n\nz\n\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	runtime.GC()
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	md := filepath.Join(dir, "md")
	res, err := Run(context.Background(), src, md+"/", testOptions())
	if err == nil {
		_, err = Run(context.Background(), md, filepath.Join(dir, "back"), testOptions())
	}
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Folders[0]; f.Converted != 3 || !f.Verified {
		t.Fatalf("result %+v", f)
	}
	if p := peak.Load(); p > 24<<20 {
		t.Fatalf("heap peaked at %d MiB converting a %d MiB message", p>>20, big>>20)
	}
	t.Logf("heap peak %.1f MiB", float64(peak.Load())/(1<<20))
}
