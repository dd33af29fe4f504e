package main

// Interop: mailboxes written by the real programs (Postfix, procmail,
// dovecot-lda, mutt) convert with "letterbox convert", and the result opens in Dovecot
// and in Python's mailbox with the same messages and bodies. A producer is
// one row of convertProducers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interopCorpus is messages whose bodies hold what mbox writers must quote
// (lines beginning "From "), 8-bit text and trailing empty lines, but no
// ">From " line: mboxo writers (procmail) keep that as it is, and no reader
// can tell it from a quoted "From ".
func interopCorpus() [][]byte {
	lines := []string{"From the start of a line", "ordinary text", "8-bit: \xe9t\xe9 \xc3\xa9", " From indented", "", "From again"}
	var out [][]byte
	for i := 0; i < 12; i++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: sender%d@example.org\nTo: rcpt@example.net\nSubject: interop %d\nX-Seq: %d\n\n", i, i, i)
		for j := 0; j <= i%5; j++ {
			b.WriteString(lines[(i+j)%len(lines)] + "\n")
		}
		if i%4 == 0 {
			b.WriteString("\n")
		}
		out = append(out, b.Bytes())
	}
	return out
}

// bodyOf is a message's body: what follows the first empty line.
func bodyOf(m []byte) []byte {
	if i := bytes.Index(m, []byte("\n\n")); i >= 0 {
		return m[i+2:]
	}
	return nil
}

// producer writes the corpus into a mailbox with a real program.
type producer struct {
	name  string
	progs []string // what must be installed
	root  bool     // runs a program as another user
	// write makes the mailbox in dir and returns its path and whether it
	// is a Maildir.
	write func(t *testing.T, dir string, msgs [][]byte) (path string, isMaildir bool)
	// stored is what the program keeps of a body, if not all of it.
	stored func(body []byte) []byte
}

var convertProducers = []producer{
	{"postfix local(8) mbox", []string{"postfix", "sendmail"}, true, func(t *testing.T, dir string, msgs [][]byte) (string, bool) {
		// Postfix's own mbox delivery (home_mailbox, no mailbox_command)
		// to a user of its own, through a private instance (TestPostfix).
		if err := openPath(dir); err != nil {
			t.Fatal(err)
		}
		u, del, err := addUser("pf", filepath.Join(dir, "home"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(del)
		pf := startPostfix(t, filepath.Join(dir, "postfix"), "home_mailbox = mbox\n", "")
		rcpt := u.Name + "@letterbox.test"
		// One at a time, so that the mailbox holds them in order.
		for i, m := range msgs {
			id := pf.send(fmt.Sprintf("env%d@example.org", i), rcpt, fmt.Sprintf("convert%d@test", i), string(m))
			if line := pf.delivery(id, rcpt); !strings.Contains(line, "status=sent") {
				t.Fatalf("postfix: %s", line)
			}
		}
		return filepath.Join(u.Home, "mbox"), false
	}, nil},
	{"procmail mbox", []string{"procmail"}, false, func(t *testing.T, dir string, msgs [][]byte) (string, bool) {
		box := filepath.Join(dir, "procmail.mbox")
		rc := writeFile(t, filepath.Join(dir, "procmailrc"), "DEFAULT="+box+"\n", 0o644)
		for i, m := range msgs {
			cmd := exec.Command("procmail", "-m", "-f", fmt.Sprintf("env%d@example.org", i), rc)
			cmd.Stdin = bytes.NewReader(m)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("procmail: %v: %s", err, out)
			}
		}
		return box, false
	}, func(body []byte) []byte {
		// procmail writes no separator after a message that ends in an
		// empty line: that line becomes the separator, for every reader.
		if bytes.HasSuffix(body, []byte("\n\n")) || string(body) == "\n" {
			return body[:len(body)-1]
		}
		return body
	}},
	{"dovecot-lda mbox", []string{"/usr/lib/dovecot/dovecot-lda"}, true, func(t *testing.T, dir string, msgs [][]byte) (string, bool) {
		box := filepath.Join(dir, "lda", "inbox")
		ldaDeliver(t, dir, "mbox:"+filepath.Join(dir, "lda", "mail")+":INBOX="+box, msgs)
		return box, false
	}, nil},
	{"dovecot-lda Maildir", []string{"/usr/lib/dovecot/dovecot-lda"}, true, func(t *testing.T, dir string, msgs [][]byte) (string, bool) {
		md := filepath.Join(dir, "lda", "Maildir")
		ldaDeliver(t, dir, "maildir:"+md, msgs)
		return md, true
	}, nil},
	{"mutt mbox", []string{"mutt", "script"}, false, func(t *testing.T, dir string, msgs [][]byte) (string, bool) {
		// mutt copies a Maildir of the messages into an mbox (mboxcl2:
		// Content-Length, nothing quoted); half of them read.
		src := filepath.Join(dir, "mutt-src")
		for _, sub := range []string{"tmp", "new", "cur"} {
			os.MkdirAll(filepath.Join(src, sub), 0o700)
		}
		for i, m := range msgs {
			p := filepath.Join(src, "new", fmt.Sprintf("%d.M%dP1.host", 1700000000+i, i))
			if i%2 == 1 {
				p = filepath.Join(src, "cur", fmt.Sprintf("%d.M%dP1.host:2,S", 1700000000+i, i))
			}
			writeFile(t, p, string(m), 0o600)
		}
		box := filepath.Join(dir, "mutt.mbox")
		rc := writeFile(t, filepath.Join(dir, "muttrc"), "set mbox_type=mbox\nset confirmcreate=no\nset confirmappend=no\nset delete=no\nset move=no\nset mark_old=no\nset sort=mailbox-order\n", 0o644)
		// mutt wants a terminal; script(1) gives it one.
		keys := fmt.Sprintf(`push "<tag-pattern>.<enter><tag-prefix><copy-message>%s<enter><quit>"`, box)
		cmd := exec.Command("script", "-qec", fmt.Sprintf("mutt -n -F %s -f %s -e '%s'", rc, src, keys), "/dev/null")
		cmd.Env = append(testEnv(), "TERM=xterm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mutt: %v: %q", err, out)
		}
		// mutt's exit status does not prove the copy: it exits 0 after
		// "Caught signal N... Exiting." (SIGTERM, SIGHUP), and a SIGINT
		// before <tag-pattern> ends its loop tags nothing, so that
		// <tag-prefix><copy-message> copies the current message alone.
		// Tell a short copy from a convert fault here.
		b, err := os.ReadFile(box)
		if err != nil {
			t.Fatalf("mutt exited 0 but wrote no mailbox: %v; screen: %q", err, out)
		}
		if n := bytes.Count(b, []byte("\nX-Seq: ")); n != len(msgs) {
			t.Fatalf("mutt exited 0 but copied %d of %d messages; screen: %q", n, len(msgs), out)
		}
		return box, false
	}, nil},
}

// ldaDeliver delivers msgs with dovecot-lda, as nobody (Dovecot refuses
// to deliver as root without a user database), to mailLocation.
func ldaDeliver(t *testing.T, dir, mailLocation string, msgs [][]byte) {
	t.Helper()
	lda := filepath.Join(dir, "lda")
	os.MkdirAll(lda, 0o755)
	conf := writeFile(t, filepath.Join(lda, "lda.conf"), "mail_location = "+mailLocation+"\nlog_path = "+filepath.Join(lda, "lda.log")+"\nssl = no\n", 0o644)
	if err := openPath(dir); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", "65534:65534", lda).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	for i, m := range msgs {
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
			"/usr/lib/dovecot/dovecot-lda", "-c", conf, "-f", fmt.Sprintf("env%d@example.org", i))
		cmd.Env = append(testEnv(), "HOME="+lda)
		cmd.Stdin = bytes.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(lda, "lda.log"))
			t.Fatalf("dovecot-lda: %v: %s\n%s", err, out, log)
		}
	}
}

// pythonMailbox returns the messages Python's mailbox module reads from
// the Maildir or mbox at path (an mbox's in file order, a Maildir's in any).
func pythonMailbox(t *testing.T, path string, isMaildir bool) [][]byte {
	t.Helper()
	open := "mailbox.mbox(sys.argv[1], create=False)"
	if isMaildir {
		open = "mailbox.Maildir(sys.argv[1], factory=None, create=False)"
	}
	out, err := exec.Command("python3", "-c", `
import json, mailbox, sys
m = `+open+`
json.dump([list(m.get_bytes(k)) for k in m.keys()], sys.stdout)
`, path).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var lists [][]int
	if err := json.Unmarshal(out, &lists); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, l := range lists {
		b := make([]byte, len(l))
		for i, c := range l {
			b[i] = byte(c)
		}
		got = append(got, b)
	}
	return got
}

func TestConvertInterop(t *testing.T) {
	bin := letterboxPath(t)
	msgs := interopCorpus()
	for _, p := range convertProducers {
		t.Run(p.name, func(t *testing.T) {
			for _, prog := range p.progs {
				if _, err := exec.LookPath(prog); err != nil {
					t.Skipf("%s is not installed (CI installs it)", prog)
				}
			}
			if p.root && os.Geteuid() != 0 {
				t.Skip("needs root to run the producer as another user")
			}
			dir := t.TempDir()
			src, isMaildir := p.write(t, dir, msgs)
			dst := filepath.Join(dir, "converted")
			if !isMaildir {
				dst += "/"
			}
			quiet := writeFile(t, filepath.Join(dir, "quiet.toml"), "log = \"none\"\n", 0o644)
			code, stdout, stderr := runProc(t, dir, time.Minute, bin, "convert", "-c", quiet, src, dst)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("convert: status %d, %q, %q", code, stdout, stderr)
			}
			dst = strings.TrimSuffix(dst, "/")
			check := func(reader string, got [][]byte, mboxQuoted bool) {
				t.Helper()
				if len(got) != len(msgs) {
					t.Fatalf("%s: %d messages, want %d", reader, len(got), len(msgs))
				}
				for i, g := range bySeq(t, reader, got) {
					body := bodyOf(g)
					if mboxQuoted {
						// Neither Python nor Dovecot undoes mboxrd quoting.
						body = unquoteRD(body)
					}
					want := bodyOf(msgs[i])
					if p.stored != nil {
						want = p.stored(want)
					}
					if !bytes.Equal(body, want) {
						t.Errorf("%s: message %d: body\n %q\nwant %q", reader, i, body, want)
					}
					if bytes.Contains(g, []byte("\nX-UID:")) || bytes.Contains(g, []byte("\nX-IMAPbase:")) || bytes.Contains(g, []byte("\nContent-Length:")) {
						t.Errorf("%s: message %d keeps a private field of the source mbox: %q", reader, i, g)
					}
				}
			}
			check("python mailbox", pythonMailbox(t, dst, !isMaildir), isMaildir)
			location := "maildir:" + dst
			if isMaildir {
				mail := filepath.Join(dir, "dovecot-mail")
				os.Mkdir(mail, 0o755)
				location = "mbox:" + mail + ":INBOX=" + dst
			}
			check("doveadm fetch", privateDovecot(t, dir, location)("INBOX"), isMaildir)
		})
	}
}
