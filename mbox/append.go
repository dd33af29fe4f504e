package mbox

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// Message is what Append writes: the From_ line's sender and time come from
// the caller, then Header (the lines letterbox prepends: Return-Path,
// X-Original-To, Delivered-To, and for mboxcl2 Content-Length), then Content
// (the message itself, LF line ends, ending in a newline or empty).
type Message struct {
	FromLine []byte // from FromLine
	Header   []byte
	Content  io.Reader
	// Quoted is the size of Header and Content once quoted (QuotedSize),
	// when the caller needs Txn.Planned; Write does not use it.
	Quoted int64
}

// bufSize is the size of the writes: large, so a big message costs few
// system calls, and fixed, so memory does not grow with the message.
const bufSize = 256 << 10

// minBuf is the write buffer a transaction starts with.
const minBuf = 4 << 10

// Options tune Append.
type Options struct {
	Quoting Quoting
	// Fsync makes the append durable before Append returns. Off only for
	// benchmarks (docs/design.md §7).
	Fsync bool
	// Check is called after the data is written and synced, and returns
	// an error if the mailbox lock is no longer provably held; Append then
	// rolls back. It may be nil.
	Check func() error
}

// AppendError is a failed append. Undone reports whether the mailbox was
// restored to its size before the append. When it was not, either the
// truncate failed and the partial message was terminated so that later
// messages stay parseable, or (Left) another writer changed the mailbox
// before or during the rollback, and it was left as it was (see rollback).
type AppendError struct {
	Op     string // the step that failed: "write", "fsync", ...
	Err    error
	Undone bool
	Left   bool
}

func (e *AppendError) Error() string {
	s := e.Op + ": " + e.Err.Error()
	switch {
	case e.Left:
		s += " (not undone: another writer changed the mailbox, which was left as it was)"
	case !e.Undone:
		s += " (could not undo; the partial message was terminated)"
	}
	return s
}

func (e *AppendError) Unwrap() error { return e.Err }

// Append appends m to the mbox open at fd as one transaction: Begin, Write,
// Commit, and o.Check before the commit stands. On any failure, or when
// ctx ends (a signal), the mailbox is rolled back (Txn.Abort). The caller
// holds the mailbox lock throughout and owes the close. It returns the
// bytes appended.
func Append(ctx context.Context, s sys.Sys, fd int, m Message, o Options) (int64, error) {
	tx, err := Begin(ctx, s, fd, o.Quoting)
	if err != nil {
		return 0, err
	}
	if err := tx.Write(m); err != nil {
		return 0, err
	}
	if err := tx.Commit(o.Fsync); err != nil {
		return 0, err
	}
	// Only a lock proven ours after the data is durable makes the append
	// valid; otherwise it is undone while the kernel lock is still held.
	if o.Check != nil {
		if err := o.Check(); err != nil {
			return 0, tx.Abort("check lock", err)
		}
	}
	return tx.Size(), nil
}

// Txn is an append transaction on one mbox (docs/design.md §4): one or
// more messages written after the mailbox's end, made durable by one
// fsync, or all taken back. Its phases and what each leaves on disk:
//
//   - Begin records the size as the rollback point and reads the last two
//     bytes; nothing is written.
//   - Write appends one message: the newlines a damaged tail lacks (so the
//     new From_ line cannot glue onto it), the From_ line, the header and
//     the content quoted per the variant, and one empty line. The bytes
//     reach the file but are not durable; a crash now leaves a partial
//     message that no acknowledgement ever covered.
//   - Commit checks that the file grew by exactly what was written (a
//     writer that ignores the lock would show here) and fsyncs. After it,
//     every message written is durable; the caller proves the lock still
//     held before it acknowledges any.
//   - Abort truncates back to the rollback point and verifies it with
//     fstat; if that fails, it ends the partial data with an empty line so
//     that later messages stay parseable (AppendError.Undone is false).
//
// Every error that Write and Commit return has already aborted the
// transaction. A server appending several messages for one lock calls
// Write for each, then Commit once. The caller holds the mailbox lock
// throughout and owes the close of fd.
type Txn struct {
	ctx   context.Context
	s     sys.Sys
	fd    int
	q     Quoting
	start int64
	tail  int // the newlines Begin adds to a damaged tail
	w     *fdWriter
	// aborted: the rollback ran, with this outcome (what Abort reports
	// again when asked twice).
	aborted      bool
	undone, left bool
}

// Begin starts a transaction on the mbox open at fd (O_WRONLY|O_APPEND, or
// O_RDWR|O_APPEND for the tail check). ctx ending stops the writes.
func Begin(ctx context.Context, s sys.Sys, fd int, q Quoting) (*Txn, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return nil, &AppendError{Op: "fstat", Err: err, Undone: true}
	}
	tail, err := tailFix(s, fd, st.Size)
	if err != nil {
		return nil, &AppendError{Op: "read mailbox tail", Err: err, Undone: true}
	}
	// The write buffer grows to what the messages need (Write), up to
	// bufSize: most messages are a few KiB.
	t := &Txn{ctx: ctx, s: s, fd: fd, q: q, start: st.Size, tail: len(tail), w: &fdWriter{ctx: ctx, s: s, fd: fd, buf: make([]byte, 0, minBuf)}}
	t.w.write(tail)
	return t, nil
}

// Start is the mailbox's size when the transaction began: the rollback
// point.
func (t *Txn) Start() int64 { return t.start }

// Planned is the size the mailbox will have once msgs, each with Quoted
// set, are written by this transaction: what a lock records as the end of
// an append in progress (locking.Lock.Record).
func (t *Txn) Planned(msgs ...Message) int64 {
	end := t.start + int64(t.tail)
	for _, m := range msgs {
		end += int64(len(m.FromLine)) + m.Quoted + 1 // the empty line after it
	}
	return end
}

// Write appends m. An error means the transaction was aborted.
func (t *Txn) Write(m Message) error {
	need := int64(len(m.FromLine)) + m.Quoted + 1
	if m.Quoted <= 0 {
		need = bufSize // unknown: the most
	}
	if err := t.w.grow(int(min(need, bufSize))); err != nil {
		return t.Abort("write", err)
	}
	t.w.write(m.FromLine)
	z := newQuoter(t.w, t.q)
	if _, err := z.Write(m.Header); err != nil {
		return t.Abort("write", err)
	}
	if _, err := copyContent(z, m.Content, need); err != nil {
		return t.Abort("write", err)
	}
	if err := z.Close(); err != nil {
		return t.Abort("write", err)
	}
	// One empty line after each message; an empty message still gets it.
	t.w.write([]byte("\n"))
	if t.w.err != nil {
		return t.Abort("write", t.w.err)
	}
	return nil
}

// Commit makes what was written durable (with fsync; off only for
// benchmarks). An error means the transaction was aborted.
func (t *Txn) Commit(fsync bool) error {
	if err := t.w.flush(); err != nil {
		return t.Abort("write", err)
	}
	after, err := t.s.Fstat(t.fd)
	if err != nil {
		return t.Abort("fstat", err)
	}
	if after.Size != t.start+t.w.n {
		return t.Abort("check size", fmt.Errorf("mailbox grew by %d bytes, wrote %d: another writer ignores the lock", after.Size-t.start, t.w.n))
	}
	if err := t.ctx.Err(); err != nil {
		return t.Abort("write", err)
	}
	if fsync {
		if err := t.s.Fsync(t.fd); err != nil {
			return t.Abort("fsync", err)
		}
	}
	return nil
}

// Size is the number of bytes the transaction appended.
func (t *Txn) Size() int64 { return t.w.n }

// Abort takes back everything the transaction wrote (see Txn) and returns
// an *AppendError for the step op that failed with err. Aborting twice
// rolls back nothing more and reports the first rollback's outcome: a
// mailbox left damaged is not undone by being asked again.
func (t *Txn) Abort(op string, err error) error {
	if !t.aborted {
		t.aborted = true
		t.undone, t.left = rollback(t.s, t.fd, t.start, t.start+t.w.n)
	}
	return &AppendError{Op: op, Err: err, Undone: t.undone, Left: t.left}
}

// tailFix returns what must be written before a new message so the mailbox
// ends in an empty line: nothing, "\n" or "\n\n".
func tailFix(s sys.Sys, fd int, size int64) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	var b [2]byte
	off := max(size-2, 0)
	n, err := s.Pread(fd, b[:size-off], off)
	if err != nil {
		return nil, err
	}
	last := b[:n]
	switch {
	case len(last) == 2 && last[0] == '\n' && last[1] == '\n', len(last) == 1 && last[0] == '\n':
		return nil, nil
	case last[len(last)-1] == '\n':
		return []byte("\n"), nil
	}
	return []byte("\n\n"), nil
}

// rollback truncates fd back to start, where the transaction began, and
// verifies it. If that fails, it ends whatever partial message is there
// with an empty line, so that the next From_ line starts a message of its
// own. It reports whether the file is back at start.
//
// It truncates only a file that still ends at end, where the transaction's
// writes left it (left reports that it did not, and nothing was done). A
// mailbox that grew past end was appended to by a writer that did not see
// our lock — ours was lost, displaced on NFS while the kernel lock was
// gone too (docs/locking.md §10.9) — and cutting it back would destroy
// that writer's message, which it may have acknowledged already; one cut
// below end would be extended with NUL bytes by a truncate to start. Our
// message then stays, and the MTA's retry may store it twice: a duplicate
// rather than the other's loss. (Writes that overlapped no rollback can
// take apart; that is why locking refuses a kernel lock that stays on the
// client.) A size that cannot be read is no sign of another writer:
// the truncate goes ahead. A file that is not at start after the truncate
// has been written by another writer meanwhile: it is left as it is too,
// for the empty line would land in the middle of that writer's message.
func rollback(s sys.Sys, fd int, start, end int64) (undone, left bool) {
	if st, err := s.Fstat(fd); err == nil && st.Size != end {
		return false, true
	}
	if err := s.Ftruncate(fd, start); err == nil {
		if st, err := s.Fstat(fd); err == nil {
			s.Fsync(fd)
			return st.Size == start, st.Size != start
		}
	}
	terminate := []byte("\n\n")
	for len(terminate) > 0 {
		n, err := s.Write(fd, terminate)
		if err != nil {
			break
		}
		terminate = terminate[n:]
	}
	s.Fsync(fd)
	return false, false
}

// fdWriter buffers writes to fd into chunks of bufSize and stops at the
// first error or when ctx ends. It counts what reached the file.
type fdWriter struct {
	ctx context.Context
	s   sys.Sys
	fd  int
	buf []byte
	n   int64
	err error
}

func (w *fdWriter) Write(p []byte) (int, error) {
	w.write(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func (w *fdWriter) write(p []byte) {
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.flush()
			continue
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
	}
}

// grow makes the buffer hold at least n bytes, after writing out what it
// holds.
func (w *fdWriter) grow(n int) error {
	if cap(w.buf) >= n {
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.buf = make([]byte, 0, n)
	return nil
}

// flush writes the buffer, handling short writes.
func (w *fdWriter) flush() error {
	for len(w.buf) > 0 && w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			break
		}
		n, err := w.s.Write(w.fd, w.buf)
		w.n += int64(max(n, 0))
		switch {
		case err != nil:
			w.err = err
		case n == 0:
			w.err = unix.EIO // a write that writes nothing would loop forever
		default:
			w.buf = w.buf[:copy(w.buf, w.buf[n:])]
		}
	}
	return w.err
}
