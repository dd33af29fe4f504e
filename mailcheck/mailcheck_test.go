package mailcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/mbox"
)

const (
	m1 = "From a@example.org  Sun Nov 22 09:00:00 2026\nSubject: one\n\nbody\n>From quoted\n\n"
	m2 = "From b@example.org  Sun Nov 22 09:01:00 2026\nSubject: two\n\n>>From twice\nend\n\n"
	// Dovecot's mbox: Content-Length, nothing quoted.
	cl1 = "From a@example.org  Sun Nov 22 09:00:00 2026\nSubject: one\nContent-Length: 20\n\nFrom the body\nthird\n\n"
	cl2 = "From b@example.org  Sun Nov 22 09:01:00 2026\nSubject: two\nContent-Length: 4\n\nend\n\n"
	// mutt's: Content-Length and mboxo quoting.
	mcl = "From a@example.org  Sun Nov 22 09:00:00 2026\nSubject: one\nContent-Length: 21\n\n>From the body\nthird\n\n"
)

// longSender is a message from the longest sender letterbox accepts
// (deliver.MaxAddressLen, 998 bytes), with the From_ line deliver writes:
// "letterbox check" must read its own From_ lines whole (issue 12, 8).
var longSender = string(mbox.FromLine(strings.Repeat("s", 986)+"@example.org", time.Date(2026, 11, 22, 9, 0, 0, 0, time.Local))) +
	"Subject: long sender\n\nbody\n\n"

func TestCheckMbox(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		variant  string
		messages int
		problems []string // kinds, in order
		notes    []string
	}{
		{"empty", "", "", 0, nil, nil},
		{"mboxrd", m1 + m2, "mboxrd", 2, nil, nil},
		{"mboxo", m1 + m1, "mboxo", 2, nil, nil},
		{"mboxcl2", cl1 + cl2, "mboxcl2", 2, nil, []string{KindProtectedFrom}},
		{"mboxcl", mcl + cl2, "mboxcl", 2, nil, nil},
		{"unescaped From_ line after an empty line", m1 + strings.Replace(m2, ">>From twice", "\nFrom here on, all is new", 1), "mboxo", 3, []string{KindUnescapedFrom}, nil},
		// Python's mailbox after set_from(sender): no date (issue 15);
		// convert reads the same messages (convert.TestCheckAndConvertAgree).
		{"dateless From_ lines", "From alice@example.org\nSubject: one\n\n>From here\n\nFrom MAILER-DAEMON\nSubject: two\n\nbody\n\n", "mboxo", 2, nil, nil},
		{"dateless From_ line, CRLF", "From alice@example.org\r\nSubject: one\r\n\r\nx\r\n\r\nFrom bob\r\n\r\n", "mboxo", 2, []string{KindCRLF}, nil},
		{"unescaped From_ line inside a paragraph", strings.Replace(m1, ">From quoted", "From quoted", 1) + m2, "mboxrd", 2, []string{KindUnescapedFrom}, nil},
		{"wrong Content-Length", m1 + strings.Replace(cl2, "Content-Length: 4", "Content-Length: 9", 1), "mboxo", 2, []string{KindContentLength}, nil},
		{"truncated last message", m1 + m2[:len(m2)-5], "mboxrd", 2, []string{KindTruncated}, nil},
		{"a message that lost its end", m1[:len(m1)-1] + m2, "mboxrd", 2, []string{KindDamaged}, nil},
		{"CRLF", strings.ReplaceAll(m1+m2, "\n", "\r\n"), "mboxrd", 2, []string{KindCRLF}, nil},
		{"junk before the first message", "garbage\n" + m1, "mboxo", 1, []string{KindNotMessage}, nil},
		{"998-byte senders", longSender + m1 + longSender, "mboxo", 3, nil, nil},
		{"998-byte senders, CRLF", strings.ReplaceAll(longSender+longSender, "\n", "\r\n"), "mboxo", 2, []string{KindCRLF}, nil},
		{"998-byte sender's message lost its end", longSender[:len(longSender)-1] + longSender, "mboxo", 2, []string{KindDamaged}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "mbox")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Check(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != "mbox" || r.Variant != tc.variant || r.Messages != tc.messages {
				t.Errorf("format %s variant %q, %d messages; want %q, %d", r.Format, r.Variant, r.Messages, tc.variant, tc.messages)
			}
			if got, want := kinds(r.Problems), strings.Join(tc.problems, " "); got != want {
				t.Errorf("problems %s, want %q: %+v", got, want, r.Problems)
			}
			if got, want := kinds(r.Notes), strings.Join(tc.notes, " "); got != want {
				t.Errorf("notes %s, want %q: %+v", got, want, r.Notes)
			}
			if r.Sound() != (len(tc.problems) == 0) {
				t.Errorf("Sound() = %v", r.Sound())
			}
		})
	}
}

func kinds(fs []Finding) string {
	var k []string
	for _, f := range fs {
		k = append(k, f.Kind)
	}
	return strings.Join(k, " ")
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestCheckLock(t *testing.T) {
	id, err := sys.Real{}.Identity()
	if err != nil {
		t.Fatal(err)
	}
	own := func(pid int, start uint64) string {
		return fmt.Sprintf("letterbox tok=%032x host=%s boot=%s pidns=%s pid=%d start=%d\n", 1, id.Host, id.Boot, id.PidNS, pid, start)
	}
	// The lock's age is taken from its ctime, which a test cannot set
	// back: the clock is set forward instead.
	const old = 2 * time.Hour
	tests := []struct {
		name    string
		content string
		age     time.Duration
		stale   bool
	}{
		{"letterbox lock of a dead process", own(deadPid(t), 1), 0, true},
		{"letterbox lock of this process", own(id.Pid, id.Start), old, false},
		{"letterbox lock from another host, fresh", strings.Replace(own(1, 1), "host="+id.Host, "host=elsewhere", 1), 0, false},
		{"letterbox lock from another host, old", strings.Replace(own(1, 1), "host="+id.Host, "host=elsewhere", 1), old, true},
		{"dotlockfile's lock, fresh", "12345\n", 0, false},
		{"an empty lock (Postfix), old", "", old, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "mbox")
			os.WriteFile(p, []byte(m1), 0o600)
			os.WriteFile(p+".lock", []byte(tc.content), 0o600)
			f := faulty.New(sys.Real{})
			f.SkewClock(tc.age)
			r, err := Check(p, Options{Sys: f})
			if err != nil {
				t.Fatal(err)
			}
			if r.Lock == nil || r.Lock.Stale != tc.stale {
				t.Fatalf("lock %+v, want stale=%v", r.Lock, tc.stale)
			}
			wantKind := KindLock
			list := r.Notes
			if tc.stale {
				wantKind, list = KindStaleLock, r.Problems
			}
			if kinds(list) != wantKind || r.Sound() == tc.stale {
				t.Fatalf("problems %+v notes %+v", r.Problems, r.Notes)
			}
		})
	}
}

func TestCheckMaildir(t *testing.T) {
	mk := func(t *testing.T) string {
		root := filepath.Join(t.TempDir(), "Maildir")
		for _, sub := range []string{"tmp", "new", "cur"} {
			os.MkdirAll(filepath.Join(root, sub), 0o700)
		}
		os.WriteFile(filepath.Join(root, "new", "1.M1P1.h,S=5"), []byte("a\nb\nc"), 0o600)
		os.WriteFile(filepath.Join(root, "cur", "2.M1P1.h:2,S"), []byte("x\n"), 0o600)
		return root
	}
	tests := []struct {
		name     string
		plant    func(root string)
		problems string
		notes    string
	}{
		{"clean", func(string) {}, "", ""},
		{"stray tmp file", func(root string) {
			p := filepath.Join(root, "tmp", "3.M1P1.h")
			os.WriteFile(p, []byte("half"), 0o600)
			old := time.Now().Add(-40 * time.Hour)
			os.Chtimes(p, old, old)
		}, KindStrayTmp, ""},
		{"a delivery in progress", func(root string) {
			os.WriteFile(filepath.Join(root, "tmp", "4.M1P1.h"), []byte("half"), 0o600)
		}, "", KindTmp},
		{"a size that lies", func(root string) {
			os.WriteFile(filepath.Join(root, "new", "5.M1P1.h,S=99"), []byte("short\n"), 0o600)
		}, KindSize, ""},
		{"no tmp/", func(root string) { os.Remove(filepath.Join(root, "tmp")) }, "", KindNoTmp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := mk(t)
			tc.plant(root)
			r, err := Check(root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if tc.problems == KindSize {
				want = 3
			}
			if r.Format != "maildir" || r.Messages != want || kinds(r.Problems) != tc.problems || kinds(r.Notes) != tc.notes {
				t.Fatalf("report %+v", r)
			}
		})
	}
	if _, err := Check(t.TempDir(), Options{}); err == nil {
		t.Fatal("an empty directory checked as a Maildir")
	}
}

// The JSON form is stable: the fields a script reads.
func TestReportJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mbox")
	os.WriteFile(p, []byte(m1+m2[:len(m2)-5]), 0o600)
	r, err := Check(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var back map[string]any
	json.Unmarshal(b, &back)
	probs, _ := back["problems"].([]any)
	if back["format"] != "mbox" || back["messages"] != 2.0 || len(probs) != 1 || probs[0].(map[string]any)["kind"] != KindTruncated {
		t.Fatalf("%s", b)
	}
}

// Many findings of one kind are listed up to maxListed and counted.
func TestManyFindings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mbox")
	body := strings.Repeat("text\nFrom unquoted\n", 50)
	os.WriteFile(p, []byte("From a@b  Sun Nov 22 09:00:00 2026\n\n"+body+"\n"), 0o600)
	r, err := Check(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != maxListed || r.Problems[maxListed-1].More != 50-maxListed {
		t.Fatalf("%d listed, last %+v", len(r.Problems), r.Problems[len(r.Problems)-1])
	}
}
