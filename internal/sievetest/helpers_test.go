package sievetest

import (
	"fmt"
	"os"
	"testing"

	"github.com/foxcpp/go-sieve/interp"
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
