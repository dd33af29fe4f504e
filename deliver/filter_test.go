package deliver

import (
	"bytes"
	"context"
	"errors"
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
)

// sieveSetup is a recipient with a home, a ~/.dovecot.sieve and a fake
// sendmail that records what it is asked to send.
type sieveSetup struct {
	home, sendmailLog string
	log               bytes.Buffer
}

func newSieveSetup(t testing.TB, script string) *sieveSetup {
	t.Helper()
	s := &sieveSetup{home: t.TempDir()}
	if script != "" {
		if err := os.WriteFile(filepath.Join(s.home, ".dovecot.sieve"), []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.sendmailLog = filepath.Join(s.home, "sent")
	fake := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + s.sendmailLog + ".args\ncat >> " + s.sendmailLog + "\necho '----' >> " + s.sendmailLog + "\n"
	if err := os.WriteFile(filepath.Join(s.home, "sendmail"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// request is a delivery of msg from sender to c@d, into a Maildir below
// the home (or an mbox "mbox" there when !md).
func (s *sieveSetup) request(t testing.TB, sy sys.Sys, msg, sender string, md bool) Request {
	t.Helper()
	c := config.Default()
	c.SendmailPath = filepath.Join(s.home, "sendmail")
	c.LockRefresh = config.Dur(20 * time.Millisecond)
	c.StaleLockOwn = config.Dur(2 * time.Second)
	mb := filepath.Join(s.home, "Maildir") + "/"
	if !md {
		mb = filepath.Join(s.home, "mbox")
	}
	rcpt := "c@d"
	return Request{
		Input: strings.NewReader(msg), Sender: &sender, Recipient: &rcpt,
		Mailbox: mb, Config: c, Sys: sy, Now: time.Now, TempDir: s.home, Home: s.home,
		Log: slog.New(slog.NewTextHandler(&s.log, nil)),
	}
}

// count is the number of messages in the Maildir folder dir ("" INBOX)
// below the home, new/ and cur/ together, with their names.
func (s *sieveSetup) count(t *testing.T, folder string) (int, []string) {
	t.Helper()
	var names []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(s.home, "Maildir", folder, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			names = append(names, sub+"/"+e.Name())
		}
	}
	return len(names), names
}

// mboxCount is the number of From_ lines in the mbox file at path.
func mboxCount(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "From ") {
			n++
		}
	}
	return n
}

func (s *sieveSetup) sent(t *testing.T) []string {
	b, err := os.ReadFile(s.sendmailLog + ".args")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

const listMsg = "From: Ann <ann@example.org>\nTo: c@d\nList-Id: <golang-nuts.googlegroups.com>\nSubject: go\nMessage-ID: <1@x>\n\nbody\n"
const plainMsg = "From: Bob <bob@example.org>\nTo: c@d\nSubject: hello\nMessage-ID: <2@x>\n\nhi\n"

func TestSieveDeliveries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		msg    string
		want   map[string]int // Maildir folder ("" INBOX) -> messages
		flags  string         // the INBOX or only folder's info, when set
	}{
		{"fileinto list", `require "fileinto"; if header :contains "List-Id" "golang" { fileinto "Lists/go"; }`, listMsg,
			map[string]int{"": 0, ".Lists.go": 1}, ""},
		{"not a list", `require "fileinto"; if header :contains "List-Id" "golang" { fileinto "Lists/go"; }`, plainMsg,
			map[string]int{"": 1, ".Lists.go": 0}, ""},
		{"seen", `require "imap4flags"; addflag "\\Seen";`, plainMsg, map[string]int{"": 1}, ":2,S"},
		{"copy twice and keep", `require ["fileinto", "copy"]; fileinto :copy "A"; fileinto :copy "B"; keep;`, plainMsg,
			map[string]int{"": 1, ".A": 1, ".B": 1}, ""},
		{"same folder twice", `require "fileinto"; fileinto "A"; fileinto "A";`, plainMsg, map[string]int{"": 0, ".A": 1}, ""},
		{"keep and fileinto INBOX", `require "fileinto"; keep; fileinto "INBOX";`, plainMsg, map[string]int{"": 1}, ""},
		{"discard", `discard;`, plainMsg, map[string]int{"": 0}, ""},
		{"syntax error keeps", `if header :contains "Subject" { discard; `, plainMsg, map[string]int{"": 1}, ""},
		{"unknown extension keeps", `require "x-nonesuch"; discard;`, plainMsg, map[string]int{"": 1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSieveSetup(t, tc.script)
			r := s.request(t, sys.Real{}, tc.msg, "ann@example.org", true)
			if _, err := Deliver(context.Background(), r); err != nil {
				t.Fatalf("deliver: %v\nlog: %s", err, s.log.String())
			}
			for f, n := range tc.want {
				got, names := s.count(t, f)
				if got != n {
					t.Errorf("folder %q holds %d messages, want %d (%v)\nlog: %s", f, got, n, names, s.log.String())
				}
				if tc.flags != "" && n == 1 && (len(names) != 1 || !strings.HasSuffix(names[0], tc.flags) || !strings.HasPrefix(names[0], "cur/")) {
					t.Errorf("folder %q: %v, want cur/...%s", f, names, tc.flags)
				}
			}
			if strings.Contains(tc.name, "keeps") && !strings.Contains(s.log.String(), "level=ERROR") {
				t.Errorf("a failed script is not logged as an error: %s", s.log.String())
			}
		})
	}
}

// With an mbox INBOX, folders are mbox files below mbox_folder_dir, and
// flags are Status lines.
func TestSieveMboxFolders(t *testing.T) {
	s := newSieveSetup(t, `require ["fileinto", "imap4flags", "copy"]; fileinto :copy :flags "\\Seen" "Lists/go"; keep;`)
	r := s.request(t, sys.Real{}, listMsg, "ann@example.org", false)
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatalf("deliver: %v\nlog: %s", err, s.log.String())
	}
	folder := filepath.Join(s.home, "mail", "Lists", "go")
	if n := mboxCount(t, folder); n != 1 {
		t.Fatalf("%s holds %d messages", folder, n)
	}
	if n := mboxCount(t, filepath.Join(s.home, "mbox")); n != 1 {
		t.Fatalf("INBOX holds %d messages", n)
	}
	b, _ := os.ReadFile(folder)
	if !strings.Contains(string(b), "\nStatus: RO\n") {
		t.Fatalf("no Status: RO in the folder:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(s.home, "mbox")); strings.Contains(string(b), "Status:") {
		t.Fatalf("INBOX copy got flags:\n%s", b)
	}

	// create_folders off and no :create: INBOX instead, with a warning.
	s = newSieveSetup(t, `require "fileinto"; fileinto "Nope";`)
	r = s.request(t, sys.Real{}, listMsg, "ann@example.org", false)
	r.Config.CreateFolders = false
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if mboxCount(t, filepath.Join(s.home, "mbox")) != 1 || !strings.Contains(s.log.String(), "level=WARN") {
		t.Fatalf("not kept in INBOX with a warning; log: %s", s.log.String())
	}
	// ... but :create makes it.
	s = newSieveSetup(t, `require ["fileinto", "mailbox"]; fileinto :create "Made";`)
	r = s.request(t, sys.Real{}, listMsg, "ann@example.org", false)
	r.Config.CreateFolders = false
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if mboxCount(t, filepath.Join(s.home, "mail", "Made")) != 1 {
		t.Fatalf(":create did not make the folder; log: %s", s.log.String())
	}
}

// mailboxexists asks the store through the sys seam, so that it sees the
// file system the delivery sees (and the faults tests inject).
func TestSieveMailboxExistsThroughSeam(t *testing.T) {
	s := newSieveSetup(t, `require ["mailbox", "fileinto"]; if mailboxexists "A" { fileinto "B"; }`)
	if err := os.MkdirAll(filepath.Join(s.home, "Maildir", ".A"), 0o700); err != nil {
		t.Fatal(err)
	}
	f := faulty.New(sys.Real{})
	rule := &faulty.Rule{Op: faulty.Lstat, Match: func(c faulty.Call) bool { return strings.HasSuffix(c.Path, "/.A") }, Err: unix.ENOENT}
	f.Add(rule)
	if _, err := Deliver(context.Background(), s.request(t, f, plainMsg, "ann@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if rule.Fired() == 0 {
		t.Fatal("mailboxexists did not ask through the seam")
	}
	if n, _ := s.count(t, ""); n != 1 {
		t.Fatalf("INBOX holds %d, want 1: A looked absent", n)
	}
	// Without the fault, A exists and the message goes to B.
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "bob@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.count(t, ".B"); n != 1 {
		t.Fatalf(".B holds %d, want 1", n)
	}
}

// A temporary failure half-way through three fileintos: 75, and the retry
// leaves every folder with the message exactly once.
func TestSieveRetryHalfDone(t *testing.T) {
	s := newSieveSetup(t, `require "fileinto"; fileinto "A"; fileinto "B"; fileinto "C";`)
	f := faulty.New(sys.Real{})
	rule := &faulty.Rule{Op: faulty.Link, Match: func(c faulty.Call) bool { return strings.Contains(c.Path, "/.B/") }, Err: unix.EIO}
	f.Add(rule)
	_, err := Deliver(context.Background(), s.request(t, f, plainMsg, "ann@example.org", true))
	wantStatus(t, err, "4.2.0", status.TempFail)
	if rule.Fired() == 0 {
		t.Fatal("fault not injected")
	}
	for f, n := range map[string]int{".A": 1, ".B": 0, ".C": 0} {
		if got, _ := s.count(t, f); got != n {
			t.Fatalf("after the failure %s holds %d, want %d", f, got, n)
		}
	}
	for try := 0; try < 2; try++ { // a retry, and the MTA's retry of a retry
		if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "ann@example.org", true)); err != nil {
			t.Fatalf("retry: %v", err)
		}
		for f, n := range map[string]int{"": 0, ".A": 1, ".B": 1, ".C": 1} {
			if got, names := s.count(t, f); got != n {
				t.Fatalf("retry %d: %q holds %d (%v), want %d", try, f, got, names, n)
			}
		}
	}
	// Another message is not mistaken for the first.
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, listMsg, "ann@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.count(t, ".C"); got != 2 {
		t.Fatalf("a second message: .C holds %d, want 2", got)
	}
}

func TestSieveReject(t *testing.T) {
	s := newSieveSetup(t, "require \"reject\";\nreject \"I do not want this.\nReally.\";")
	_, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "ann@example.org", true))
	wantStatus(t, err, "5.7.1", status.NoPerm)
	if !strings.Contains(err.Error(), "I do not want this.") || strings.Contains(err.Error(), "Really") {
		t.Fatalf("reason: %v", err)
	}
	if n, _ := s.count(t, ""); n != 0 {
		t.Fatalf("rejected message stored %d times", n)
	}
	// A reason with a terminal escape and a tab: the status line carries
	// neither (status.OneLine); an empty first line gets a reason.
	for reason, want := range map[string]string{
		"go\x1b[2J\taway": "5.7.1 go?[2J away",
		"\nsecond":        "5.7.1 rejected by the recipient's filter",
	} {
		s := newSieveSetup(t, "require \"reject\";\nreject \""+reason+"\";")
		_, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "ann@example.org", true))
		var se *status.Error
		if !errors.As(err, &se) || se.Line() != want {
			t.Errorf("reject %q: %v, want the line %q", reason, err, want)
		}
	}
	// reject with fileinto is refused by RFC 5429 §2.1: kept.
	s = newSieveSetup(t, `require ["reject", "fileinto", "copy"]; fileinto :copy "A"; reject "no";`)
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "ann@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.count(t, ""); n != 1 {
		t.Fatalf("INBOX holds %d, want the message kept", n)
	}
}

func TestSieveVacation(t *testing.T) {
	s := newSieveSetup(t, `require "vacation"; vacation :days 1 :subject "Away" "I am away.";`)
	deliver := func(msg, sender string) {
		t.Helper()
		if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, msg, sender, true)); err != nil {
			t.Fatalf("deliver: %v\nlog: %s", err, s.log.String())
		}
	}
	deliver(plainMsg, "bob@example.org")
	deliver(plainMsg, "bob@example.org")                                             // within :days: no second reply
	deliver(plainMsg, "")                                                            // the null sender: never
	deliver(listMsg, "ann@example.org")                                              // a list: never
	deliver(strings.Replace(plainMsg, "To: c@d", "To: other@d", 1), "x@example.org") // not addressed to us
	deliver("Auto-Submitted: auto-generated\n"+plainMsg, "y@example.org")            // automatic mail: never
	deliver(plainMsg, "carol@example.org")                                           // another sender: yes
	sent := s.sent(t)
	if len(sent) != 2 || !strings.Contains(sent[0], "bob@example.org") || !strings.Contains(sent[1], "carol@example.org") {
		t.Fatalf("replies sent: %q\nlog: %s", sent, s.log.String())
	}
	if n, _ := s.count(t, ""); n != 7 {
		t.Fatalf("INBOX holds %d, want every message kept", n)
	}
	b, _ := os.ReadFile(s.sendmailLog)
	for _, want := range []string{"Subject: Away", "Auto-Submitted: auto-replied", "In-Reply-To: <2@x>", "I am away."} {
		if !strings.Contains(string(b), want) {
			t.Errorf("reply lacks %q:\n%s", want, b)
		}
	}
}

func TestSieveRedirect(t *testing.T) {
	s := newSieveSetup(t, `redirect "fwd@example.net";`)
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "bob@example.org", true)); err != nil {
		t.Fatal(err)
	}
	sent := s.sent(t)
	if len(sent) != 1 || !strings.Contains(sent[0], "bob@example.org") || !strings.Contains(sent[0], "fwd@example.net") {
		t.Fatalf("sendmail called with %q", sent)
	}
	b, _ := os.ReadFile(s.sendmailLog)
	if !strings.HasPrefix(string(b), "X-Sieve-Redirected-From: c@d\n") || !strings.Contains(string(b), "\nhi\n") {
		t.Fatalf("redirected message:\n%s", b)
	}
	if n, _ := s.count(t, ""); n != 0 {
		t.Fatalf("INBOX holds %d after a redirect", n)
	}

	// The message has been here before: the loop is stopped and the
	// message kept, not sent again nor lost.
	s = newSieveSetup(t, `redirect "fwd@example.net";`)
	looped := "X-Sieve-Redirected-From: c@d\n" + plainMsg
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, looped, "bob@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if sent := s.sent(t); len(sent) != 0 {
		t.Fatalf("looping message sent again: %q", sent)
	}
	if n, _ := s.count(t, ""); n != 1 {
		t.Fatalf("looping message not kept: INBOX holds %d", n)
	}

	// sendmail fails: temporary, nothing lost.
	s = newSieveSetup(t, `redirect "fwd@example.net";`)
	if err := os.WriteFile(filepath.Join(s.home, "sendmail"), []byte("#!/bin/sh\nexit 75\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "bob@example.org", true))
	var se *status.Error
	if !errors.As(err, &se) || se.Code != status.TempFail {
		t.Fatalf("failed redirect: %v, want a temporary failure", err)
	}
}

// A script that another user could have written is not run.
func TestSieveUnsafeScript(t *testing.T) {
	s := newSieveSetup(t, `discard;`)
	if err := os.Chmod(filepath.Join(s.home, ".dovecot.sieve"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Deliver(context.Background(), s.request(t, sys.Real{}, plainMsg, "bob@example.org", true)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.count(t, ""); n != 1 || !strings.Contains(s.log.String(), "script ignored") {
		t.Fatalf("INBOX holds %d; log: %s", n, s.log.String())
	}
}

// Admin scripts run around the user's, the next only while the keep is in
// effect.
func TestSieveBeforeAfter(t *testing.T) {
	s := newSieveSetup(t, `require "fileinto"; fileinto "User";`)
	before := filepath.Join(s.home, "before.sieve")
	after := filepath.Join(s.home, "after.sieve")
	os.WriteFile(before, []byte(`require ["fileinto", "copy"]; fileinto :copy "Before";`), 0o600)
	os.WriteFile(after, []byte(`require "fileinto"; fileinto "After";`), 0o600)
	r := s.request(t, sys.Real{}, plainMsg, "bob@example.org", true)
	r.Config.SieveBefore, r.Config.SieveAfter = []string{before}, []string{after}
	if _, err := Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	// The user's fileinto cancelled the keep: the after script does not run.
	for f, n := range map[string]int{"": 0, ".Before": 1, ".User": 1, ".After": 0} {
		if got, _ := s.count(t, f); got != n {
			t.Errorf("%q holds %d, want %d", f, got, n)
		}
	}
}
