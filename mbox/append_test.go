package mbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

var when = time.Date(2026, 11, 22, 9, 5, 7, 0, time.UTC)

func TestFromLine(t *testing.T) {
	for _, tc := range []struct{ sender, want string }{
		{"alice@example.org", "From alice@example.org  Sun Nov 22 09:05:07 2026\n"},
		{"", "From MAILER-DAEMON  Sun Nov 22 09:05:07 2026\n"},
		{`"john doe"@example.org`, "From \"john_doe\"@example.org  Sun Nov 22 09:05:07 2026\n"},
		{"a\tb\nc\x00d\x7f", "From a_b_c_d_  Sun Nov 22 09:05:07 2026\n"},
	} {
		if got := string(FromLine(tc.sender, when)); got != tc.want {
			t.Errorf("FromLine(%q) = %q, want %q", tc.sender, got, tc.want)
		}
	}
	// A day of the month below 10 is padded with a space, as asctime does.
	if got := string(FromLine("a", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))); got != "From a  Sun Mar  1 00:00:00 2026\n" {
		t.Errorf("got %q", got)
	}
}

// mailbox creates an mbox with the given content and opens it for append.
func mailbox(t *testing.T, content string) (path string, fd int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "mbox")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return path, fd
}

func appendMsg(s sys.Sys, fd int, q Quoting, sender, header, content string) (int64, error) {
	return Append(context.Background(), s, fd, Message{
		FromLine: FromLine(sender, when),
		Header:   []byte(header),
		Content:  strings.NewReader(content),
	}, Options{Quoting: q, Fsync: true})
}

const hdr = "Return-Path: <a@b>\nDelivered-To: c@d\n"

// Golden bytes for each variant and the awkward inputs.
func TestAppendGolden(t *testing.T) {
	body := "Subject: x\n\nFrom the start\n>From once\n>>From twice\n From indented\nFrom\ttab\n"
	for _, tc := range []struct {
		name, before, sender string
		q                    Quoting
		header, content      string
		want                 string
	}{
		{"mboxrd", "", "a@b", MboxRD, hdr, body,
			"From a@b  Sun Nov 22 09:05:07 2026\n" + hdr + "Subject: x\n\n>From the start\n>>From once\n>>>From twice\n From indented\nFrom\ttab\n\n"},
		{"mboxo", "", "a@b", MboxO, hdr, body,
			"From a@b  Sun Nov 22 09:05:07 2026\n" + hdr + "Subject: x\n\n>From the start\n>From once\n>>From twice\n From indented\nFrom\ttab\n\n"},
		{"mboxcl2", "", "a@b", MboxCL2, hdr + "Content-Length: 79\n", body,
			"From a@b  Sun Nov 22 09:05:07 2026\n" + hdr + "Content-Length: 79\nSubject: x\n\nFrom the start\n>From once\n>>From twice\n From indented\nFrom\ttab\n\n"},
		{"null sender", "", "", MboxRD, "Return-Path: <>\n", "S: x\n\nhi\n",
			"From MAILER-DAEMON  Sun Nov 22 09:05:07 2026\nReturn-Path: <>\nS: x\n\nhi\n\n"},
		{"sender with spaces", "", `"john doe"@x`, MboxRD, "", "S: x\n\nhi\n",
			"From \"john_doe\"@x  Sun Nov 22 09:05:07 2026\nS: x\n\nhi\n\n"},
		{"header only", "", "a@b", MboxRD, "", "S: x\n",
			"From a@b  Sun Nov 22 09:05:07 2026\nS: x\n\n"},
		{"empty message", "", "a@b", MboxRD, "", "",
			"From a@b  Sun Nov 22 09:05:07 2026\n\n"},
		{"after a sound mailbox", "From x  Sat Nov 21 00:00:00 2026\nS: y\n\nold\n\n", "a@b", MboxRD, "", "S: x\n\nhi\n",
			"From x  Sat Nov 21 00:00:00 2026\nS: y\n\nold\n\nFrom a@b  Sun Nov 22 09:05:07 2026\nS: x\n\nhi\n\n"},
		{"tail without newline", "From x  Sat Nov 21 00:00:00 2026\nS: y\n\nbroken", "a@b", MboxRD, "", "S: x\n\nhi\n",
			"From x  Sat Nov 21 00:00:00 2026\nS: y\n\nbroken\n\nFrom a@b  Sun Nov 22 09:05:07 2026\nS: x\n\nhi\n\n"},
		{"tail without empty line", "From x  Sat Nov 21 00:00:00 2026\nS: y\n\nold\n", "a@b", MboxRD, "", "S: x\n\nhi\n",
			"From x  Sat Nov 21 00:00:00 2026\nS: y\n\nold\n\nFrom a@b  Sun Nov 22 09:05:07 2026\nS: x\n\nhi\n\n"},
		{"one-byte tail", "x", "a@b", MboxRD, "", "S: x\n",
			"x\n\nFrom a@b  Sun Nov 22 09:05:07 2026\nS: x\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, fd := mailbox(t, tc.before)
			n, err := appendMsg(sys.Real{}, fd, tc.q, tc.sender, tc.header, tc.content)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			if n != int64(len(got)-len(tc.before)) {
				t.Fatalf("reported %d bytes, appended %d", n, len(got)-len(tc.before))
			}
		})
	}
}

const sound = "From x  Sat Nov 21 00:00:00 2026\nS: y\n\nold\n\n"

// Every failure leaves the mailbox byte for byte as it was.
func TestAppendRollback(t *testing.T) {
	big := strings.Repeat("line of the body\n", 100000) // 1.7 MB: several writes
	for _, tc := range []struct {
		name string
		rule *faulty.Rule
		op   string
	}{
		{"first write EIO", &faulty.Rule{Op: faulty.Write, Err: unix.EIO}, "write"},
		{"third write ENOSPC", &faulty.Rule{Op: faulty.Write, Skip: 2, Err: unix.ENOSPC}, "write"},
		{"write done, reply EIO", &faulty.Rule{Op: faulty.Write, Skip: 1, Lost: true, Err: unix.EIO}, "write"},
		{"write EDQUOT", &faulty.Rule{Op: faulty.Write, Skip: 3, Err: unix.EDQUOT}, "write"},
		{"write EFBIG", &faulty.Rule{Op: faulty.Write, Skip: 1, Err: unix.EFBIG}, "write"},
		{"fsync EIO", &faulty.Rule{Op: faulty.Fsync, Count: 1, Err: unix.EIO}, "fsync"},
		{"fstat after write", &faulty.Rule{Op: faulty.Fstat, Skip: 1, Count: 1, Err: unix.EIO}, "fstat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, fd := mailbox(t, sound)
			f := faulty.New(sys.Real{})
			f.Add(tc.rule)
			// faulty knows paths only of what it opened; give it this one.
			fd2, err := f.Open(path, unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close(fd2)
			_, err = appendMsg(f, fd2, MboxRD, "a@b", hdr, "S: x\n\n"+big)
			var ae *AppendError
			if !errors.As(err, &ae) || ae.Op != tc.op || !ae.Undone {
				t.Fatalf("got %v, want an undone %q failure", err, tc.op)
			}
			if tc.rule.Fired() == 0 {
				t.Fatal("fault not injected")
			}
			if got, _ := os.ReadFile(path); string(got) != sound {
				t.Fatalf("mailbox changed: %d bytes, want %d", len(got), len(sound))
			}
			_ = fd
		})
	}
}

// The lock check fails after the data is durable: undone.
func TestAppendLockLost(t *testing.T) {
	path, fd := mailbox(t, sound)
	lost := errors.New("lock lost")
	_, err := Append(context.Background(), sys.Real{}, fd, Message{FromLine: FromLine("a", when), Content: strings.NewReader("S: x\n\nhi\n")},
		Options{Fsync: true, Check: func() error { return lost }})
	if !errors.Is(err, lost) {
		t.Fatalf("got %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != sound {
		t.Fatal("mailbox changed")
	}
}

// A mailbox that no longer ends where the append left it is not cut
// back: another writer, which did not see our lock, appended after us (or
// cut the file), and a truncate would destroy its message — acknowledged,
// perhaps — or pad the file with NULs. Ours stays (a duplicate on the
// retry rather than the other's loss). docs/locking.md §10.9.
func TestAppendRollbackSparesOthers(t *testing.T) {
	appendText := func(path, text string) {
		f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		f.WriteString(text)
		f.Close()
	}
	ours := "From a@b  Sun Nov 22 09:05:07 2026\nS: x\n\nhi\n\n"
	other := "From c@d  Sun Nov 22 09:05:08 2026\nS: other\n\nacknowledged\n\n"
	for _, tc := range []struct {
		name string
		// meddle runs when the lock is checked (the lock was lost), or
		// before Commit's size check (a writer that ignores the lock), or
		// right after the rollback's truncate (a writer that got in
		// between the rollback's size check and its truncate).
		meddle func(path string)
		at     string // "check", "size", "truncate"
		op     string
		want   string
	}{
		{"appended after our commit", func(p string) { appendText(p, other) }, "check", "check lock", sound + ours + other},
		{"appended before the size check", func(p string) { appendText(p, other) }, "size", "check size", sound + ours + other},
		{"cut below our start", func(p string) { os.Truncate(p, 5) }, "check", "check lock", sound[:5]},
		// Ours is cut, theirs stays, and no empty line is written into
		// the middle of what they may still be writing.
		{"appended during the rollback", func(p string) { appendText(p, other) }, "truncate", "check lock", sound + other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, fd := mailbox(t, sound)
			lost := errors.New("lock lost")
			f := faulty.New(sys.Real{})
			switch tc.at {
			case "size":
				f.Add(&faulty.Rule{Op: faulty.Fstat, Skip: 1, Count: 1, Do: func(faulty.Call) { tc.meddle(path) }})
			case "truncate":
				f.Add(&faulty.Rule{Op: faulty.Ftruncate, After: func(faulty.Call) { tc.meddle(path) }})
			}
			check := func() error { return lost }
			if tc.at == "check" {
				check = func() error { tc.meddle(path); return lost }
			}
			_, err := Append(context.Background(), f, fd, Message{FromLine: FromLine("a@b", when), Content: strings.NewReader("S: x\n\nhi\n")},
				Options{Fsync: true, Check: check})
			var ae *AppendError
			if !errors.As(err, &ae) || ae.Op != tc.op || ae.Undone || !ae.Left {
				t.Fatalf("got %v (%+v), want a %q failure left as it was", err, ae, tc.op)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.want {
				t.Fatalf("mailbox\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// A signal (ctx cancelled) in the middle of a large write: undone.
func TestAppendCancelled(t *testing.T) {
	path, fd := mailbox(t, sound)
	ctx, cancel := context.WithCancel(context.Background())
	f := faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Write, Skip: 2, Count: 1, Do: func(faulty.Call) { cancel() }})
	_, err := Append(ctx, f, fd, Message{FromLine: FromLine("a", when), Content: strings.NewReader(strings.Repeat("x\n", 1<<20))}, Options{Fsync: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != sound {
		t.Fatal("mailbox changed")
	}
}

// Short writes are completed, not mistaken for failure.
func TestAppendShortWrites(t *testing.T) {
	path, fd := mailbox(t, "")
	f := faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Write, Short: 7})
	content := strings.Repeat("body\n", 10000)
	if _, err := appendMsg(f, fd, MboxRD, "a@b", "", content); err != nil {
		t.Fatal(err)
	}
	want := "From a@b  Sun Nov 22 09:05:07 2026\n" + content + "\n"
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Fatalf("%d bytes, want %d", len(got), len(want))
	}
}

// When the undo itself fails, the partial message is ended with an empty
// line so that the next message is not glued onto it.
func TestAppendUndoFails(t *testing.T) {
	path, fd := mailbox(t, sound)
	f := faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Write, Skip: 1, Count: 1, Err: unix.EIO})
	f.Add(&faulty.Rule{Op: faulty.Ftruncate, Err: unix.EIO})
	_, err := appendMsg(f, fd, MboxRD, "a@b", "", "S: x\n\n"+strings.Repeat("y", 600<<10)+"\n")
	var ae *AppendError
	if !errors.As(err, &ae) || ae.Undone {
		t.Fatalf("got %v, want a failure not undone", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.HasPrefix(got, []byte(sound+"From a@b")) || !bytes.HasSuffix(got, []byte("\n\n")) {
		t.Fatalf("partial message not terminated: ...%q", got[max(0, len(got)-20):])
	}
}

// Aborting twice reports the first rollback's outcome: a mailbox the undo
// could not restore is not called undone when asked again (a caller that
// aborts on a later failure must not tell the MTA all is clean).
func TestAbortTwiceKeepsOutcome(t *testing.T) {
	_, fd := mailbox(t, sound)
	f := faulty.New(sys.Real{})
	f.Add(&faulty.Rule{Op: faulty.Ftruncate, Err: unix.EIO})
	tx, err := Begin(context.Background(), f, fd, MboxRD)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Write(Message{FromLine: FromLine("a@b", when), Content: strings.NewReader("S: x\n\nbody\n")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		var ae *AppendError
		if err := tx.Abort("check lock", unix.EIO); !errors.As(err, &ae) || ae.Undone {
			t.Fatalf("abort %d: %v, want not undone", i, err)
		}
	}
}
