package locking

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"letterbox/internal/sys"
)

// BenchmarkDotlock is one uncontended acquire+release of the dot-lock alone.
func BenchmarkDotlock(b *testing.B) {
	m := filepath.Join(b.TempDir(), "M")
	for b.Loop() {
		d, err := AcquireDotlock(context.Background(), m, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Release(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLock is one uncontended acquire+release of the combined lock
// (dot-lock and OFD fcntl lock on the open mailbox), as a delivery takes it.
func BenchmarkLock(b *testing.B) {
	m := filepath.Join(b.TempDir(), "M")
	if err := os.WriteFile(m, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	methods := Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
	for b.Loop() {
		l, err := Acquire(context.Background(), m, methods, Options{}, openRW)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Release(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockContended4 runs four goroutines that each take and release
// the combined lock on one mailbox; ns/op is per acquisition, so it shows
// how throughput holds up under contention.
func BenchmarkLockContended4(b *testing.B) {
	m := filepath.Join(b.TempDir(), "M")
	if err := os.WriteFile(m, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	methods := Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				l, err := Acquire(context.Background(), m, methods, Options{}, openRW)
				if err != nil {
					b.Error(err)
					return
				}
				if err := l.Release(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
}
