package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"letterbox/config"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/maildir"
	"letterbox/mailflag"
	"letterbox/mbox"
	"letterbox/safeopen"
)

// Request is one delivery: where the message comes from, the envelope as
// the MTA gave it, and where it goes.
type Request struct {
	Input io.Reader // the message, read to EOF before anything is locked or created (Deliver only)

	// The envelope from flags; nil means the flag was not given, so the
	// environment, a leading From_ line or the MTA's envelope block decide.
	Sender            *string
	OriginalRecipient *string
	Recipient         *string
	LookupEnv         func(string) (string, bool) // os.LookupEnv
	// User names the account delivered for, for the default recipient
	// USER@hostname (Recipient.Name); nil: no default.
	User func() (string, error)

	Mailbox string // the destination path: an mbox file, or a Maildir
	// Maildir forces (true) Maildir delivery; otherwise a Mailbox that ends
	// in "/" or is an existing Maildir is one, and anything else an mbox.
	Maildir bool
	// Folder is a Maildir++ folder below a Maildir Mailbox ("" for INBOX).
	Folder  string
	Config  config.Config
	Sys     sys.Sys
	Log     *slog.Logger
	Now     func() time.Time // the From_ line's time; local time
	TempDir string           // where a large message is spooled
	// Home is the recipient's home directory, for the "~/" paths of the
	// Sieve settings; "" means none (no personal script).
	Home string

	// Set per step of a delivery through Sieve (filter.go).
	flags        mailflag.State // the stored message's flags
	createFolder bool           // fileinto :create: make Folder even without create_folders
}

// Result describes a delivery, for its log line (LogResult): what is
// known of it also when it failed.
type Result struct {
	// The envelope, once decided (Envelope). A Result with neither a
	// Sender nor NullSender has no known sender: the delivery failed
	// before the envelope was decided.
	Sender, OriginalRecipient, Recipient string
	NullSender                           bool
	// Mailbox is the mbox the message went to, or its file in a Maildir;
	// for a delivery through Sieve, the default mailbox.
	Mailbox string
	// Done is what became of the message, in the words of the log line:
	// "delivered to mbox /var/mail/u", "delivered to maildir
	// /home/u/Maildir/.Lists.go, redirected to <a@b>", "discarded by
	// sieve". On a failure, what was done before it ("" for nothing).
	Done string
	Size int64 // bytes stored
}

// memMax is how much of a message is spooled in memory; the rest goes to an
// unlinked temporary file, so memory does not grow with the message.
const memMax = 1 << 20

// maxHeader bounds the part of the message that is scanned for the
// envelope block and Delivered-To: loops.
const maxHeader = 1 << 20

// Message is a message read from the MTA once, normalised and spooled
// (docs/design.md §3), to be delivered to any number of recipients.
// A Message may be delivered to several recipients at once, from several
// goroutines; Close comes after the last delivery.
type Message struct {
	sp   *Spool
	scan Scan // the header scan, up to maxHeader bytes

	mu   sync.Mutex
	full *Scan // the scan of the whole header section, when scan stopped short (fullScan)
}

// ReadMessage reads r to EOF into a Message: in memory up to 1 MiB, then in
// an unlinked file in tempDir, so memory does not grow with the message.
// With a message_size_limit in c, it stops reading once the message is
// more than maxHeader bytes over it — more than any envelope block or
// stripped field could take off — and refuses it with the size policy's
// status, so a huge message is not first spooled to its end (and a full
// temporary directory is not what the MTA is told). Its errors are
// *status.Error. The caller owes Close.
func ReadMessage(r io.Reader, tempDir string, c config.Config) (*Message, error) {
	var max int64
	if lim := c.MessageSizeLimit; lim > 0 {
		max = lim + maxHeader
	}
	sp, err := newSpool(r, tempDir, memMax, max)
	if errors.Is(err, ErrTooLarge) {
		return nil, status.Size(c.QuotaTempfail, fmt.Errorf("message of more than %d bytes exceeds message_size_limit %d; not read to its end", max, c.MessageSizeLimit))
	}
	if err != nil {
		return nil, status.Temp("4.3.0", fmt.Errorf("read message: %w", err))
	}
	scan, err := ScanHeader(sp.Open(), maxHeader)
	if err != nil {
		sp.Close()
		return nil, status.Temp("4.3.0", fmt.Errorf("read message header: %w", err))
	}
	return &Message{sp: sp, scan: scan}, nil
}

// Size is the number of bytes of the normalised message.
func (m *Message) Size() int64 { return m.sp.Size() }

// Reader returns a new reader of the normalised message from its start (no
// leading From_ line, LF line ends), to hand the message to another
// process: "letterbox deliver" reading it gets the same Message.
func (m *Message) Reader() io.Reader { return m.sp.Open() }

// Close releases the spooled message.
func (m *Message) Close() error { return m.sp.Close() }

// Deliver reads r.Input (ReadMessage) and delivers it (DeliverMessage): the
// pipe delivery agent's one message for one recipient.
func Deliver(ctx context.Context, r Request) (Result, error) {
	m, err := ReadMessage(r.Input, r.TempDir, r.Config)
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	return DeliverMessage(ctx, m, r)
}

// Route is the way a delivery goes (Request.Route).
type Route int

const (
	// RouteMbox appends to an mbox under the lock: what the LMTP server
	// gathers into group commits (PrepareMbox, AppendBatch).
	RouteMbox Route = iota
	// RouteMaildir stores a file in a Maildir.
	RouteMaildir
	// RouteSieve runs the recipient's Sieve scripts and carries out what
	// they ask as one delivery (filter.go).
	RouteSieve
)

// Route decides the way a delivery for r goes, once: it stats the
// recipient's script (Filtered) and the mailbox (ToMaildir), which on an
// NFS home or spool are round trips to the server.
func (r Request) Route() Route {
	switch {
	case r.Filtered():
		return RouteSieve
	case r.ToMaildir():
		return RouteMaildir
	}
	return RouteMbox
}

// DeliverMessage delivers m for the recipient r describes (r.Input is not
// read): it decides the envelope, takes the MTA's envelope block off the
// top, checks for a Delivered-To: loop and the size limits, and stores the
// message in the Maildir or appends it to the mbox under the mailbox lock
// (docs/design.md §3). It returns nil only when the message is durable and
// every lock is released; otherwise a *status.Error with the DSN and exit
// code of the docs/design.md §2.1 table. m may be delivered again, for
// another recipient.
func DeliverMessage(ctx context.Context, m *Message, r Request) (Result, error) {
	return DeliverRoute(ctx, m, r, r.Route())
}

// DeliverRoute is DeliverMessage along route, which r.Route decided: for a
// caller that needed the decision first (the LMTP server, to choose
// between its group commit and this).
func DeliverRoute(ctx context.Context, m *Message, r Request, route Route) (Result, error) {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	switch route {
	case RouteSieve:
		return deliverFiltered(ctx, m, r)
	case RouteMaildir:
		env, res, err := envelope(m, r)
		if err != nil {
			return res, err
		}
		n, path, err := deliverMaildir(r, m, envelopeHeader(env))
		res.Size, res.Mailbox = n, path
		if err == nil {
			res.Done = toMaildir(path)
		}
		return res, err
	}
	p, err := PrepareMbox(m, r)
	if err != nil {
		return p.Result, err
	}
	errs := AppendBatch(ctx, []*Prepared{p})
	return p.Result, errs[0]
}

// ToMaildir reports whether r's destination is a Maildir: forced by
// r.Maildir, a Mailbox ending in "/", or an existing Maildir. Anything else
// is an mbox, appended to under the lock.
func (r Request) ToMaildir() bool {
	return r.Maildir || strings.HasSuffix(r.Mailbox, "/") || maildir.Is(r.Sys, r.Mailbox)
}

// envelope decides the envelope of m for r and refuses a Delivered-To:
// loop. The Result names sender, recipient and mailbox even on error, for
// the log line.
func envelope(m *Message, r Request) (Envelope, Result, error) {
	var res Result
	fromSender, hasFrom := m.sp.FromSender()
	env, err := Resolve(Sources{
		Sender: r.Sender, OriginalRecipient: r.OriginalRecipient, Recipient: r.Recipient,
		LookupEnv: r.LookupEnv, FromSender: fromSender, HasFrom: hasFrom, Scan: m.scan, User: r.User,
	})
	if err != nil {
		return env, res, err
	}
	res.Sender, res.NullSender, res.OriginalRecipient, res.Recipient = env.Sender, env.NullSender, env.OriginalRecipient, env.Recipient
	res.Mailbox = r.Mailbox
	if IsLoop(m.scan, env.Recipient) {
		return env, res, status.Perm("5.4.6", status.DataErr, fmt.Errorf("mail forwarding loop for %s", env.Recipient))
	}
	return env, res, nil
}

// Prepared is one message made ready for an mbox append (PrepareMbox), to
// be appended with others to the same mbox under one lock (AppendBatch).
type Prepared struct {
	// Result is what is known of the delivery: sender, recipient and
	// mailbox once the envelope is decided (also when PrepareMbox
	// fails, for the log line), and Size once AppendBatch has appended it.
	Result Result

	req  Request
	msg  mbox.Message
	size int64 // what the size limits count
}

// PrepareMbox is the part of DeliverMessage that comes before the mbox is
// touched, for the mbox r.Mailbox (r must not be ToMaildir): it decides
// the envelope, refuses a Delivered-To: loop, builds the From_ line and
// the prepended header, and checks message_size_limit. Its disk effects:
// none on the mail store; it only reads m's spool. It returns a non-nil
// *Prepared also with an error (a *status.Error), whose Result names what
// is known for the log line. A Folder in r is ignored with a warning, as
// DeliverMessage ignores it for an mbox. m must stay open until the
// Prepared is appended.
func PrepareMbox(m *Message, r Request) (*Prepared, error) {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	p := &Prepared{req: r}
	env, res, err := envelope(m, r)
	p.Result = res
	if err != nil {
		return p, err
	}
	if r.Folder != "" {
		// Folders are Maildir++ folders. Like dovecot-lda with a folder it
		// cannot use, the message goes to INBOX rather than bounce.
		r.Log.Warn("folder ignored: the mailbox is an mbox; delivering to it", "folder", r.Folder, "mailbox", r.Mailbox)
	}
	hdr := envelopeHeader(env)
	if r.flags.Cur {
		// Flags set by Sieve, as mutt and Dovecot read them (mailflag).
		hdr = append(hdr, r.flags.MboxLines()...)
	}
	p.msg, p.size, err = mboxMessage(r, m, env, hdr)
	return p, err
}

// AppendBatch appends every message of batch to their one mbox (all must
// have been prepared for the same Mailbox, Config and Sys; the first one's
// are used) as one transaction: it takes the mailbox lock once, checks
// mailbox_size_limit for the batch as a whole, writes every message, fsyncs
// once, proves the lock still ours, and releases it (docs/design.md §4).
// Its disk effects: the mbox is created (0600) if missing, and either every
// message is durably appended or the mbox is truncated back to its size
// before — never a part of the batch. It returns one error per message, in
// order: all nil (every message durable, the lock released) or all the
// same *status.Error; nothing of a failed batch may be acknowledged. Each
// successful Prepared gets its Result.Size (the bytes of the whole append
// when the batch holds one message, as DeliverMessage reports it).
func AppendBatch(ctx context.Context, batch []*Prepared) []error {
	errs := make([]error, len(batch))
	if len(batch) == 0 {
		return errs
	}
	r := batch[0].req
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	msgs := make([]mbox.Message, len(batch))
	var size int64
	for i, p := range batch {
		if p.req.Mailbox != r.Mailbox {
			return fail(status.Temp("4.3.0", fmt.Errorf("BUG: one batch for mailboxes %s and %s", r.Mailbox, p.req.Mailbox)))
		}
		msgs[i] = p.msg
		size += p.size
	}
	pol := r.Config.LockPolicy()
	lk, err := locking.Acquire(ctx, r.Mailbox, pol.Methods, pol.Options(r.Sys, r.Log),
		&safeopen.Options{Mode: safeopen.Append, Owner: safeopen.Owner(r.Config.StrictOwnership)})
	if err != nil {
		return fail(status.Of(err, r.Mailbox, r.Config.QuotaTempfail))
	}
	n, err := appendLocked(ctx, r, lk, msgs, size)
	switch rerr := lk.Release(); {
	case err != nil || rerr == nil:
	case errors.Is(rerr, locking.ErrLost):
		// The dot-lock was taken away after the commit: appendLocked proved
		// it ours (Check) after the message was fsynced, so no one wrote
		// while we did, and the kernel lock, still held, kept everyone
		// out until now. The message stands; reporting a failure would
		// make the MTA deliver it twice (a replayed rename of someone
		// else's release does this on NFS: internal/nfstest).
		r.Log.Warn("delivered, but the dot-lock was displaced after the commit", "mailbox", r.Mailbox, "err", rerr)
	default:
		// Unlock or close failed after the message was fsynced and the lock
		// proven ours: the delivery stands (a retry would duplicate it);
		// the lock file, if left, ages out.
		r.Log.Warn("delivered, but releasing the mailbox failed", "mailbox", r.Mailbox, "err", rerr)
	}
	if err != nil {
		return fail(err)
	}
	for _, p := range batch {
		p.Result.Size = int64(len(p.msg.FromLine)) + p.msg.Quoted + 1
		p.Result.Done = toMbox(r.Mailbox)
	}
	if len(batch) == 1 {
		batch[0].Result.Size = n
	}
	return errs
}

// mboxMessage is m as the mbox append writes it for the envelope env, with
// header prepended: the From_ line, the header with an exact Content-Length
// in mboxcl2, the stored content (stored), and the size it takes once
// quoted (for the end the lock records). size is what message_size_limit
// and mailbox_size_limit count, checked here against the former.
func mboxMessage(r Request, m *Message, env Envelope, header []byte) (msg mbox.Message, size int64, err error) {
	q := r.Config.Quoting()
	// Readers of mboxcl2 trust Content-Length instead of quoting: the
	// message's own must go, and ours must be exact.
	strip := r.Config.StripMboxPrivateHeaders || q == mbox.MboxCL2
	readErr := func(err error) (mbox.Message, int64, error) {
		return mbox.Message{}, 0, status.Temp("4.3.0", fmt.Errorf("read message: %w", err))
	}
	content, size, _, err := m.stored(strip)
	if err != nil {
		return readErr(err)
	}
	if q == mbox.MboxCL2 {
		// Content-Length counts the body as written, quoted.
		body, err := m.quotedBody(writeQuoting(q))
		if err != nil {
			return readErr(err)
		}
		header = append(header, fmt.Sprintf("Content-Length: %d\n", body)...)
	}
	size += int64(len(header))
	if err := messageLimit(r.Config, size); err != nil {
		return mbox.Message{}, 0, err
	}
	msg = mbox.Message{
		FromLine: mbox.FromLine(mbox.SenderToken(env.Sender, mbox.EachRun), r.Now()),
		Header:   header,
		Content:  content,
	}
	// The size once quoted: the message read once more, from the spool.
	again, _, _, err := m.stored(strip)
	if err == nil {
		msg.Quoted, err = mbox.QuotedSize(io.MultiReader(bytes.NewReader(header), again), writeQuoting(q))
	}
	if err != nil {
		return readErr(err)
	}
	return msg, size, nil
}

// appendLocked appends msgs (size bytes in all, before quoting) to the
// locked mailbox as one transaction (mbox.Txn): every message written, one
// fsync, then the lock proven ours — or everything taken back. Nothing may
// be acknowledged before it returns nil. It returns the bytes appended.
func appendLocked(ctx context.Context, r Request, lk *locking.Lock, msgs []mbox.Message, size int64) (int64, error) {
	fd := lk.FD()
	st, err := safeopen.Recheck(r.Sys, fd, r.Mailbox)
	if err != nil {
		return 0, status.Of(err, r.Mailbox, r.Config.QuotaTempfail)
	}
	if lim := r.Config.MailboxSizeLimit; lim > 0 && st.Size+size > lim {
		return 0, status.Size(r.Config.QuotaTempfail, fmt.Errorf("%s: mailbox of %d bytes plus message of %d exceeds mailbox_size_limit %d", r.Mailbox, st.Size, size, lim))
	}
	// A lock lost while writing stops the writes at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lk.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
	fail := func(err error) (int64, error) {
		if lerr := lk.Check(); lerr != nil && errors.Is(err, context.Canceled) {
			err = lerr // the writes stopped because the lock was lost
		}
		return 0, status.Of(err, r.Mailbox, r.Config.QuotaTempfail)
	}
	tx, err := mbox.Begin(ctx, r.Sys, fd, writeQuoting(r.Config.Quoting()))
	if err != nil {
		return fail(err)
	}
	// Should we die half-way, whoever breaks our lock takes the partial
	// message back (locking.Lock.Record).
	if err := lk.Record(tx.Start(), tx.Planned(msgs...)); err != nil {
		return fail(tx.Abort("record the append in the lock", err))
	}
	for _, m := range msgs {
		if err := tx.Write(m); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(r.Config.Fsync); err != nil {
		return fail(err)
	}
	if got, planned := tx.Start()+tx.Size(), tx.Planned(msgs...); got != planned {
		// A record that overstates the end would let a breaker take back
		// this whole append if we died before releasing: say the truth.
		r.Log.Error("BUG: append ended elsewhere than recorded", "mailbox", r.Mailbox, "planned", planned, "ended", got)
		if err := lk.Record(tx.Start(), got); err != nil {
			return fail(tx.Abort("record the append in the lock", err))
		}
	}
	// Only a lock proven ours after the data is durable makes the append
	// valid; otherwise it is undone while the kernel lock is still held.
	if err := lk.Check(); err != nil {
		return fail(tx.Abort("check lock", err))
	}
	return tx.Size(), nil
}

// writeQuoting is how a body is quoted in an mbox of variant q. mboxcl2
// readers frame messages by Content-Length, but many readers of mailboxes
// (Python's mailbox, formail, scripts) split at every line that begins
// with "From " whatever the header says; an unquoted one would let a sender
// inject a message of his own. So with Content-Length, "From " lines are
// quoted as mboxo quotes them, which makes the mailbox mboxcl, as mutt
// writes it: lossy as mboxo is (a body line "From x" reads back as
// ">From x" in a reader that trusts Content-Length), and framed the same
// by every reader.
func writeQuoting(q mbox.Quoting) mbox.Quoting {
	if q == mbox.MboxCL2 {
		return mbox.MboxO
	}
	return q
}

// envelopeHeader is what letterbox prepends: Return-Path, X-Original-To
// (when known), Delivered-To — Postfix's order.
func envelopeHeader(env Envelope) []byte {
	var b strings.Builder
	if env.NullSender {
		b.WriteString("Return-Path: <>\n")
	} else {
		fmt.Fprintf(&b, "Return-Path: <%s>\n", env.Sender)
	}
	if env.OriginalRecipient != "" {
		fmt.Fprintf(&b, "X-Original-To: %s\n", env.OriginalRecipient)
	}
	fmt.Fprintf(&b, "Delivered-To: %s\n", env.Recipient)
	return []byte(b.String())
}

// messageLimit checks message_size_limit before anything is written.
func messageLimit(c config.Config, size int64) error {
	if lim := c.MessageSizeLimit; lim > 0 && size > lim {
		return status.Size(c.QuotaTempfail, fmt.Errorf("message of %d bytes exceeds message_size_limit %d", size, lim))
	}
	return nil
}
