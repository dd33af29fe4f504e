package sievetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foxcpp/go-sieve/interp"

	"letterbox/autoreply"
	"letterbox/sieve"
	"letterbox/sieveext"
)

// report logs a table and appends it to $SIEVETEST_REPORT when set: go test
// shows no log of a passing test unless -v, and CI wants the counts.
func report(t *testing.T, title, table string) {
	t.Helper()
	t.Logf("%s\n%s", title, table)
	path := os.Getenv("SIEVETEST_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("open report: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s\n%s\n", title, table); err != nil {
		t.Errorf("write report: %v", err)
	}
}

// memStore is the mail store and the SMTP queue that the suite's
// test_result_execute delivers into and test_message reads back: a
// mailbox is a list of messages with their flags.
type memStore struct {
	smtp      []*interp.ExecuteTestMessage
	mailboxes map[string][]*interp.ExecuteTestMessage
	env       *suiteEnv // when set, its Run is carried out too
}

func (s *memStore) CreateMailbox(name string) error {
	if s.mailboxes == nil {
		s.mailboxes = map[string][]*interp.ExecuteTestMessage{}
	}
	if _, ok := s.mailboxes[name]; !ok {
		s.mailboxes[name] = nil
	}
	return nil
}

func (s *memStore) GetDefaultMailbox() string { return "INBOX" }

func (s *memStore) ExecuteActions(d *interp.RuntimeData, actions []interp.AppliedAction) error {
	if s.env != nil {
		s.env.newQueue()
	}
	store := func(mailbox string, flags []string) {
		s.CreateMailbox(mailbox)
		s.mailboxes[mailbox] = append(s.mailboxes[mailbox], &interp.ExecuteTestMessage{
			Envelope: d.Envelope, Message: d.Msg, Flags: flags,
		})
	}
	for _, a := range actions {
		switch a := a.(type) {
		case interp.ActionFileInto:
			store(a.Mailbox, a.Flags)
		case interp.ActionKeep:
			store(s.GetDefaultMailbox(), a.Flags)
		case interp.ActionRedirect:
			// The redirected copy keeps the envelope sender and goes to
			// the new address (RFC 5228 §4.2).
			env := interp.EnvelopeStatic{From: d.Envelope.EnvelopeFrom(), To: a.Address, Auth: d.Envelope.AuthUsername()}
			s.smtp = append(s.smtp, &interp.ExecuteTestMessage{Envelope: env, Message: d.Msg})
		case interp.ActionDiscard, interp.ActionReject, interp.ActionEReject:
			// Nothing is stored; a rejection's DSN is not built here.
		default:
			return fmt.Errorf("unknown action %T", a)
		}
	}
	if s.env != nil {
		return s.env.executeRun(d)
	}
	return nil
}

func (s *memStore) GetSMTPMessage(i int) (*interp.ExecuteTestMessage, error) {
	if i < 0 || i >= len(s.smtp) {
		return nil, fmt.Errorf("no SMTP message %d", i)
	}
	return s.smtp[i], nil
}

func (s *memStore) HasSMTPMessage(i int) (bool, error) { return i >= 0 && i < len(s.smtp), nil }

func (s *memStore) GetMailboxMessage(mailbox string, i int) (*interp.ExecuteTestMessage, error) {
	m, ok := s.mailboxes[mailbox]
	if !ok {
		return nil, fmt.Errorf("mailbox %s not found", mailbox)
	}
	if i < 0 || i >= len(m) {
		return nil, fmt.Errorf("no message %d in %s", i, mailbox)
	}
	return m[i], nil
}

func (s *memStore) HasMailboxMessage(mailbox string, i int) (bool, error) {
	m := s.mailboxes[mailbox]
	return i >= 0 && i < len(m), nil
}

// suiteEnv is what Pigeonhole's test environment gives a .svtest file
// beyond go-sieve's runner: the sieveext.Run the extension commands need; a
// Host whose mailboxes are the store's and whose duplicate IDs are those a
// test_result_execute kept; a loader for include over the file's
// included/ and included-global/ directories (letterbox's own
// sieve.DirLoader); and, at test_result_execute, the vacation reply that
// letterbox's delivery would send, put on the store's SMTP queue.
//
// Pigeonhole runs the .svtest file as one script, whose result each test
// block starts afresh, and each test_script_run as a new execution. So the
// file's own commands share one Run (its include state and global
// variables persist) whose records are cleared when a new block starts;
// a compiled script gets a fresh Run per block.
type suiteEnv struct {
	rt       *interp.TestRuntime // shared by every copy of the file's RuntimeData
	store    *memStore
	load     sieveext.Loader
	seen     map[string]bool // handle + "\x00" + id, kept at test_result_execute
	file     *sieveext.Run   // the file's own execution
	block    string          // the block whose result file holds
	runs     map[suiteRunKey]*sieveext.Run
	sent     map[*sieveext.Run]int // vacations of a Run already put on the queue
	executed string                // the block that last ran test_result_execute
	// compiled holds the blocks that ran test_script_compile.
	compiled map[string]bool
}

// suiteFS is the file's directory, as test_script_compile reads it; it
// notes the block that compiles.
type suiteFS struct {
	fs.FS
	e *suiteEnv
}

func (f suiteFS) Open(name string) (fs.File, error) {
	f.e.compiled[f.e.rt.Name] = true
	return f.FS.Open(name)
}

type suiteRunKey struct {
	block  string
	script *interp.Script
}

func newSuiteEnv(rt *interp.TestRuntime, dir string) *suiteEnv {
	e := &suiteEnv{
		rt:       rt,
		store:    &memStore{},
		seen:     map[string]bool{},
		runs:     map[suiteRunKey]*sieveext.Run{},
		sent:     map[*sieveext.Run]int{},
		compiled: map[string]bool{},
		load: sieve.DirLoader(sieve.Options{
			PersonalDir: filepath.Join(dir, "included"),
			GlobalDir:   filepath.Join(dir, "included-global"),
		}),
	}
	e.file = &sieveext.Run{Host: suiteHost{e}, Load: e.load}
	e.store.env = e
	// Pigeonhole's test mail store has INBOX from the start.
	e.store.CreateMailbox("INBOX")
	return e
}

// current is the Run of what executes now. go-sieve's CmdDovecotTest sets
// the block's name on the TestRuntime all copies share, and
// test_script_compile the script; neither says whether the file itself or
// a compiled script runs, so a compiled script is taken to be running
// once the block has compiled one (Pigeonhole's files run what they
// compile, and run extension commands themselves only in blocks that
// compile nothing). compiled is kept by the file system test_script_compile
// reads through (suiteFS).
func (e *suiteEnv) current() *sieveext.Run {
	if e.rt.Script == nil || !e.compiled[e.rt.Name] {
		if e.block != e.rt.Name {
			e.block = e.rt.Name
			e.file.Vacations, e.file.Duplicates, e.file.Creates = nil, nil, nil
			e.sent[e.file] = 0
		}
		return e.file
	}
	k := suiteRunKey{e.rt.Name, e.rt.Script}
	r := e.runs[k]
	if r == nil {
		r = &sieveext.Run{Host: suiteHost{e}, Load: e.load}
		e.runs[k] = r
	}
	return r
}

// suiteCtx hands the extension commands the current Run. go-sieve passes
// one context to the whole file, and sieveext's key is unexported, so the
// context carries a placeholder Run and Value swaps in the current one.
type suiteCtx struct {
	context.Context
	env *suiteEnv
}

func (c suiteCtx) Value(key any) any {
	v := c.Context.Value(key)
	if _, ok := v.(*sieveext.Run); ok {
		return c.env.current()
	}
	return v
}

func (e *suiteEnv) context() context.Context {
	return suiteCtx{sieveext.WithRun(context.Background(), &sieveext.Run{}), e}
}

// suiteHost answers mailboxexists from the store (INBOX, and what
// test_mailbox_create or a delivery made) and duplicate from the IDs kept
// by test_result_execute, as delivery keeps them after delivering.
type suiteHost struct{ e *suiteEnv }

func (h suiteHost) MailboxExists(_ context.Context, name string) (bool, error) {
	_, ok := h.e.store.mailboxes[name]
	return ok, nil
}

func (h suiteHost) DuplicateSeen(_ context.Context, handle, id string) (bool, error) {
	return h.e.seen[handle+"\x00"+id], nil
}

// executeRun does at test_result_execute what delivery does with the
// Run's records: keep the duplicate IDs, and send each vacation reply
// autoreply allows, composed by autoreply (as deliver/send.go does).
// newQueue empties the SMTP queue at a block's first test_result_execute:
// Pigeonhole's files reset the result between blocks, which empties its
// queue, and go-sieve's test_result_reset cannot reach this one.
func (e *suiteEnv) newQueue() {
	if e.executed != e.rt.Name {
		e.executed = e.rt.Name
		e.store.smtp = nil
	}
}

func (e *suiteEnv) executeRun(d *interp.RuntimeData) error {
	r := e.current()
	for _, dup := range r.Duplicates {
		e.seen[dup.Handle+"\x00"+dup.ID] = true
	}
	h := suiteHeader{d.Msg}
	sender, recipient := d.Envelope.EnvelopeFrom(), d.Envelope.EnvelopeTo()
	if sender == "" && recipient == "" {
		// No envelope set: Pigeonhole's test environment takes it from
		// the message (testsuite-message.c), go-sieve's leaves it empty.
		sender = firstAddr(h, "Return-Path", "Sender", "From", "sender@example.com")
		recipient = firstAddr(h, "Envelope-To", "To", "recipient@example.com")
	}
	env := autoreply.Envelope{Sender: sender}
	for _, v := range r.Vacations[e.sent[r]:] {
		e.sent[r]++
		av := autoreply.Vacation{Reason: v.Reason, Subject: v.Subject, From: v.From, Addresses: v.Addresses, Handle: v.Handle, Seconds: v.Seconds, Mime: v.Mime}
		if ok, _ := autoreply.ShouldReply(h, env, recipient, av); !ok {
			continue
		}
		var buf bytes.Buffer
		from, to, err := autoreply.Compose(&buf, h, env, av, recipient, time.Now(), "test.example")
		if err != nil {
			return fmt.Errorf("compose vacation reply: %w", err)
		}
		msg, err := staticMessage(buf.Bytes())
		if err != nil {
			return fmt.Errorf("read vacation reply: %w", err)
		}
		e.store.smtp = append(e.store.smtp, &interp.ExecuteTestMessage{
			Envelope: interp.EnvelopeStatic{From: from, To: to}, Message: msg,
		})
	}
	return nil
}

// firstAddr returns the address of the first of fields the header has,
// else the last of fields, a default.
func firstAddr(h suiteHeader, fields ...string) string {
	for _, f := range fields[:len(fields)-1] {
		if v := h.Get(f); len(v) > 0 {
			if a, err := mail.ParseAddress(v[0]); err == nil {
				return a.Address
			}
		}
	}
	return fields[len(fields)-1]
}

// suiteHeader is an autoreply.Header over a go-sieve message.
type suiteHeader struct{ m interp.Message }

func (h suiteHeader) Get(name string) []string {
	v, _ := h.m.HeaderGet(name)
	return v
}

// staticMessage parses a message for test_message to read. The header
// values are decoded from RFC 2047 encoded words, as the header test of a
// real delivery sees them (RFC 5228 §2.7.2) and go-sieve's MessageStatic
// does not.
func staticMessage(b []byte) (interp.MessageStatic, error) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	h, err := r.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return interp.MessageStatic{}, err
	}
	var dec mime.WordDecoder
	for k, vs := range h {
		for i, v := range vs {
			if d, err := dec.DecodeHeader(v); err == nil {
				h[k][i] = d
			}
		}
	}
	return interp.MessageStatic{Size: len(b), Header: h, RawMessage: b}, nil
}
