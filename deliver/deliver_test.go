package deliver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/mbox"
)

const seed = "From x@y  Sat Nov 21 00:00:00 2026\nSubject: old\n\nold\n\n"

func request(t *testing.T, s sys.Sys, msg string) (Request, string) {
	t.Helper()
	dir := t.TempDir()
	mb := filepath.Join(dir, "M")
	if err := os.WriteFile(mb, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.LockRefresh = config.Dur(20 * time.Millisecond)
	c.StaleLockOwn = config.Dur(2 * time.Second)
	f, r := "a@b", "c@d"
	return Request{
		Input: strings.NewReader(msg), Sender: &f, Recipient: &r,
		Mailbox: mb, Config: c, Sys: s, Now: time.Now, TempDir: dir,
	}, mb
}

func unchanged(t *testing.T, mb string) {
	t.Helper()
	b, err := os.ReadFile(mb)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(b) != sha256.Sum256([]byte(seed)) {
		t.Fatalf("mailbox changed: %d bytes", len(b))
	}
	ents, _ := os.ReadDir(filepath.Dir(mb))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "M.") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

var big = "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 99)+"\n", 20000) // 2 MB: several writes

// The lock is removed (mutt forcing it, an operator) while the message is
// being written: the refresh notices, the write stops, the append is undone
// while the kernel lock is still held, and the MTA is told to retry.
func TestLockLostMidWrite(t *testing.T) {
	f := faulty.New(sys.Real{})
	r, mb := request(t, f, big)
	f.Add(&faulty.Rule{Op: faulty.Write, Path: "M", Skip: 1, Count: 1, Do: func(faulty.Call) {
		os.Remove(mb + ".lock")
		time.Sleep(200 * time.Millisecond) // ten refresh intervals
	}})
	_, err := Deliver(context.Background(), r)
	var se *status.Error
	if !errors.As(err, &se) || se.DSN != "4.2.0" || se.Code != status.TempFail || !strings.Contains(err.Error(), "lock lost") {
		t.Fatalf("got %v", err)
	}
	unchanged(t, mb)
}

// A fault at each step of the append through the whole pipeline: the
// mailbox is unchanged and the status is the one of the docs/design.md §2.1 table.
func TestDeliverFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule *faulty.Rule
		dsn  string
		code int
	}{
		{"write EIO", &faulty.Rule{Op: faulty.Write, Path: "M", Skip: 2, Err: unix.EIO}, "4.2.0", status.TempFail},
		{"write ENOSPC", &faulty.Rule{Op: faulty.Write, Path: "M", Skip: 1, Err: unix.ENOSPC}, "4.3.1", status.TempFail},
		{"write EDQUOT", &faulty.Rule{Op: faulty.Write, Path: "M", Err: unix.EDQUOT}, "4.2.2", status.TempFail},
		{"fsync EIO", &faulty.Rule{Op: faulty.Fsync, Path: "M", Count: 1, Err: unix.EIO}, "4.2.0", status.TempFail},
		{"fsync ESTALE", &faulty.Rule{Op: faulty.Fsync, Path: "M", Count: 1, Err: unix.ESTALE}, "4.2.0", status.TempFail},
		{"close of the lock's unique file EDQUOT", &faulty.Rule{Op: faulty.Close, Path: "M.lock.*", Err: unix.EDQUOT}, "4.2.2", status.TempFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := faulty.New(sys.Real{})
			r, mb := request(t, f, big)
			r.Config.LockTimeout = config.Dur(300 * time.Millisecond)
			f.Add(tc.rule)
			_, err := Deliver(context.Background(), r)
			wantStatus(t, err, tc.dsn, tc.code)
			if tc.rule.Fired() == 0 {
				t.Fatal("fault not injected")
			}
			unchanged(t, mb)
		})
	}
}

// close(2) of the mailbox fails after the message was fsynced and the lock
// proven: the delivery stands, exactly once, since a retry would duplicate
// it (Postfix counts such a close error as a failure and so duplicates).
func TestCloseFailsAfterCommit(t *testing.T) {
	f := faulty.New(sys.Real{})
	r, mb := request(t, f, "Subject: s\n\nbody\n")
	r.Log = slog.New(slog.DiscardHandler)
	rule := f.Add(&faulty.Rule{Op: faulty.Close, Path: "M", Err: unix.EIO})
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if rule.Fired() != 1 {
		t.Fatal("fault not injected")
	}
	b, _ := os.ReadFile(mb)
	if n := strings.Count(string(b), "\nFrom a@b  "); n != 1 || !strings.HasPrefix(string(b), seed) {
		t.Fatalf("%d copies: %q", n, b)
	}
}

// mboxcl2: Content-Length is exact even when the header section is longer
// than the 1 MiB the loop check scans, so a cl2 reader gets the body back.
func TestContentLengthLongHeader(t *testing.T) {
	body := "From a line that mboxcl2 quotes too\n\nFrom another\n"
	msg := "Subject: long\nX-Long: " + strings.Repeat("h", 2<<20) + "\n\n" + body
	r, mb := request(t, sys.Real{}, msg)
	r.Config.MboxQuoting = "mboxcl2"
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(mb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mbox.NewReader(f, mbox.MboxCL2)
	var got []string
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rd)
		got = append(got, string(b))
	}
	// mboxcl2 as letterbox writes it quotes From lines (writeQuoting), and
	// Content-Length counts them quoted.
	quoted := strings.ReplaceAll(">"+body, "\nFrom ", "\n>From ")
	if len(got) != 2 || !strings.HasSuffix(got[1], "\n\n"+quoted) || !strings.Contains(got[1], fmt.Sprintf("Content-Length: %d\n", len(quoted))) {
		t.Fatalf("%d messages; last ends %q", len(got), got[len(got)-1][max(0, len(got[len(got)-1])-120):])
	}
}

// The message is read to EOF before anything is locked or created
// (docs/design.md §9): a read error leaves no mailbox and no lock.
func TestNothingBeforeEOF(t *testing.T) {
	r, mb := request(t, sys.Real{}, "")
	os.Remove(mb)
	r.Input = &failingReader{}
	_, err := Deliver(context.Background(), r)
	if err == nil {
		t.Fatal("delivered despite a read error")
	}
	ents, _ := os.ReadDir(filepath.Dir(mb))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "M") {
			t.Fatalf("created %s before the message was read", e.Name())
		}
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n++; r.n > 3 {
		return 0, unix.EIO
	}
	return copy(p, "Subject: x\n"), nil
}

// Maildir: a fault at each step gives the docs/design.md §2.1 status and leaves new/
// without the message and tmp/ empty.
func TestMaildirFaults(t *testing.T) {
	inTmp := func(c faulty.Call) bool { return filepath.Base(filepath.Dir(c.Path)) == "tmp" }
	for _, tc := range []struct {
		name string
		rule *faulty.Rule
		dsn  string
		code int
	}{
		{"tmp create ENOSPC", &faulty.Rule{Op: faulty.Open, Match: inTmp, Err: unix.ENOSPC}, "4.3.1", status.TempFail},
		{"tmp create EDQUOT", &faulty.Rule{Op: faulty.Open, Match: inTmp, Err: unix.EDQUOT}, "4.2.2", status.TempFail},
		{"write EIO", &faulty.Rule{Op: faulty.Write, Match: inTmp, Err: unix.EIO}, "4.2.0", status.TempFail},
		{"fsync EIO", &faulty.Rule{Op: faulty.Fsync, Match: inTmp, Err: unix.EIO}, "4.2.0", status.TempFail},
		{"close EDQUOT", &faulty.Rule{Op: faulty.Close, Match: inTmp, Err: unix.EDQUOT}, "4.2.2", status.TempFail},
		{"link EIO", &faulty.Rule{Op: faulty.Link, Err: unix.EIO}, "4.2.0", status.TempFail},
		{"new/ fsync EIO", &faulty.Rule{Op: faulty.Fsync, Path: "new", Err: unix.EIO}, "4.2.0", status.TempFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := faulty.New(sys.Real{})
			r, _ := request(t, f, "Subject: s\n\nbody\n")
			r.Mailbox = filepath.Join(r.TempDir, "Maildir") + "/"
			f.Add(tc.rule)
			_, err := Deliver(context.Background(), r)
			wantStatus(t, err, tc.dsn, tc.code)
			if tc.rule.Fired() == 0 {
				t.Fatal("fault not injected")
			}
			for _, sub := range []string{"new", "tmp"} {
				if ents, _ := os.ReadDir(filepath.Join(r.TempDir, "Maildir", sub)); len(ents) != 0 {
					t.Fatalf("%s/ holds %d files", sub, len(ents))
				}
			}
		})
	}
}

// wantStatus asserts that err is a *status.Error with dsn and code.
func wantStatus(t *testing.T, err error, dsn string, code int) {
	t.Helper()
	var se *status.Error
	if !errors.As(err, &se) || se.DSN != dsn || se.Code != code {
		t.Fatalf("got %v, want %s (exit %d)", err, dsn, code)
	}
}

// A mailbox owned by another user is refused with strict_ownership, and by
// root always (docs/design.md §3); without strict_ownership a user may deliver into
// a mailbox it can write but does not own. The owner is faked through the
// seam, so the test means the same as root and as a user.
func TestForeignOwner(t *testing.T) {
	euid := os.Geteuid()
	foreign := func(st *sys.Stat) { st.Uid = uint32(euid + 1) }
	for _, format := range []string{"mbox", "maildir"} {
		for _, strict := range []bool{true, false} {
			refuse := strict || euid == 0
			t.Run(fmt.Sprintf("%s/strict=%v/refused=%v", format, strict, refuse), func(t *testing.T) {
				f := faulty.New(sys.Real{})
				r, mb := request(t, f, "Subject: s\n\nbody\n")
				r.Config.StrictOwnership = strict
				rule := &faulty.Rule{Op: faulty.Fstat, Path: "M", Stat: foreign}
				if format == "maildir" {
					r.Mailbox = filepath.Join(r.TempDir, "Maildir") + "/"
					rule = &faulty.Rule{Op: faulty.Lstat, Path: "new", Stat: foreign}
				}
				f.Add(rule)
				_, err := Deliver(context.Background(), r)
				if rule.Fired() == 0 {
					t.Fatal("owner not faked")
				}
				if !refuse {
					if err != nil {
						t.Fatalf("delivery refused: %v", err)
					}
					return
				}
				wantStatus(t, err, "4.2.0", status.TempFail)
				if !strings.Contains(err.Error(), fmt.Sprintf("owned by uid %d, not %d", euid+1, euid)) {
					t.Fatalf("error does not name the owner: %v", err)
				}
				if format == "mbox" {
					unchanged(t, mb)
				} else if ents, _ := os.ReadDir(filepath.Join(r.TempDir, "Maildir", "new")); len(ents) != 0 {
					t.Fatalf("new/ holds %d files", len(ents))
				}
			})
		}
	}
}

// A replayed rename of someone else's release moves our dot-lock aside after
// the message was committed: the delivery stands (a 75 would make the MTA
// deliver it twice), and our displaced lock is removed, not left to age.
func TestLockDisplacedAfterCommit(t *testing.T) {
	f := faulty.New(sys.Real{})
	r, mb := request(t, f, "Subject: s\n\nbody\n")
	displaced := mb + ".lock.rel." + strings.Repeat("ab", 16)
	rule := f.Add(&faulty.Rule{Op: faulty.Rename, Path: "M.lock", Count: 1, Do: func(faulty.Call) {
		if err := os.Rename(mb+".lock", displaced); err != nil {
			t.Error(err)
		}
	}})
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatalf("delivery failed: %v", err)
	}
	if rule.Fired() != 1 {
		t.Fatal("fault not injected")
	}
	b, _ := os.ReadFile(mb)
	if n := strings.Count(string(b), "\nSubject: s\n"); n != 1 {
		t.Fatalf("message stored %d times", n)
	}
	ents, _ := os.ReadDir(filepath.Dir(mb))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "M.") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// countingReader is an endless message: a header, then body lines forever.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
		if (r.n+int64(i))%80 == 79 {
			p[i] = '\n'
		}
	}
	if r.n == 0 && len(p) > 12 {
		copy(p, "Subject: x\n\n")
	}
	r.n += int64(len(p))
	return len(p), nil
}

// message_size_limit stops the reading: a message far over the limit (here
// endless) is refused with the size status after about limit + 1 MiB, not
// spooled to its end, which fills the temporary directory first (issue 12,
// item 6). Nothing is written to the mailbox.
func TestSizeLimitStopsReading(t *testing.T) {
	for _, tempfail := range []bool{true, false} {
		in := &countingReader{}
		r, mb := request(t, sys.Real{}, "")
		r.Input = in
		r.Config.MessageSizeLimit = 100_000
		r.Config.QuotaTempfail = tempfail
		_, err := Deliver(context.Background(), r)
		if tempfail {
			wantStatus(t, err, "4.2.2", status.TempFail)
		} else {
			wantStatus(t, err, "5.2.2", status.CantCreat)
		}
		if max := int64(100_000 + maxHeader + 2*spoolBuf); in.n > max {
			t.Errorf("read %d bytes of the message before refusing it, want at most %d", in.n, max)
		}
		unchanged(t, mb)
	}
}

// The end an mbox append records in the lock (for a breaker that finds its
// writer dead) is exactly where the append ends, whatever the message: a
// record that overstated it would let a breaker take back a whole message.
func TestRecordedEnd(t *testing.T) {
	for _, tc := range []struct{ name, msg, quoting, seed string }{
		{"plain", "Subject: x\n\nbody\n", "mboxrd", ""},
		{"From lines", "Subject: x\n\nFrom a\n>From b\n>>From c\n", "mboxrd", ""},
		{"From lines, mboxo", "Subject: x\n\nFrom a\n>From b\n", "mboxo", ""},
		{"From lines, mboxcl2", "Subject: x\nContent-Length: 3\n\nFrom a\n", "mboxcl2", ""},
		{"CRLF and no final newline", "Subject: x\r\n\r\nbody\r\nFrom x", "mboxrd", ""},
		{"private fields and a non-field line", "Status: RO\nSubject: x\nbogus\nFrom y\n", "mboxrd", ""},
		{"a damaged tail first", "Subject: x\n\nb\n", "mboxrd", "From a  Mon Jan  5 00:00:00 2026\n\ncut"},
		{"an envelope block", "Return-Path: <a@b>\nDelivered-To: c@d\nSubject: x\n\nb\n", "mboxrd", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := faulty.New(sys.Real{})
			r, mb := request(t, f, tc.msg)
			os.WriteFile(mb, []byte(tc.seed), 0o600)
			r.Config.MboxQuoting = tc.quoting
			var recorded string
			f.Add(&faulty.Rule{Op: faulty.Fsync, Path: "M", Count: 1, Do: func(faulty.Call) {
				b, _ := os.ReadFile(mb + ".lock")
				recorded = string(b)
			}})
			if _, err := Deliver(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(mb)
			want := fmt.Sprintf(" off=%d end=%d\n", len(tc.seed), st.Size())
			if !strings.HasSuffix(recorded, want) {
				t.Errorf("lock recorded %q; the append went from %d to %d", recorded, len(tc.seed), st.Size())
			}
		})
	}
}
