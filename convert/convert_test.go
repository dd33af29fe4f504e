package convert

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/locking"
	"letterbox/maildir"
	"letterbox/mailflag"
	"letterbox/mbox"
	"letterbox/safeopen"
)

// msg is a message of the test corpus as a writer stores it.
type msg struct {
	sender string
	date   time.Time
	status string // Status value ("" for none)
	xstat  string // X-Status value
	body   string // header (without the flag fields) and body, LF, ending in "\n"
}

// want is the Maildir flags and directory the message must get.
func (m msg) state() mailflag.State {
	return mailflag.FromMbox([]byte(m.status), []byte(m.xstat), nil)
}

// testCorpus covers what breaks conversions: From_-like body lines at each
// quoting depth, 8-bit and NUL bytes, empty lines at the end, every flag,
// the null sender, a message that is all header, and dates spread over a
// year (in the local zone the test sets).
func testCorpus() []msg {
	tricky := []string{"From the start", ">From once", ">>From twice", " From indented", "From\ttab", "", "\x00nul\xff\xfe 8-bit \xe9t\xe9", "ordinary"}
	stat := []struct{ s, x string }{{"", ""}, {"O", ""}, {"RO", ""}, {"RO", "A"}, {"O", "F"}, {"RO", "AFDT"}, {"R", "D"}}
	var out []msg
	base := time.Date(2025, 3, 1, 8, 30, 15, 0, time.Local)
	for i := 0; i < 30; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "Subject: message %d\nMessage-ID: <%d@test>\n\n", i, i)
		for j := 0; j < i%9; j++ {
			b.WriteString(tricky[(i+j)%len(tricky)] + "\n")
		}
		if i%4 == 0 {
			b.WriteString("\n") // ends in an empty line
		}
		body := b.String()
		if i == 7 {
			body = "Subject: all header\n"
		}
		sender := fmt.Sprintf("s%d@example.org", i)
		if i == 3 {
			sender = ""
		}
		st := stat[i%len(stat)]
		out = append(out, msg{sender: sender, date: base.Add(time.Duration(i) * 97 * time.Hour), status: st.s, xstat: st.x, body: body})
	}
	return out
}

// header returns m's flag fields as a writer puts them at the end of the
// header.
func (m msg) flagFields() string {
	s := ""
	if m.status != "" {
		s += "Status: " + m.status + "\n"
	}
	if m.xstat != "" {
		s += "X-Status: " + m.xstat + "\n"
	}
	return s
}

// withFlags is m's content with its flag fields inserted at the end of the
// header, and Content-Length when cl.
func (m msg) withFields(cl bool) string {
	head, body, found := strings.Cut(m.body, "\n\n")
	f := m.flagFields()
	if cl {
		f += fmt.Sprintf("Content-Length: %d\n", len(body))
	}
	if !found {
		return m.body + f
	}
	return head + "\n" + f + "\n" + body
}

// variants are the mbox files of the corpus as each kind of writer makes
// them.
var variants = []struct {
	name  string
	write func([]msg) []byte
}{
	{"mboxrd", func(ms []msg) []byte { return writeMbox(ms, mbox.MboxRD, false) }},
	{"mboxo", func(ms []msg) []byte { return writeMbox(ms, mbox.MboxO, false) }},
	// mboxcl: mboxo quoting plus a Content-Length that counts the quoted
	// body (mutt, c-client).
	{"mboxcl", func(ms []msg) []byte { return writeMbox(ms, mbox.MboxO, true) }},
	{"mboxcl2", func(ms []msg) []byte { return writeMbox(ms, mbox.MboxCL2, true) }},
	{"crlf", func(ms []msg) []byte {
		return bytes.ReplaceAll(writeMbox(ms, mbox.MboxRD, false), []byte("\n"), []byte("\r\n"))
	}},
	{"damaged-last", func(ms []msg) []byte {
		b := writeMbox(ms, mbox.MboxRD, false)
		return b[:len(b)-1] // the last message lost its empty line
	}},
}

// writeMbox writes ms as an mbox with quoting q; with cl, each message has
// a Content-Length of its body as stored.
func writeMbox(ms []msg, q mbox.Quoting, cl bool) []byte {
	var out bytes.Buffer
	for _, m := range ms {
		out.Write(mbox.FromLine(m.sender, m.date))
		content := m.withFields(false)
		quoted := quote(content, q)
		if cl {
			head, body, found := strings.Cut(quoted, "\n\n")
			if found {
				quoted = head + fmt.Sprintf("\nContent-Length: %d", len(body)) + "\n\n" + body
			}
		}
		out.WriteString(quoted)
		out.WriteString("\n")
	}
	return out.Bytes()
}

func quote(s string, q mbox.Quoting) string {
	switch q {
	case mbox.MboxRD:
		return regexp.MustCompile(`(?m)^(>*From )`).ReplaceAllString(s, ">$1")
	case mbox.MboxO:
		return regexp.MustCompile(`(?m)^From `).ReplaceAllString(s, ">From ")
	}
	return s
}

// bodyOf is what a message must hold after conversion: the corpus body as
// the variant keeps it (mboxo and mboxcl turn ">From" into "From" or keep
// it; see unquoted).
func expectBody(v string, m msg) string {
	switch v {
	case "mboxo":
		// Read as mboxrd (mboxo and mboxrd cannot be told apart): a body
		// line ">From" or ">>From", written unchanged by mboxo, loses one
		// '>' — mboxo's known loss.
		return regexp.MustCompile(`(?m)^>(>*From )`).ReplaceAllString(m.body, "$1")
	case "mboxcl":
		// Content-Length readers (mutt, Dovecot) keep mboxo's quoting.
		return quote(m.body, mbox.MboxO)
	}
	return m.body
}

func testOptions() Options {
	return Options{
		Verify: true,
		Fsync:  true,
		Locks:  locking.Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}},
		Lock:   locking.Options{Timeout: 5 * time.Second},
	}
}

// maildirFiles returns the files of a Maildir by their sub directory and
// name.
func maildirFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sub := range []string{"new", "cur", "tmp"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(root, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[sub+"/"+e.Name()] = b
		}
	}
	return out
}

// readMbox returns the messages of an mbox file as mbox.Reader reads them.
func readMbox(t *testing.T, path string, q mbox.Quoting) ([]*mbox.Entry, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mbox.NewReader(f, q)
	var es []*mbox.Entry
	var bs [][]byte
	for {
		e, err := r.Next()
		if err == io.EOF {
			return es, bs
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		es, bs = append(es, e), append(bs, b)
	}
}

func setLocal(t *testing.T) {
	old := time.Local
	loc, err := time.LoadLocation("Europe/Berlin") // a zone with summer time
	if err != nil {
		loc = time.FixedZone("X", 3600)
	}
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

// TestRoundTripFromMbox: each mbox variant -> Maildir -> mbox. In the
// Maildir every message has its body, its flags in its name and
// directory, its From_ date as mtime and name time, its sender as
// Return-Path, and no private field; back in an mbox, the same body,
// flags, date and sender.
func TestRoundTripFromMbox(t *testing.T) {
	setLocal(t)
	ms := testCorpus()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "mbox")
			if err := os.WriteFile(src, v.write(ms), 0o600); err != nil {
				t.Fatal(err)
			}
			before := sha256.Sum256(v.write(ms))
			md := filepath.Join(dir, "Maildir")
			res, err := Run(context.Background(), src, md+"/", testOptions())
			if err != nil {
				t.Fatal(err)
			}
			f := res.Folders[0]
			if f.Converted != len(ms) || f.Present != 0 || !f.Verified {
				t.Fatalf("result %+v", f)
			}
			files := maildirFiles(t, md)
			if len(files) != len(ms) {
				t.Fatalf("%d files, want %d: %v", len(files), len(ms), keys(files))
			}
			for i, m := range ms {
				path, content := findIndex(t, files, i)
				rp := m.sender
				want := "Return-Path: <" + rp + ">\n" + expectBody(v.name, m)
				if string(content) != want {
					t.Errorf("message %d (%s):\n got %q\nwant %q", i, path, content, want)
				}
				st := m.state()
				sub, name, _ := strings.Cut(path, "/")
				key, size, flags := maildir.ParseName(name)
				if (sub == "cur") != st.Cur || flags != st.Flags || size != int64(len(content)) {
					t.Errorf("message %d: %s, want cur=%v flags %q size %d", i, path, st.Cur, st.Flags, len(content))
				}
				if !strings.HasPrefix(key, fmt.Sprint(m.date.Unix())+".") {
					t.Errorf("message %d: name %s does not begin with the From_ date %d", i, name, m.date.Unix())
				}
				fi, err := os.Stat(filepath.Join(md, path))
				if err != nil || !fi.ModTime().Equal(m.date) {
					t.Errorf("message %d: mtime %v, want %v (%v)", i, fi.ModTime(), m.date, err)
				}
			}
			if after, _ := os.ReadFile(src); sha256.Sum256(after) != before {
				t.Fatal("the source mbox changed")
			}

			// And back.
			back := filepath.Join(dir, "back")
			res, err = Run(context.Background(), md, back, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if f := res.Folders[0]; f.Converted != len(ms) || !f.Verified {
				t.Fatalf("result back %+v", f)
			}
			es, bs := readMbox(t, back, mbox.MboxRD)
			if len(es) != len(ms) {
				t.Fatalf("%d messages back, want %d", len(es), len(ms))
			}
			for i, m := range ms {
				wantSender := m.sender
				if wantSender == "" {
					wantSender = mbox.NullSender
				}
				if es[i].Sender != wantSender || !es[i].Date.Equal(m.date) {
					t.Errorf("message %d back: From_ %q, want sender %q date %v", i, es[i].FromLine, wantSender, m.date)
				}
				st := m.state()
				h, err := rewrite{}.copy(io.Discard, bufio.NewReader(bytes.NewReader(bs[i])))
				if err != nil {
					t.Fatal(err)
				}
				if got := mailflag.FromMbox(h.status, h.xstatus, h.keywords); got != st {
					t.Errorf("message %d back: flags %+v, want %+v", i, got, st)
				}
				want := "Return-Path: <" + m.sender + ">\n" + withLines(expectBody(v.name, m), st.MboxLines())
				if string(bs[i]) != want {
					t.Errorf("message %d back:\n got %q\nwant %q", i, bs[i], want)
				}
			}
		})
	}
}

// withLines is body with lines added at the end of its header.
func withLines(body string, lines []byte) string {
	head, rest, found := strings.Cut(body, "\n\n")
	if !found {
		return body + string(lines)
	}
	return head + "\n" + string(lines) + "\n" + rest
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// findIndex returns the file of the message at index i of the mbox.
func findIndex(t *testing.T, files map[string][]byte, i int) (string, []byte) {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`^(new|cur)/\d+\.L%dH[0-9a-f]{16}\.convert,S=\d+(:2,[A-Z]*)?$`, i))
	for k, v := range files {
		if re.MatchString(k) {
			return k, v
		}
	}
	t.Fatalf("no file for message %d in %v", i, keys(files))
	return "", nil
}

// TestRoundTripFromMaildir: Maildir -> mbox -> Maildir keeps every body,
// flag, directory and date; the mbsync ,U= and Dovecot ,W= fields of the
// names stay behind.
func TestRoundTripFromMaildir(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	ms := testCorpus()
	type file struct {
		name    string
		content string
		date    time.Time
	}
	var want []file
	for i, m := range ms {
		st := m.state()
		content := m.body
		if i%3 == 0 {
			content = "Return-Path: <" + m.sender + ">\n" + content
		}
		name := fmt.Sprintf("%d.M%dP1.host,S=%d,W=9", m.date.Unix(), i, len(content))
		if i%5 == 0 {
			name = fmt.Sprintf("%d.M%dP1.host,U=%d", m.date.Unix(), i, 1000+i)
		}
		p := filepath.Join(md, "new", name)
		if st.Cur {
			p = filepath.Join(md, "cur", name+":2,"+st.Flags)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, m.date, m.date)
		want = append(want, file{name: p, content: content, date: m.date})
	}
	mb := filepath.Join(dir, "mbox")
	if _, err := Run(context.Background(), md, mb, testOptions()); err != nil {
		t.Fatal(err)
	}
	md2 := filepath.Join(dir, "Maildir2")
	res, err := Run(context.Background(), mb, md2+"/", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Folders[0]; f.Converted != len(ms) || !f.Verified {
		t.Fatalf("result %+v", f)
	}
	files := maildirFiles(t, md2)
	// The mbox holds them in name order, which is date order here.
	for i, m := range ms {
		path, content := findIndex(t, files, i)
		if strings.Contains(path, ",U=") || strings.Contains(path, ",W=") {
			t.Errorf("message %d: %s keeps a field of the old name", i, path)
		}
		st := m.state()
		_, _, flags := maildir.ParseName(filepath.Base(path))
		if strings.HasPrefix(path, "cur/") != st.Cur || flags != st.Flags {
			t.Errorf("message %d: %s, want cur=%v flags %q", i, path, st.Cur, st.Flags)
		}
		// A message without Return-Path got one from the From_ line,
		// which had the null sender (no Return-Path to take it from).
		wantContent := want[i].content
		if !strings.HasPrefix(wantContent, "Return-Path:") {
			wantContent = "Return-Path: <>\n" + wantContent
		}
		if string(content) != wantContent {
			t.Errorf("message %d:\n got %q\nwant %q", i, content, wantContent)
		}
		if fi, _ := os.Stat(filepath.Join(md2, path)); !fi.ModTime().Equal(m.date) {
			t.Errorf("message %d: mtime %v, want %v", i, fi.ModTime(), m.date)
		}
	}
}

// TestRerunAddsNothing: a finished conversion run again finds every
// message and writes nothing (docs/design.md §9), in both directions.
func TestRerunAddsNothing(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mbox")
	os.WriteFile(src, writeMbox(testCorpus(), mbox.MboxRD, false), 0o600)
	md := filepath.Join(dir, "md")
	back := filepath.Join(dir, "back")
	for run := 0; run < 2; run++ {
		res, err := Run(context.Background(), src, md+"/", testOptions())
		if err != nil {
			t.Fatal(err)
		}
		res2, err := Run(context.Background(), md, back, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		f, f2 := res.Folders[0], res2.Folders[0]
		n := len(testCorpus())
		if run == 1 && (f.Converted != 0 || f.Present != n || f2.Converted != 0 || f2.Present != n || !f.Verified || !f2.Verified) {
			t.Fatalf("re-run: %+v / %+v", f, f2)
		}
	}
	if got := len(maildirFiles(t, md)); got != len(testCorpus()) {
		t.Fatalf("%d files after two runs", got)
	}
	es, _ := readMbox(t, back, mbox.MboxRD)
	if len(es) != len(testCorpus()) {
		t.Fatalf("%d messages after two runs", len(es))
	}
}

// converted writes the corpus as an mboxrd file and converts it to a
// Maildir; it returns the directory, the mbox and the Maildir.
func converted(t *testing.T) (dir, src, md string) {
	t.Helper()
	setLocal(t)
	dir = t.TempDir()
	src = filepath.Join(dir, "mbox")
	if err := os.WriteFile(src, writeMbox(testCorpus(), mbox.MboxRD, false), 0o600); err != nil {
		t.Fatal(err)
	}
	md = filepath.Join(dir, "md")
	if _, err := Run(context.Background(), src, md+"/", testOptions()); err != nil {
		t.Fatal(err)
	}
	return dir, src, md
}

// TestResumeMbox: an mbox destination cut in the middle of a message (an
// append killed half-way), with a delivery before it, is completed by a
// re-run: the partial message goes, the delivery stays, nothing is twice.
func TestResumeMbox(t *testing.T) {
	dir, _, md := converted(t)
	ms := testCorpus()
	back := filepath.Join(dir, "back")
	if _, err := Run(context.Background(), md, back, testOptions()); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(back)
	es, _ := readMbox(t, back, mbox.MboxRD)
	for _, cut := range []struct {
		name string
		at   func() int64
	}{
		{"in a body", func() int64 { return es[20].Offset + es[20].Length - 3 }},
		{"in the From_ line", func() int64 { return es[20].Offset + 9 }},
		{"after the content, before the separator", func() int64 { return es[20].Offset + es[20].Length - 1 }},
		{"at a message boundary", func() int64 { return es[20].Offset }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			at := cut.at()
			// A delivery after message 10, then messages 11..19 and a
			// part of 20: as if deliveries came between two runs.
			foreign := "From other@example.net  Mon Jan  5 10:00:00 2026\nSubject: delivered meanwhile\n\nhello\n\n"
			mid := es[11].Offset
			b := append(append(append([]byte{}, full[:mid]...), foreign...), full[mid:at]...)
			if err := os.WriteFile(back, b, 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), md, back, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			f := res.Folders[0]
			if f.Converted+f.Present != len(ms) || f.Foreign != 1 || !f.Verified {
				t.Fatalf("result %+v", f)
			}
			got, _ := os.ReadFile(back)
			want := append(append(append([]byte{}, full[:mid]...), foreign...), full[mid:]...)
			if !bytes.Equal(got, want) {
				t.Fatalf("after the re-run the mbox is\n%q\nwant\n%q", tail(got), tail(want))
			}
		})
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-300):] }

// TestResumeMaildir: a Maildir destination with messages missing and a tmp
// file left by a run that died, is completed by a re-run, with no stray
// tmp file and every message once.
func TestResumeMaildir(t *testing.T) {
	_, src, md := converted(t)
	ms := testCorpus()
	files := maildirFiles(t, md)
	// Message 5 was being written (tmp/), 6 was linked but its tmp not yet
	// removed, 7 was linked but lost its data in a crash, 8 and later were
	// never written.
	p5, c5 := findIndex(t, files, 5)
	os.Rename(filepath.Join(md, p5), filepath.Join(md, "tmp", strings.SplitN(filepath.Base(p5), ":", 2)[0]))
	os.Truncate(filepath.Join(md, "tmp", strings.SplitN(filepath.Base(p5), ":", 2)[0]), int64(len(c5)/2))
	p6, _ := findIndex(t, files, 6)
	os.Link(filepath.Join(md, p6), filepath.Join(md, "tmp", strings.SplitN(filepath.Base(p6), ":", 2)[0]))
	p7, _ := findIndex(t, files, 7)
	os.Truncate(filepath.Join(md, p7), 0)
	for i := 8; i < len(ms); i++ {
		p, _ := findIndex(t, files, i)
		os.Remove(filepath.Join(md, p))
	}
	res, err := Run(context.Background(), src, md+"/", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Folders[0]; f.Converted != len(ms)-6 || f.Present != 6 || !f.Verified {
		t.Fatalf("result %+v", f)
	}
	again := maildirFiles(t, md)
	if len(again) != len(files) {
		t.Fatalf("%d files, want %d: %v", len(again), len(files), keys(again))
	}
	for k, v := range files {
		if !bytes.Equal(again[k], v) {
			t.Errorf("%s differs after the re-run", k)
		}
	}
}

// TestVerifyFindsDamage: a message whose stored bytes differ from the
// source is reported by the verification.
func TestVerifyFindsDamage(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mbox")
	os.WriteFile(src, writeMbox(testCorpus(), mbox.MboxRD, false), 0o600)
	f := faulty.New(sys.Real{})
	// Just before message 4 is linked into place, a byte of it changes
	// (a disk, a bug, another program): the name still says the old hash.
	f.Add(&faulty.Rule{Op: faulty.LinkFD, Match: func(c faulty.Call) bool { return strings.Contains(c.Path2, ".L4H") }, Do: func(c faulty.Call) {
		unix.Pwrite(c.FD, []byte("X"), 0)
	}})
	// The same where files are written in tmp/ and linked (no O_TMPFILE).
	f.Add(&faulty.Rule{Op: faulty.Link, Match: func(c faulty.Call) bool { return strings.Contains(c.Path, ".L4H") }, Do: func(c faulty.Call) {
		b, _ := os.ReadFile(c.Path)
		b[len(b)-2] ^= 1
		os.WriteFile(c.Path, b, 0o600)
	}})
	o := testOptions()
	o.Sys = f
	_, err := Run(context.Background(), src, filepath.Join(dir, "md")+"/", o)
	if err == nil || !strings.Contains(err.Error(), "verify message 4 ") {
		t.Fatalf("err = %v, want a verification error for message 4", err)
	}
	o.Verify = false
	o.Sys = sys.Real{}
	if _, err := Run(context.Background(), src, filepath.Join(dir, "md2")+"/", o); err != nil {
		t.Fatal(err)
	}
}

// TestLockHeld: the mbox is under its delivery lock for the whole run,
// in both directions, and a lock held by someone else makes the run wait
// and then fail with a *locking.BusyError inside a *LockError.
func TestLockHeld(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mbox")
	os.WriteFile(src, writeMbox(testCorpus(), mbox.MboxRD, false), 0o600)
	md := filepath.Join(dir, "md")
	back := filepath.Join(dir, "back")
	for _, c := range []struct{ from, to, mbox string }{{src, md + "/", src}, {md, back, back}} {
		o := testOptions()
		calls := 0
		o.Progress = func(Progress) {
			calls++
			if _, err := os.Stat(c.mbox + ".lock"); err != nil {
				t.Fatalf("converting %s: %s.lock: %v", c.from, c.mbox, err)
			}
		}
		if _, err := Run(context.Background(), c.from, c.to, o); err != nil {
			t.Fatal(err)
		}
		if calls == 0 {
			t.Fatal("no progress reported")
		}
		if _, err := os.Stat(c.mbox + ".lock"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s.lock after the run: %v", c.mbox, err)
		}
	}

	lk, err := locking.Acquire(context.Background(), src, testOptions().Locks, locking.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	o := testOptions()
	o.Lock.Timeout = 200 * time.Millisecond
	_, err = Run(context.Background(), src, filepath.Join(dir, "md3")+"/", o)
	var le *LockError
	var be *locking.BusyError
	if !errors.As(err, &le) || !errors.As(err, &be) {
		t.Fatalf("err = %v, want a busy lock", err)
	}
}

// TestWithoutTmpfile: where unnamed files cannot be made (NFS), messages
// are written in tmp/ and linked, with the same names and bytes.
func TestWithoutTmpfile(t *testing.T) {
	dir, src, md := converted(t)
	f := faulty.New(sys.Real{})
	r := f.Add(&faulty.Rule{Op: faulty.Open, Count: 1, Err: unix.EOPNOTSUPP, Match: func(c faulty.Call) bool {
		return strings.HasSuffix(c.Path, "/new") || strings.HasSuffix(c.Path, "/cur")
	}})
	o := testOptions()
	o.Sys = f
	md2 := filepath.Join(dir, "md2")
	res, err := Run(context.Background(), src, md2+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Folders[0]; f.Converted != len(testCorpus()) || !f.Verified || r.Fired() != 1 {
		t.Fatalf("result %+v, rule fired %d times", f, r.Fired())
	}
	links := 0
	for _, c := range f.Calls() {
		if c.Op == faulty.Link && strings.Contains(c.Path, "/md2/tmp/") {
			links++
		}
	}
	if links != len(testCorpus()) {
		t.Fatalf("%d links from tmp/, want %d", links, len(testCorpus()))
	}
	a, b := maildirFiles(t, md), maildirFiles(t, md2)
	if len(a) != len(b) {
		t.Fatalf("%d files, want %d", len(b), len(a))
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			t.Errorf("%s differs", k)
		}
	}
}

// TestUnsafeDestination: convert writes an mbox destination only where
// deliver would — never into a hard-linked file, nor, with
// strict_ownership, into one another user owns — and leaves it untouched.
func TestUnsafeDestination(t *testing.T) {
	setLocal(t)
	dir, _, md := converted(t)
	for _, tc := range []struct {
		name  string
		setup func(dst string)
		root  bool
	}{
		{"hard link", func(dst string) {
			if err := os.Link(dst, dst+".stolen"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"another owner", func(dst string) {
			if err := os.Chown(dst, 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root to give the destination to another user")
			}
			dst := filepath.Join(dir, tc.name)
			orig := []byte("From a@b  Mon Jan  5 00:00:00 2026\nSubject: mine\n\nkeep\n\n")
			if err := os.WriteFile(dst, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			tc.setup(dst)
			o := testOptions()
			o.StrictOwnership = true
			_, err := Run(context.Background(), md, dst, o)
			if !errors.Is(err, safeopen.ErrUnsafe) {
				t.Fatalf("convert into %s: %v, want an unsafe-mailbox refusal", tc.name, err)
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, orig) {
				t.Fatalf("destination changed:\n%s", got)
			}
		})
	}
}
