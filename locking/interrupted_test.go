package locking

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// A holder that recorded an append and died: whoever takes the lock next
// takes back a partial message, and only a partial one. The mailbox holds
// one message of 40 bytes (off); the dead writer's append would have ended
// at 100 (end). Where it died decides what the mailbox holds:
func TestInterruptedAppend(t *testing.T) {
	const off, end = 40, 100
	first := "From a  Mon Jan  5 00:00:00 2026\nx: y\n\n\n" // 40 bytes
	if len(first) != off {
		t.Fatalf("first message is %d bytes", len(first))
	}
	partial := strings.Repeat("p", 30)
	whole := strings.Repeat("w", end-off)
	for _, tc := range []struct {
		name   string
		mbox   string // the mailbox when the lock is broken
		record bool   // the lock records the append
		want   string // the mailbox after the next Acquire
	}{
		{"killed before its first byte", first, true, first},
		{"killed mid-write: taken back", first + partial, true, first},
		{"killed after the write, before fsync: whole, kept", first + whole, true, first + whole},
		{"killed after fsync, before release: whole, kept", first + whole, true, first + whole},
		{"grown past the end (someone else appended): kept", first + whole + "more", true, first + whole + "more"},
		{"no record (an older letterbox): kept", first + partial, false, first + partial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := os.WriteFile(e.mbox, []byte(tc.mbox), 0o600); err != nil {
				t.Fatal(err)
			}
			e.writeLock(deadOwner(t, tc.record, off, end))
			l, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(e.sys()), openRW)
			if err != nil {
				t.Fatal(err)
			}
			l.Release()
			got, _ := os.ReadFile(e.mbox)
			if string(got) != tc.want {
				t.Errorf("mailbox holds %d bytes %.60q, want %d", len(got), got, len(tc.want))
			}
		})
	}
	// After release there is no lock and nothing to take back: a whole
	// message stays, whatever its size.
}

// A mailbox replaced or changed after the break is not the one the record
// speaks of: nothing is cut.
func TestInterruptedAppendChangedMailbox(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(e.mbox, []byte(strings.Repeat("x", 60)), 0o600)
	e.writeLock(deadOwner(t, true, 40, 100))
	f := e.sys()
	// Between the break and the open, someone appends (a peer that ignores
	// the record): the size differs from the one seen at the break.
	f.Add(&faulty.Rule{Op: faulty.Open, Path: "M", Count: 1, Do: func(faulty.Call) {
		fd, err := os.OpenFile(e.mbox, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		fd.WriteString("0123456789")
		fd.Close()
	}})
	l, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(f), openRW)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if got, _ := os.ReadFile(e.mbox); len(got) != 70 {
		t.Errorf("mailbox of %d bytes, want the 70 there (nothing cut)", len(got))
	}
}

// Record writes the append into our lock, Verify and Release still know
// the lock for ours, and the record parses back.
func TestRecord(t *testing.T) {
	e := newEnv(t)
	l := e.mustLock(e.opts(e.sys()))
	if err := l.Record(7, 99); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(e.lock)
	o, ok := parseOwner(b)
	if !ok || o.off != 7 || o.end != 99 {
		t.Fatalf("lock holds %q: parsed %+v, %v", b, o, ok)
	}
	if err := l.Check(); err != nil {
		t.Fatalf("Check after Record: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("Release after Record: %v", err)
	}
	e.only()
}

// deadOwner is the lock content of a letterbox on this machine whose
// process is gone, with the append off..end recorded if record.
func deadOwner(t *testing.T, record bool, off, end int64) string {
	t.Helper()
	id, err := sys.Real{}.Identity()
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOwner(id)
	if err != nil {
		t.Fatal(err)
	}
	o.pid, o.start = deadPid(t), 1
	if record {
		o.off, o.end = off, end
	}
	return o.String()
}

// Record never opens a lock that is no longer ours: it looks first, as
// Verify does. A descriptor on another holder's lock, open while that
// holder's release removes it on the same NFS client, makes the client
// keep the file as a .nfs* leftover (seen under internal/kernelnfs's
// faults), and the other lock is not ours to write into anyway.
func TestRecordLooksBeforeOpening(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	l := e.mustLock(e.opts(f))
	// Someone else's lock now stands under the name.
	if err := os.WriteFile(e.lock+".other", []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.lock+".other", e.lock); err != nil {
		t.Fatal(err)
	}
	opened := &faulty.Rule{Op: faulty.Open, Match: func(c faulty.Call) bool { return c.Path == e.lock }}
	f.Add(opened)
	if err := l.Record(7, 99); !errors.Is(err, ErrLost) {
		t.Fatalf("Record = %v, want ErrLost", err)
	}
	if opened.Fired() != 0 {
		t.Fatalf("Record opened the other holder's lock %d times", opened.Fired())
	}
	if b, _ := os.ReadFile(e.lock); string(b) != "other" {
		t.Fatalf("the other lock changed: %q", b)
	}
	l.Release()
}
