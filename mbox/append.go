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
}

// bufSize is the size of the writes: large, so a big message costs few
// system calls, and fixed, so memory does not grow with the message.
const bufSize = 256 << 10

// Options tune Append.
type Options struct {
	Quoting Quoting
	// Fsync makes the append durable before Append returns. Off only for
	// benchmarks (DESIGN §7).
	Fsync bool
	// Check is called after the data is written and synced, and returns
	// an error if the mailbox lock is no longer provably held; Append then
	// rolls back. It may be nil.
	Check func() error
}

// AppendError is a failed append. Undone reports whether the mailbox was
// restored to its size before the append; when it was not (the truncate
// failed), the partial message was terminated so that later messages stay
// parseable.
type AppendError struct {
	Op     string // the step that failed: "write", "fsync", ...
	Err    error
	Undone bool
}

func (e *AppendError) Error() string {
	s := e.Op + ": " + e.Err.Error()
	if !e.Undone {
		s += " (could not undo; the partial message was terminated)"
	}
	return s
}

func (e *AppendError) Unwrap() error { return e.Err }

// Append appends m to the mbox open at fd (opened O_WRONLY|O_APPEND, or
// O_RDWR|O_APPEND for the tail check) as one transaction (DESIGN §4):
//
//   - the size before is the rollback point;
//   - if the mailbox does not end in an empty line, the missing newlines are
//     written first, so the new From_ line cannot glue onto a damaged tail;
//   - the message is written in large chunks, quoted per o.Quoting, followed
//     by one empty line;
//   - the file must have grown by exactly what was written (a writer that
//     ignores the lock would show here);
//   - fsync, then o.Check;
//   - on any failure, or when ctx ends (a signal), the file is truncated back
//     to the rollback point and that is verified with fstat; if that fails
//     too, the partial message is ended with an empty line.
//
// The caller holds the mailbox lock throughout and owes the close. It
// returns the bytes appended.
func Append(ctx context.Context, s sys.Sys, fd int, m Message, o Options) (int64, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return 0, &AppendError{Op: "fstat", Err: err, Undone: true}
	}
	start := st.Size
	w := &fdWriter{ctx: ctx, s: s, fd: fd, buf: make([]byte, 0, bufSize)}
	fail := func(op string, err error) (int64, error) {
		return 0, &AppendError{Op: op, Err: err, Undone: rollback(s, fd, start)}
	}

	tail, err := tailFix(s, fd, start)
	if err != nil {
		return 0, &AppendError{Op: "read mailbox tail", Err: err, Undone: true}
	}
	w.write(tail)
	w.write(m.FromLine)
	z := newQuoter(w, o.Quoting)
	if _, err := z.Write(m.Header); err != nil {
		return fail("write", err)
	}
	if _, err := io.CopyBuffer(z, m.Content, make([]byte, 64<<10)); err != nil {
		return fail("write", err)
	}
	if err := z.Close(); err != nil {
		return fail("write", err)
	}
	// One empty line after each message; an empty message still gets it.
	w.write([]byte("\n"))
	if err := w.flush(); err != nil {
		return fail("write", err)
	}

	after, err := s.Fstat(fd)
	if err != nil {
		return fail("fstat", err)
	}
	if after.Size != start+w.n {
		return fail("check size", fmt.Errorf("mailbox grew by %d bytes, wrote %d: another writer ignores the lock", after.Size-start, w.n))
	}
	if err := ctx.Err(); err != nil {
		return fail("write", err)
	}
	if o.Fsync {
		if err := s.Fsync(fd); err != nil {
			return fail("fsync", err)
		}
	}
	// Only a lock proven ours after the data is durable makes the append
	// valid; otherwise it is undone while the kernel lock is still held.
	if o.Check != nil {
		if err := o.Check(); err != nil {
			return fail("check lock", err)
		}
	}
	return w.n, nil
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

// rollback truncates fd back to size and verifies it. If that fails, it
// ends whatever partial message is there with an empty line, so that the
// next From_ line starts a message of its own. It reports whether the file
// is back at size.
func rollback(s sys.Sys, fd int, size int64) bool {
	if err := s.Ftruncate(fd, size); err == nil {
		if st, err := s.Fstat(fd); err == nil && st.Size == size {
			s.Fsync(fd)
			return true
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
	return false
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
