package lmtp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"letterbox/deliver"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/maildir"
)

// session is one connection's state; a transaction is MAIL, RCPT..., DATA.
type session struct {
	s *Server
	c *conn

	// The transaction; Reset clears it.
	set    *settings
	from   string
	rcpts  []*target
	inData bool
}

// target is an accepted recipient and where its delivery goes.
type target struct {
	addr    Address
	mailbox string // the mbox or Maildir path ("" for a child delivery)
	folder  string // Maildir++ folder from the +extension
	user    string // the system user (-d), or "" for the virtual layout
	child   bool   // delivered by "letterbox deliver -d user" as that user
	home    string // the system user's home, for its Sieve script ("" for the virtual layout)
}

func (ss *session) Reset() {
	if ss.inData {
		ss.inData = false
		ss.c.leaveData()
	}
	ss.set, ss.from, ss.rcpts = nil, "", nil
}

func (ss *session) Logout() error {
	ss.Reset()
	return nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if err := checkSender(from); err != nil {
		return Reply(err)
	}
	ss.set = ss.s.cur.Load()
	ss.from = from
	ss.rcpts = nil
	return nil
}

// checkSender refuses a sender that cannot be written into the header and
// From_ line (deliver.CheckAddress), and 8-bit bytes, since SMTPUTF8 is
// not offered: 553 5.1.7.
func checkSender(from string) error {
	err := deliver.CheckAddress(from)
	if err == nil {
		for i := 0; i < len(from); i++ {
			if from[i] >= 0x80 {
				err = fmt.Errorf("8-bit byte %#02x at %d without SMTPUTF8", from[i], i)
				break
			}
		}
	}
	if err != nil {
		return status.Perm("5.1.7", status.DataErr, fmt.Errorf("sender: %w", err))
	}
	return nil
}

// Rcpt resolves the recipient now, so that an unknown user or a bad
// address is refused here (550 5.1.1, 553 5.1.3) and a failing user
// database deferred (451 4.3.0), before the message is sent.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	start := time.Now()
	t, err := ss.resolve(to)
	if err != nil {
		// Refused here, the recipient never reaches a delivery: its
		// outcome is logged now, as every other is.
		deliver.LogResult(ss.set.Log, ss.result(to), err, start)
		return Reply(err)
	}
	ss.rcpts = append(ss.rcpts, t)
	return nil
}

func (ss *session) resolve(to string) (*target, error) {
	set := ss.set
	a, err := ParseRecipient(to)
	if err != nil {
		return nil, err
	}
	if err := deliver.CheckAddress(to); err != nil {
		return nil, status.Perm("5.1.3", status.DataErr, fmt.Errorf("recipient: %w", err))
	}
	t := &target{addr: a}
	if set.Config.LMTP.ExtensionFolders && a.Ext != "" {
		if _, err := maildir.ParseFolder(a.Ext); err == nil {
			t.folder = a.Ext
		} else {
			set.Log.Warn("extension is no folder name; delivering to INBOX", "rcpt", to, "err", err)
		}
	}
	if tmpl := set.Config.LMTP.Mailbox; tmpl != "" {
		t.mailbox, err = Expand(tmpl, a)
		return t, err
	}
	// A system user, as "deliver -d USER" finds one.
	r, err := deliver.ResolveRecipient(set.Config, a.User, "", func(string) string { return "" }, set.Users)
	if err != nil {
		return nil, err
	}
	t.user, t.mailbox, t.home = r.User.Name, r.Mailbox, r.User.Home
	if euid := os.Geteuid(); euid == 0 && r.User.UID != 0 {
		t.child = true // root delivers through a child that becomes the user
	} else if err := r.Become(); err != nil {
		// Become does nothing when we are the user already; as a third
		// user it refuses (4.3.0) rather than write with our rights.
		return nil, err
	}
	return t, nil
}

func (ss *session) Data(r io.Reader) error {
	return errors.New("BUG: Data called in an LMTP server")
}

// LMTPData reads the whole message first (a client that goes away before
// the final "." gets nothing delivered), then delivers it to every
// recipient at once and answers each in the order of RCPT, duplicates
// included, each reply only once that recipient's delivery is durable or
// has failed.
func (ss *session) LMTPData(r io.Reader, sc smtp.StatusCollector) error {
	if _, isPipe := r.(*io.PipeReader); isPipe {
		// go-smtp hands BDAT chunks through a pipe. CHUNKING is refused:
		// a message is taken only by DATA.
		return &smtp.SMTPError{Code: 502, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "BDAT is not supported here; use DATA"}
	}
	if !ss.c.enterData() {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down"}
	}
	ss.inData = true
	set := ss.set
	start := time.Now()
	m, err := deliver.ReadMessage(r, set.TempDir, set.Config)
	if err != nil {
		if errors.Is(err, smtp.ErrTooLongLine) {
			err = status.Perm("5.6.0", status.DataErr, fmt.Errorf("a line is longer than max_line_length %d", set.Config.LMTP.MaxLineLength))
		}
		rep := Reply(err)
		for _, t := range ss.rcpts {
			deliver.LogResult(set.Log, ss.result(t.addr.Addr), err, start)
			sc.SetStatus(t.addr.Addr, rep)
		}
		return rep
	}
	defer m.Close()
	results := make([]chan error, len(ss.rcpts))
	for i, t := range ss.rcpts {
		results[i] = make(chan error, 1)
		go func() { results[i] <- ss.deliver(m, t, start) }()
	}
	for i, t := range ss.rcpts {
		err := <-results[i]
		if rep := Reply(err); rep != nil {
			sc.SetStatus(t.addr.Addr, rep)
		} else {
			sc.SetStatus(t.addr.Addr, delivered)
		}
	}
	return nil
}

// result is the Result of a delivery to rcpt that failed before the
// message was read, for its log line: the envelope as MAIL and RCPT gave
// it.
func (ss *session) result(rcpt string) deliver.Result {
	return deliver.Result{Sender: ss.from, NullSender: ss.from == "", Recipient: rcpt}
}

// delivered is the reply for a recipient whose message is durable in its
// mailbox. go-smtp's own text for a nil status, "OK: queued", would read in
// the MTA's log as if the message were waiting somewhere.
var delivered = &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Delivered"}

// deliver delivers m to t and logs the one line of the delivery.
func (ss *session) deliver(m *deliver.Message, t *target, start time.Time) (err error) {
	set := ss.set
	from, to := ss.from, t.addr.Addr
	if t.child {
		// The child logs its own line, as "letterbox deliver" does.
		args := childArgs(set.ConfigPath, t.user, from, to, to, t.folder)
		err := runChild(ss.s.queues.ctx, set.Exe, args, m)
		if err != nil {
			var se *status.Error
			if !errors.As(err, &se) || se.DSN == "4.3.0" {
				set.Log.Warn("lmtp: delivery through letterbox deliver failed", "rcpt", to, "user", t.user, "err", err)
			}
		}
		return err
	}
	r := deliver.Request{
		Sender:            &from,
		OriginalRecipient: &to,
		Recipient:         &to,
		User:              func() (string, error) { return t.addr.User, nil },
		Mailbox:           t.mailbox,
		Folder:            t.folder,
		Config:            set.Config,
		Sys:               set.Sys,
		Log:               set.Log,
		Now:               set.Now,
		TempDir:           set.TempDir,
		Home:              t.home,
	}
	var res deliver.Result
	defer func() { deliver.LogResult(set.Log, res, err, start) }()
	if set.Config.LMTP.Mailbox != "" {
		// The virtual layout is ours: its directories are made on first
		// delivery, 0700, under the daemon's uid.
		if err := makeParents(set.Sys, t.mailbox); err != nil {
			res.Mailbox = t.mailbox
			return status.Of(err, t.mailbox, set.Config.QuotaTempfail)
		}
	}
	if route := r.Route(); route != deliver.RouteMbox {
		// Sieve's actions are one delivery of their own (deliver's
		// journal); only a plain mbox delivery joins the group commit.
		res, err = deliver.DeliverRoute(ss.s.queues.ctx, m, r, route)
		return err
	}
	p, err := deliver.PrepareMbox(m, r)
	res = p.Result
	if err != nil {
		return err
	}
	err = ss.s.queues.appendMbox(fmt.Sprintf("%d\x00%s", set.gen, filepath.Clean(t.mailbox)), p)
	res = p.Result
	return err
}

// makeParents creates the directories above a virtual mailbox, 0700, and
// fsyncs the directory that holds each new one (sys.MakeDirs): a 250
// promises that the message survives a crash, and a message in a directory
// whose own name was never made durable does not. A Maildir (a trailing
// "/") is itself created by deliver (create_folders), which syncs what it
// makes.
func makeParents(s sys.Sys, mailbox string) error {
	dir := filepath.Dir(strings.TrimSuffix(mailbox, "/"))
	if _, err := os.Stat(dir); err == nil {
		return nil // the common case, without a call through the seam
	}
	return sys.MakeDirs(s, dir, true)
}

var _ smtp.LMTPSession = (*session)(nil)
