package lmtp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"letterbox/config"
	"letterbox/internal/passwd"
	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/mbox"
)

// fakeUsers is a user database: alice and bob with the test's uid, and a
// lookup failure for "ldapdown".
type fakeUsers struct{ home string }

func (u fakeUsers) Lookup(name string) (passwd.User, error) {
	switch name {
	case "alice", "bob":
		return passwd.User{Name: name, UID: os.Geteuid(), GID: os.Getegid(), Home: filepath.Join(u.home, name)}, nil
	case "ldapdown":
		return passwd.User{}, errors.New("connection refused")
	}
	return passwd.User{}, passwd.ErrUnknown
}

func (u fakeUsers) LookupID(uid int) (passwd.User, error) { return passwd.User{}, passwd.ErrUnknown }

type testServer struct {
	s    *Server
	addr string // unix socket
	dir  string // the mail store
	done chan error
}

// start runs a server on a unix socket in a temporary directory. Without
// mutate it delivers by the virtual layout dir/{domain}/{user} (mbox).
func start(t *testing.T, s sys.Sys, mutate func(o *Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.Log = "none"
	c.LMTP.Mailbox = filepath.Join(dir, "{domain}", "{user}")
	c.LockRefresh = config.Dur(50 * time.Millisecond)
	c.StaleLockOwn = config.Dur(2 * time.Second)
	c.LMTP.Timeout = config.Dur(10 * time.Second)
	if s == nil {
		s = sys.Real{}
	}
	o := Options{Config: c, Sys: s, Users: fakeUsers{home: dir}, TempDir: dir, Hostname: "test"}
	if mutate != nil {
		mutate(&o)
	}
	ts := &testServer{s: New(o), addr: filepath.Join(dir, "lmtp.sock"), dir: dir, done: make(chan error, 1)}
	l, err := Listen("unix:"+ts.addr, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	go func() { ts.done <- ts.s.Serve(l) }()
	t.Cleanup(func() {
		ts.s.Close()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// systemUsers delivers to system users (no [lmtp] mailbox), each to the
// mbox "mbox" in its home.
func systemUsers(o *Options) {
	o.Config.LMTP.Mailbox = ""
	o.Config.HomeMailbox = "mbox"
	for _, u := range []string{"alice", "bob"} {
		os.MkdirAll(filepath.Join(o.TempDir, u), 0o700)
	}
}

// raw is a client that sends lines as given and reads every reply.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	if got := r.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting %q", got)
	}
	return r
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("send %q: %v", s, err)
	}
}

// reply reads one reply, multi-line ones joined by "|"; "" at EOF.
func (r *raw) reply() string {
	r.t.Helper()
	var lines []string
	for {
		line, err := r.r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "|")
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "|")
		}
	}
}

// expect sends cmd (unless "") and checks the next reply starts with want.
func (r *raw) expect(cmd, want string) string {
	r.t.Helper()
	if cmd != "" {
		r.send(cmd)
	}
	got := r.reply()
	if !strings.HasPrefix(got, want) {
		r.t.Fatalf("%q: reply %q, want %q", strings.TrimSpace(cmd), got, want)
	}
	return got
}

func (r *raw) hello() { r.t.Helper(); r.expect("LHLO client\r\n", "250-") }

// messages reads the mbox at path and returns each message's content.
func messages(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := mbox.NewReader(f, mbox.MboxRD)
	var out []string
	for {
		_, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
}

// logLines keeps what is logged, as "LEVEL message", for many goroutines.
type logLines struct {
	slog.Handler // nil: WithAttrs and WithGroup are not called
	mu           sync.Mutex
	lines        []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}

// The go-smtp LMTP client: one transaction for five recipients, three of
// them refused at RCPT (unknown, user database down, a bad address), the
// others get 250 after DATA, each with the message. Every outcome is
// logged, those at RCPT included, at the level of its status.
func TestTransaction(t *testing.T) {
	log := &logLines{}
	ts := start(t, nil, func(o *Options) { systemUsers(o); o.Log = slog.New(log) })
	nc, err := net.Dial("unix", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(nc)
	defer c.Close()
	if err := c.Hello("client"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@example.org", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rcpt string
		code int
		dsn  smtp.EnhancedCode
	}{
		{"alice@example.net", 0, smtp.EnhancedCode{}},
		{"nobody@example.net", 550, smtp.EnhancedCode{5, 1, 1}},
		{"ldapdown@example.net", 451, smtp.EnhancedCode{4, 3, 0}},
		{"../etc@example.net", 553, smtp.EnhancedCode{5, 1, 3}},
		{"bob+lists@example.net", 0, smtp.EnhancedCode{}},
	} {
		err := c.Rcpt(tc.rcpt, nil)
		var se *smtp.SMTPError
		switch {
		case tc.code == 0 && err != nil:
			t.Fatalf("RCPT %s: %v", tc.rcpt, err)
		case tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code || se.EnhancedCode != tc.dsn):
			t.Fatalf("RCPT %s: %v, want %d %v", tc.rcpt, err, tc.code, tc.dsn)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: hi\r\n\r\nFrom here\r\n.dot\r\n")
	resp, err := w.CloseWithLMTPResponse()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if len(resp) != 2 {
		t.Fatalf("responses %v", resp)
	}
	for _, u := range []string{"alice", "bob"} {
		got := messages(t, filepath.Join(ts.dir, u, "mbox"))
		if len(got) != 1 || !strings.Contains(got[0], "Subject: hi\n\nFrom here\n.dot\n") || !strings.Contains(got[0], "Return-Path: <sender@example.org>\n") {
			t.Fatalf("%s: %q", u, got)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	head := `from=<sender@example\.org>, to=<`
	wantLog := []string{
		`^ERROR ` + head + `nobody@example\.net>, relay=letterbox, delay=[\d.]+, size=0, dsn=5\.1\.1, status=bounced \(unknown user "nobody"\)$`,
		`^WARN ` + head + `ldapdown@example\.net>, .* dsn=4\.3\.0, status=deferred \(look up user ldapdown: connection refused\)$`,
		`^ERROR ` + head + `\.\./etc@example\.net>, .* dsn=5\.1\.3, status=bounced \(`,
		`^INFO ` + head + `alice@example\.net>, .* dsn=2\.0\.0, status=sent \(delivered to mbox ` + regexp.QuoteMeta(filepath.Join(ts.dir, "alice", "mbox")) + `\)$`,
		`^INFO ` + head + `bob\+lists@example\.net>, .* dsn=2\.0\.0, status=sent \(delivered to mbox ` + regexp.QuoteMeta(filepath.Join(ts.dir, "bob", "mbox")) + `\)$`,
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	var got []string
	for _, l := range log.lines {
		if strings.Contains(l, ", relay=letterbox, ") {
			got = append(got, l)
		}
	}
	if len(got) != len(wantLog) {
		t.Fatalf("logged %d delivery lines, want %d:\n%s", len(got), len(wantLog), strings.Join(log.lines, "\n"))
	}
	sort.Strings(got[3:]) // the deliveries run at once
	for i, w := range wantLog {
		if !regexp.MustCompile(w).MatchString(got[i]) {
			t.Errorf("log line %q does not match %s", got[i], w)
		}
	}
}

// A duplicate RCPT gets its own reply and its own copy; a recipient whose
// mailbox fails (a directory where its mbox should be) gets a 4xx, and
// the others are delivered all the same.
func TestPerRecipientReplies(t *testing.T) {
	ts := start(t, nil, nil)
	if err := os.MkdirAll(filepath.Join(ts.dir, "example.net", "carol"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := dial(t, ts.addr)
	r.hello()
	r.expect("MAIL FROM:<s@example.org>\r\n", "250 ")
	for _, rc := range []string{"alice", "alice", "carol", "bob"} {
		r.expect("RCPT TO:<"+rc+"@example.net>\r\n", "250 ")
	}
	r.expect("DATA\r\n", "354 ")
	r.send("Subject: x\r\n\r\nbody\r\n.\r\n")
	// A 250 says the message is in the mailbox, not "queued" (go-smtp's
	// default text), which would read in the MTA's log as if it were not.
	r.expect("", "250 2.0.0 <alice@example.net> Delivered")
	r.expect("", "250 2.0.0 <alice@example.net> Delivered")
	got := r.expect("", "451 4.2.0 <carol@example.net>")
	if !strings.Contains(got, "carol") {
		t.Errorf("reply %q does not say what failed", got)
	}
	r.expect("", "250 2.0.0 <bob@example.net> Delivered")
	if n := len(messages(t, filepath.Join(ts.dir, "example.net", "alice"))); n != 2 {
		t.Errorf("alice has %d messages, want 2", n)
	}
	if n := len(messages(t, filepath.Join(ts.dir, "example.net", "bob"))); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
	r.expect("QUIT\r\n", "221 ")
}

// One connection carries 100 transactions; each leaves its message.
func TestConnectionReuse(t *testing.T) {
	ts := start(t, nil, nil)
	r := dial(t, ts.addr)
	r.hello()
	for i := range 100 {
		r.expect("MAIL FROM:<s@example.org>\r\n", "250 ")
		r.expect("RCPT TO:<alice@example.net>\r\n", "250 ")
		r.expect("DATA\r\n", "354 ")
		r.send(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n.\r\n", i, i))
		r.expect("", "250 ")
	}
	r.expect("QUIT\r\n", "221 ")
	got := messages(t, filepath.Join(ts.dir, "example.net", "alice"))
	if len(got) != 100 {
		t.Fatalf("%d messages, want 100", len(got))
	}
	for i, m := range got {
		if !strings.Contains(m, fmt.Sprintf("Subject: %d\n\nbody %d\n", i, i)) {
			t.Fatalf("message %d: %q", i, m)
		}
	}
}

// Bad input gets a clear 4xx or 5xx, the server survives, and nothing is
// delivered (but the valid transaction after pipelined garbage).
func TestBadInput(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name      string
		steps     [][2]string // command, expected reply prefix
		delivered int         // to alice
	}{
		{"DATA without MAIL", [][2]string{{"DATA\r\n", "503 5.5.1"}}, 0},
		{"DATA without RCPT", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"DATA\r\n", "503 5.5.1"}}, 0},
		{"RCPT without MAIL", [][2]string{{"RCPT TO:<alice@example.net>\r\n", "503 5.5.1"}}, 0},
		{"HELO not LHLO", [][2]string{{"HELO x\r\n", "500 5.5.1"}}, 0},
		{"over-long command", [][2]string{{"MAIL FROM:<" + long + "@x>\r\n", "500 5.4.0"}}, 0},
		{"bare CR in RCPT", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<ali\rce@example.net>\r\n", "553 5.1.3"}, {"DATA\r\n", "503"}}, 0},
		{"NUL in RCPT", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<ali\x00ce@example.net>\r\n", "553 5.1.3"}}, 0},
		{"8-bit in RCPT", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<al\xc3\xafce@example.net>\r\n", "5"}}, 0},
		{"8-bit in MAIL", [][2]string{{"MAIL FROM:<s\xc3\xaf@x>\r\n", "5"}}, 0},
		{"NUL in MAIL", [][2]string{{"MAIL FROM:<s\x00@x>\r\n", "5"}}, 0},
		{"leading dash", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<-alice@example.net>\r\n", "553 5.1.3"}}, 0},
		{"leading dot", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<.alice@example.net>\r\n", "553 5.1.3"}}, 0},
		{"dot dot in domain", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<alice@..>\r\n", "553 5.1.3"}}, 0},
		{"slash", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<a/b@example.net>\r\n", "553 5.1.3"}}, 0},
		{"unknown command", [][2]string{{"FROB\r\n", "500 5.5.2"}}, 0},
		{"garbage", [][2]string{{"\x00\x01\x02\r\n", "501 5.5.2"}}, 0},
		{"pipelined garbage", [][2]string{{"MAIL FROM:<s@x>\r\nRCPT TO:<alice@example.net>\r\nxyzzy\r\nDATA\r\n", "250"}, {"", "250"}, {"", "501 5.5.2"}, {"", "354"}, {"Subject: x\r\n\r\n.\r\n", "250"}}, 1},
		{"BDAT", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<bob@example.net>\r\n", "250"}, {"BDAT 5 LAST\r\nhello", "502 5.5.1"}}, 0},
		{"BDAT without RCPT", [][2]string{{"BDAT 3\r\nabc", "503 5.5.1"}}, 0},
		{"over-long line in DATA", [][2]string{{"MAIL FROM:<s@x>\r\n", "250"}, {"RCPT TO:<bob@example.net>\r\n", "250"}, {"DATA\r\n", "354"}, {"Subject: x\r\n\r\n" + long + "\r\n.\r\n", "554 5.6.0"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, nil, nil)
			r := dial(t, ts.addr)
			r.hello()
			for _, st := range tc.steps {
				r.expect(st[0], st[1])
			}
			// The server is still there, and nothing was delivered.
			r2 := dial(t, ts.addr)
			r2.hello()
			r2.expect("NOOP\r\n", "250")
			if got := messages(t, filepath.Join(ts.dir, "example.net", "alice")); len(got) != tc.delivered {
				t.Fatalf("alice got %q", got)
			}
			if got := messages(t, filepath.Join(ts.dir, "example.net", "bob")); len(got) != 0 {
				t.Fatalf("bob got %q", got)
			}
		})
	}
}

// A client that goes away in the middle of DATA gets nothing delivered.
func TestDisconnectMidData(t *testing.T) {
	ts := start(t, nil, nil)
	r := dial(t, ts.addr)
	r.hello()
	r.expect("MAIL FROM:<s@x>\r\n", "250")
	r.expect("RCPT TO:<alice@example.net>\r\n", "250")
	r.expect("DATA\r\n", "354")
	r.send("Subject: half\r\n\r\nhalf a message\r\n")
	r.c.Close()
	time.Sleep(200 * time.Millisecond)
	r2 := dial(t, ts.addr) // the server lives and has finished with it
	r2.hello()
	if got := messages(t, filepath.Join(ts.dir, "example.net", "alice")); len(got) != 0 {
		t.Fatalf("delivered %q", got)
	}
}

// Twenty connections deliver into one mbox at once: every message is
// there exactly once and intact, and the queue made fewer appends (one
// fsync each) than messages.
func TestGroupCommit(t *testing.T) {
	f := faulty.New(sys.Real{})
	// A slow disk: while one append syncs, the others queue.
	f.Add(&faulty.Rule{Op: faulty.Fsync, Path: "alice", Delay: 20 * time.Millisecond})
	ts := start(t, f, nil)
	const conns, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("unix", ts.addr)
			if err != nil {
				errs <- err
				return
			}
			c := smtp.NewClientLMTP(nc)
			defer c.Close()
			if err := c.Hello("c"); err != nil {
				errs <- err
				return
			}
			for j := range each {
				body := fmt.Sprintf("Subject: %d-%d\r\n\r\nFrom %d-%d\r\n%s\r\n", i, j, i, j, strings.Repeat("y", 1000*j))
				if err := c.SendMail("s@example.org", []string{"alice@example.net"}, strings.NewReader(body)); err != nil {
					errs <- fmt.Errorf("%d-%d: %w", i, j, err)
					return
				}
			}
			c.Quit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mb := filepath.Join(ts.dir, "example.net", "alice")
	got := messages(t, mb)
	if len(got) != conns*each {
		t.Fatalf("%d messages, want %d", len(got), conns*each)
	}
	seen := map[string]bool{}
	for _, m := range got {
		var i, j int
		if _, err := fmt.Sscanf(m[strings.Index(m, "Subject: "):], "Subject: %d-%d", &i, &j); err != nil {
			t.Fatalf("message %q", m)
		}
		id := fmt.Sprintf("%d-%d", i, j)
		want := fmt.Sprintf("Subject: %s\n\nFrom %s\n%s\n", id, id, strings.Repeat("y", 1000*j))
		if seen[id] || !strings.HasSuffix(m, want) {
			t.Fatalf("message %s duplicated or damaged: %q", id, m)
		}
		seen[id] = true
	}
	fsyncs := 0
	for _, c := range f.Calls() {
		if c.Op == faulty.Fsync && c.Path == mb {
			fsyncs++
		}
	}
	t.Logf("%d messages, %d fsyncs of the mbox", len(got), fsyncs)
	if fsyncs >= len(got) || fsyncs == 0 {
		t.Fatalf("%d fsyncs for %d messages: no group commit", fsyncs, len(got))
	}
}

// Shutdown mid-transaction: the transaction inside DATA is delivered and
// answered, an idle connection is told 421 and closed, and new
// connections are refused.
func TestShutdown(t *testing.T) {
	f := faulty.New(sys.Real{})
	ts := start(t, f, nil)
	busy := dial(t, ts.addr)
	busy.hello()
	idle := dial(t, ts.addr)
	idle.hello()
	idle.expect("MAIL FROM:<s@x>\r\n", "250") // mid-transaction, not in DATA
	busy.expect("MAIL FROM:<s@x>\r\n", "250")
	busy.expect("RCPT TO:<alice@example.net>\r\n", "250")
	busy.expect("DATA\r\n", "354")
	busy.send("Subject: in flight\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // the server is reading the message
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- ts.s.Shutdown(ctx)
	}()
	idle.expect("", "421 4.3.2")
	if got := idle.reply(); got != "" {
		t.Fatalf("idle connection still open: %q", got)
	}
	busy.send("body\r\n.\r\n")
	busy.expect("", "250 2.0.0 <alice@example.net>")
	if got := busy.reply(); got != "" {
		t.Fatalf("busy connection not closed after its transaction: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.Dial("unix", ts.addr); err == nil {
		t.Fatal("still accepting")
	}
	if got := messages(t, filepath.Join(ts.dir, "example.net", "alice")); len(got) != 1 {
		t.Fatalf("delivered %d, want 1", len(got))
	}
}

// Connections over max_connections are told 421 and closed.
func TestMaxConnections(t *testing.T) {
	ts := start(t, nil, func(o *Options) { o.Config.LMTP.MaxConnections = 1 })
	r := dial(t, ts.addr)
	r.hello()
	c, err := net.Dial("unix", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "421 4.3.2") {
		t.Fatalf("second connection: %q", line)
	}
	r.expect("QUIT\r\n", "221")
	r.c.Close()
	time.Sleep(100 * time.Millisecond)
	dial(t, ts.addr).hello() // the slot is free again
}

// Maildir and the +extension folder, with the virtual layout: the
// directories are created on first delivery.
func TestVirtualMaildir(t *testing.T) {
	ts := start(t, nil, func(o *Options) {
		o.Config.LMTP.Mailbox = filepath.Join(o.TempDir, "v", "{domain}", "{user}") + "/"
		o.Config.LMTP.ExtensionFolders = true
	})
	r := dial(t, ts.addr)
	r.hello()
	r.expect("MAIL FROM:<>\r\n", "250")
	r.expect("RCPT TO:<alice+lists@Example.NET>\r\n", "250")
	r.expect("RCPT TO:<alice@example.net>\r\n", "250")
	r.expect("DATA\r\n", "354")
	r.send("Subject: md\r\n\r\nbody\r\n.\r\n")
	r.expect("", "250")
	r.expect("", "250")
	for _, d := range []string{"v/example.net/alice/.lists/new", "v/example.net/alice/new"} {
		ents, err := os.ReadDir(filepath.Join(ts.dir, d))
		if err != nil || len(ents) != 1 {
			t.Fatalf("%s: %v %v", d, ents, err)
		}
	}
	st, err := os.Stat(filepath.Join(ts.dir, "v", "example.net"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("domain directory: %v %v", st, err)
	}
}

// Sieve runs per recipient in the server: alice's ~/.dovecot.sieve files
// into a folder or rejects, which is her recipient's 550 5.7.1 alone; bob,
// without a script, gets the plain delivery.
func TestSieve(t *testing.T) {
	ts := start(t, nil, systemUsers)
	script := `require ["fileinto", "reject"];
if header :contains "subject" "spam" { reject "no spam here"; stop; }
fileinto "Lists/go";
`
	if err := os.WriteFile(filepath.Join(ts.dir, "alice", ".dovecot.sieve"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	send := func(subject string, want ...string) {
		t.Helper()
		r := dial(t, ts.addr)
		r.hello()
		r.expect("MAIL FROM:<s@example.org>\r\n", "250 ")
		r.expect("RCPT TO:<alice@example.net>\r\n", "250 ")
		r.expect("RCPT TO:<bob@example.net>\r\n", "250 ")
		r.expect("DATA\r\n", "354 ")
		r.send("Subject: " + subject + "\r\n\r\nbody\r\n.\r\n")
		for _, w := range want {
			r.expect("", w)
		}
		r.expect("QUIT\r\n", "221 ")
	}
	send("spam offer", "550 5.7.1 <alice@example.net>", "250 2.0.0 <bob@example.net>")
	send("go news", "250 2.0.0 <alice@example.net>", "250 2.0.0 <bob@example.net>")
	for path, n := range map[string]int{
		filepath.Join(ts.dir, "alice", "mail", "Lists", "go"): 1,
		filepath.Join(ts.dir, "alice", "mbox"):                0,
		filepath.Join(ts.dir, "bob", "mbox"):                  2,
	} {
		if got := len(messages(t, path)); got != n {
			t.Errorf("%s holds %d messages, want %d", path, got, n)
		}
	}
}
