package mbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The reader's limits. All memory is fixed: the bufio buffer plus at most
// MaxFromLine bytes kept of each From_ line (fromline.go, which also says
// why that is enough for every From_ line letterbox writes).
const (
	// readBufSize is the bufio buffer. A Content-Length body that fits in
	// it can be checked before any of it is returned, on any input.
	readBufSize = 64 << 10
	// maxCLLine is the longest Content-Length header line understood.
	maxCLLine = 256
)

// crlfFrom is the longest separator the Content-Length check looks for
// after a body: the empty line, then the next From_ line.
const crlfFrom = "\r\nFrom "

// Entry is one message found by Reader.Next.
//
// Length and Truncated describe where the message ends, which a streaming
// reader knows only when it gets there: they are set (in the Entry that Next
// returned) once Read has returned io.EOF for the message, or by the next
// call to Next, which skips what was left unread. Before that they are zero.
type Entry struct {
	// FromLine is the From_ line without "From " and without the line end
	// ("\n" or "\r\n"), e.g. "alice@example.org  Sun Nov 22 09:00:00 2026".
	// Only its first MaxFromLine bytes are kept: all of any line FromLine
	// writes.
	FromLine string
	// Sender is the envelope sender: the first word of FromLine, or the
	// words before the date when the sender was written with spaces
	// (`"john doe"@x`). The null sender, written as MAILER-DAEMON, "<>",
	// or not at all (the date right after "From "), is NullSender.
	Sender string
	// Date is the asctime date of the From_ line ("Sun Nov 22 09:00:00
	// 2026", also without seconds or with a zone name before the year) in
	// time.Local, as the From_ line is written in local time. A zone name
	// or offset in the line is ignored. Zero if the line has no such date.
	Date time.Time
	// Offset is the byte offset of the From_ line in the stream, counted
	// from where the Reader started reading.
	Offset int64
	// Length is the number of bytes from Offset up to the next From_ line
	// or the end of the stream: the From_ line, the quoted content and the
	// separating empty line. Set lazily, see above.
	Length int64
	// Truncated reports that the message did not end the way a writer ends
	// it: the stream ended without the separating empty line (a last
	// message cut short, possibly in the middle of a line), or the next
	// From_ line followed without an empty line before it (see Reader).
	// The content is returned as it is. Set lazily, see above.
	Truncated bool

	cl clState // for DetectQuoting
}

// clState is what became of a message's Content-Length header.
type clState uint8

const (
	clNone     clState = iota // no usable header, or the message has no body
	clUsed                    // checked and used to find the message end
	clWrong                   // the bytes after the body are not a separator
	clMissing                 // the message has a body and no usable Content-Length
	clShort                   // the stream ends before the body does
	clUnproven                // could not be checked (large body, unseekable input)
)

// FormatError is returned by Next when the stream holds data where a From_
// line should be: before the first message (anything but empty lines), or
// data that does not begin with "From " when the input changed under the
// reader. The data is skipped up to the next From_ line; calling Next again
// goes on with that message, so a caller may choose to ignore the error.
type FormatError struct {
	Offset int64 // where the data starts
	Length int64 // how many bytes were skipped
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("mbox: %d bytes at offset %d are not a message (no From_ line)", e.Length, e.Offset)
}

// Reader reads the messages of an mbox stream one at a time, in constant
// memory whatever the size of a message or a line: a line of 100 MB or a run
// of a million '>' before "From " streams through a fixed buffer.
//
// Where a message ends. A message runs from its From_ line to the next
// From_ line or the end of the stream. A line beginning with "From " starts
// a new message when
//
//   - it follows an empty line ("\n" or "\r\n"), or is the first line of the
//     stream (after any empty lines, which are skipped): the strict rule of
//     formail and mutt, and what every writer produces; or
//   - in MboxRD and MboxO only, it follows a non-empty line but looks like a
//     real From_ line: "From ", one sender word, then a valid asctime date
//     ("Sun Nov 22 09:00:00 2026", optionally without seconds, with a zone
//     name before the year, and followed by nothing but a numeric zone or
//     "remote from ..."), within MaxFromLine bytes. A writer of these variants
//     quotes every body line that begins with "From ", so an unquoted one
//     that parses as a From_ line is a message whose predecessor lost its
//     empty line (a writer that died, or a tool that appends carelessly).
//     The message before it is reported Truncated. Python's mailbox.mbox
//     splits at every "From " line; this rule is narrower so that a broken
//     quoter does not cut a body at "From here on, ...". MboxCL2 bodies
//     are not quoted, so there only the strict rule (and Content-Length)
//     applies.
//
// The empty line before the next From_ line, or before the end of the
// stream, is the separator the writer adds; it is not part of the content.
// Other empty lines are.
//
// Un-quoting, done on every line, header included (a writer quotes any
// line): MboxRD removes one '>' from lines matching ^>+From ; MboxO removes
// one '>' from lines matching ^>From  (mboxo is lossy: a body line that was
// ">From " comes back as "From "); MboxCL2 removes nothing.
//
// Content-Length (MboxCL2 only): if the header has one valid
// "Content-Length: N" (several that disagree count as none), the body is
// the N bytes after the header's empty line, provided what follows them is
// the separator and a From_ line, or the separator and the end of the
// stream, or the end of the stream (reported Truncated). That is checked
// before any of the body is returned: by looking ahead in the buffer when
// the body is below 64 KiB, otherwise by ReadAt when the input is an
// io.ReaderAt and io.Seeker (a regular *os.File, *bytes.Reader,
// *io.SectionReader). When the check fails, or cannot be made (a larger
// body on a pipe), the From_ line rule above decides instead.
//
// Line ends: "\r\n" counts as a line end for finding empty lines and From_
// lines; the content is returned byte for byte as it is.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	size int // of br's buffer
	q    Quoting
	ra   io.ReaderAt // for checking Content-Length beyond the buffer; may be nil
	base int64       // offset in ra of the stream's first byte

	pos     int64 // stream offset of the next byte in br
	err     error // sticky read error
	started bool

	cur  *Entry
	open bool // positioned inside cur's content

	// Where the content reading is, within cur.
	lineStart bool  // the next byte starts a line
	gtRun     bool  // MboxRD: in a line's leading run of '>', the first one held back
	inHeader  bool  // before the first empty line
	clen      int64 // Content-Length from the header, -1 if none
	clBad     bool  // Content-Length headers that disagree or cannot be parsed
	clPending bool  // the current line is the header's empty line; a checked body of clen follows
	body      int64 // bytes of a checked Content-Length body still to read, -1 when not in one
	lastNL    bool  // in a body: the last byte read was '\n'

	scratch []byte // for skipping unread content
}

// NewReader returns a Reader of the mbox stream r, un-quoting as q says.
// If r is an io.ReaderAt and io.Seeker (a regular file), it is used to check
// Content-Length headers of large messages; reading starts at r's current
// offset.
func NewReader(r io.Reader, q Quoting) *Reader {
	return newReaderSize(r, q, readBufSize)
}

// newReaderSize is NewReader with another buffer size (at least 64), for
// tests of buffer boundaries.
func newReaderSize(r io.Reader, q Quoting, size int) *Reader {
	size = max(size, 64)
	z := &Reader{q: q}
	if ra, ok := r.(io.ReaderAt); ok {
		if s, ok := r.(io.Seeker); ok {
			if off, err := s.Seek(0, io.SeekCurrent); err == nil {
				z.ra, z.base = ra, off
			}
		}
	}
	z.br = bufio.NewReaderSize(r, size)
	z.size = z.br.Size()
	return z
}

// Next advances to the next message and returns it, positioned at its
// content; it skips what was left unread of the previous one. It returns
// io.EOF after the last message, a *FormatError for data that is not a
// message (skipped, see FormatError), or the error of the underlying reader.
func (r *Reader) Next() (*Entry, error) {
	if r.open {
		r.skip()
	}
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		for {
			b, err := r.peek(2)
			if err != nil {
				return nil, r.fail(err)
			}
			if n := emptyLine(b); n > 0 {
				r.consume(n)
				continue
			}
			break
		}
	}
	b, err := r.peek(len(fromPrefix))
	if err != nil {
		return nil, r.fail(err)
	}
	if len(b) == 0 {
		return nil, io.EOF
	}
	if !bytes.Equal(b, fromPrefix) {
		// Not a message: skip it as if it were one, up to the next From_
		// line that the rules recognise.
		off := r.pos
		r.begin(&Entry{Offset: off}, false)
		r.skip()
		if r.err != nil {
			return nil, r.err
		}
		return nil, &FormatError{Offset: off, Length: r.pos - off}
	}

	m := &Entry{Offset: r.pos}
	r.consume(len(fromPrefix))
	var line []byte
	nl := false
	for !nl {
		b, err := r.avail()
		if err != nil {
			return nil, r.fail(err)
		}
		if len(b) == 0 {
			break // the stream ends in the From_ line
		}
		seg := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			seg, nl = b[:i], true
		}
		if room := MaxFromLine - len(line); room > 0 {
			if line == nil {
				line = make([]byte, 0, min(MaxFromLine, 128))
			}
			line = append(line, seg[:min(room, len(seg))]...)
		}
		if nl {
			r.consume(len(seg) + 1)
		} else {
			r.consume(len(seg))
		}
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	m.FromLine = string(line)
	m.Sender, m.Date, _ = ParseFromLine(m.FromLine, SenderBeforeDate)
	r.begin(m, true)
	if !nl {
		r.end(true)
	}
	return m, nil
}

// Read reads the content of the current message: header and body,
// un-quoted, without the From_ line and without the separating empty line.
// It returns io.EOF at the end of the message, and before the first Next.
func (r *Reader) Read(p []byte) (int, error) {
	if !r.open {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) && r.open {
		var k int
		var err error
		switch {
		case r.body >= 0:
			k, err = r.readBody(p[n:])
		case r.gtRun:
			k, err = r.readGT(p[n:])
		case r.lineStart:
			err = r.startLine()
		default:
			k, err = r.readLine(p[n:])
		}
		n += k
		if err != nil {
			r.fail(err)
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// skip reads the rest of the current message and drops it.
func (r *Reader) skip() {
	if r.scratch == nil {
		r.scratch = make([]byte, 32<<10)
	}
	for r.open && r.err == nil {
		if _, err := r.Read(r.scratch); err != nil {
			break
		}
	}
}

// begin starts reading content at the current position for m.
func (r *Reader) begin(m *Entry, message bool) {
	r.cur, r.open = m, true
	r.lineStart, r.gtRun = true, false
	r.inHeader = message
	r.clen, r.clBad, r.clPending = -1, false, false
	r.body, r.lastNL = -1, false
}

// end ends the current message at the current position.
func (r *Reader) end(truncated bool) {
	r.cur.Length = r.pos - r.cur.Offset
	r.cur.Truncated = truncated
	r.open = false
}

func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// peek returns the next n bytes (at most the buffer size), fewer only at
// the end of the stream. The error is that of the underlying reader, never
// io.EOF.
func (r *Reader) peek(n int) ([]byte, error) {
	b, err := r.br.Peek(min(n, r.size))
	if err == io.EOF || err == bufio.ErrBufferFull {
		err = nil
	}
	return b, err
}

// avail returns the buffered bytes, reading more if there are none; empty
// at the end of the stream.
func (r *Reader) avail() ([]byte, error) {
	if r.br.Buffered() == 0 {
		if b, err := r.peek(1); err != nil || len(b) == 0 {
			return nil, err
		}
	}
	b, _ := r.br.Peek(r.br.Buffered())
	return b, nil
}

func (r *Reader) consume(n int) {
	r.br.Discard(n) // n bytes are buffered: cannot fail
	r.pos += int64(n)
}

// emptyLine returns the length of the empty line b begins with, or 0.
func emptyLine(b []byte) int {
	switch {
	case len(b) >= 1 && b[0] == '\n':
		return 1
	case len(b) >= 2 && b[0] == '\r' && b[1] == '\n':
		return 2
	}
	return 0
}

// startLine looks at the beginning of a line: it ends the message there,
// or drops a quoting '>', or notes a Content-Length header; it returns no
// content (readLine and readGT do).
func (r *Reader) startLine() error {
	b, err := r.peek(2)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		// The stream ends where a line would start: the separating empty
		// line is missing.
		r.end(true)
		return nil
	}
	if n := emptyLine(b); n > 0 {
		st := clNone
		if r.inHeader {
			r.inHeader = false
			if r.clen >= 0 && !r.clBad {
				if st, err = r.checkCL(n); err != nil {
					return err
				}
				if st == clUsed {
					r.cur.cl = st
					r.clPending, r.lineStart = true, false
					return nil
				}
			}
		}
		nb, err := r.peek(n + len(fromPrefix))
		if err != nil {
			return err
		}
		if len(nb) == n || bytes.HasPrefix(nb[n:], fromPrefix) {
			// The separator. A header-only message with a Content-Length
			// (of 0) ends here too, and its header is not held against it;
			// one that claimed a body has a wrong Content-Length.
			if st == clWrong && r.clen > 0 {
				r.cur.cl = clWrong
			}
			r.consume(n)
			r.end(false)
			return nil
		}
		if st == clNone {
			st = clMissing
		}
		r.cur.cl = st
		r.lineStart = false // an empty line of the content
		return nil
	}

	if r.inHeader && r.q == MboxCL2 {
		if err := r.headerLine(); err != nil {
			return err
		}
	}
	switch {
	case r.q == MboxRD && b[0] == '>':
		r.consume(1)
		r.gtRun = true
	case r.q == MboxO && b[0] == '>':
		nb, err := r.peek(6)
		if err != nil {
			return err
		}
		if bytes.Equal(nb[1:], fromPrefix) {
			r.consume(1)
		}
	case r.q != MboxCL2 && b[0] == 'F':
		ok, err := r.fromLineFollows()
		if err != nil {
			return err
		}
		if ok {
			r.end(true)
			return nil
		}
	}
	r.lineStart = false
	return nil
}

// fromLineFollows reports whether the line at the current position is a
// real From_ line by the lenient rule.
func (r *Reader) fromLineFollows() (bool, error) {
	n := MaxFromLine + len(fromPrefix) + 2
	b, err := r.peek(n)
	if err != nil || !bytes.HasPrefix(b, fromPrefix) {
		return false, err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	} else if len(b) == min(n, r.size) {
		return false, nil // too long for a From_ line
	}
	b = bytes.TrimSuffix(b[len(fromPrefix):], []byte("\r"))
	_, _, real := ParseFromLine(string(b), SenderBeforeDate)
	return real, nil
}

// headerLine notes a Content-Length header at the current position.
func (r *Reader) headerLine() error {
	const name = "content-length:"
	b, err := r.peek(maxCLLine)
	if err != nil {
		return err
	}
	if len(b) < len(name) || !bytes.EqualFold(b[:len(name)], []byte(name)) {
		return nil
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	} else if len(b) == min(maxCLLine, r.size) {
		r.clBad = true // too long to be a number
		return nil
	}
	v := strings.Trim(string(b[len(name):]), " \t\r")
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n > 1<<62 || v[0] == '+' || v[0] == '-':
		r.clBad = true // 1<<62: no file is that large, and offsets cannot overflow
	case r.clen >= 0 && r.clen != n:
		r.clBad = true
	default:
		r.clen = n
	}
	return nil
}

// checkCL checks that the clen bytes after the header's empty line (of
// length n, at the current position) are followed by a separator and a
// From_ line, or the end of the stream.
func (r *Reader) checkCL(n int) (clState, error) {
	need := int64(n) + r.clen // from the current position to the body's end
	var tail []byte
	if need <= int64(r.size-len(crlfFrom)) {
		b, err := r.peek(int(need) + len(crlfFrom))
		if err != nil {
			return clNone, err
		}
		if int64(len(b)) < need {
			return clShort, nil
		}
		tail = b[need:]
	} else if r.ra != nil {
		// Read from the body's last byte, so that a body ending exactly
		// at the end of the file is told from one that runs past it.
		var buf [1 + len(crlfFrom)]byte
		k, err := r.ra.ReadAt(buf[:], r.base+r.pos+need-1)
		switch {
		case k == 0 && (err == nil || err == io.EOF):
			return clShort, nil
		case k == 0 || (err != nil && err != io.EOF):
			return clUnproven, nil
		}
		tail = buf[1:k]
	} else {
		return clUnproven, nil
	}
	if separatorFollows(tail) {
		return clUsed, nil
	}
	return clWrong, nil
}

// separatorFollows reports whether tail, the bytes after a body (at most
// len(crlfFrom), fewer only at the end of the stream), are the end of the
// stream, or an empty line and then a From_ line or the end of the stream.
func separatorFollows(tail []byte) bool {
	if len(tail) == 0 {
		return true
	}
	n := emptyLine(tail)
	if n == 0 {
		return false
	}
	rest := tail[n:]
	// Fewer bytes than asked for means the stream ended.
	return bytes.HasPrefix(rest, fromPrefix) || (len(rest) == 0 && len(tail) < len(crlfFrom))
}

// readLine copies content up to the end of the line.
func (r *Reader) readLine(p []byte) (int, error) {
	b, err := r.avail()
	if err != nil {
		return 0, err
	}
	if len(b) == 0 {
		r.end(true) // the last line has no newline
		return 0, nil
	}
	if len(b) > len(p) {
		b = b[:len(p)]
	}
	eol := false
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b, eol = b[:i+1], true
	}
	k := copy(p, b)
	r.consume(k)
	if eol {
		r.lineStart = true
		if r.clPending {
			r.clPending, r.body, r.lastNL = false, r.clen, true
		}
	}
	return k, nil
}

// readGT copies a line's leading run of '>' (MboxRD) and then decides
// whether the one held back is dropped (the run is followed by "From ") or
// returned. All are '>', so which one is held makes no difference.
func (r *Reader) readGT(p []byte) (int, error) {
	b, err := r.avail()
	if err != nil {
		return 0, err
	}
	i := 0
	for i < len(b) && i < len(p) && b[i] == '>' {
		i++
	}
	if i > 0 {
		copy(p, b[:i])
		r.consume(i)
		return i, nil
	}
	r.gtRun = false
	if len(b) > 0 && b[0] == 'F' {
		nb, err := r.peek(len(fromPrefix))
		if err != nil {
			r.gtRun = true
			return 0, err
		}
		if bytes.Equal(nb, fromPrefix) {
			return 0, nil // drop it
		}
	}
	p[0] = '>'
	return 1, nil
}

// readBody copies a body whose length Content-Length gave and checkCL
// checked, then consumes the separator.
func (r *Reader) readBody(p []byte) (int, error) {
	if r.body == 0 {
		return 0, r.endBody()
	}
	b, err := r.avail()
	if err != nil {
		return 0, err
	}
	if len(b) == 0 {
		r.end(true) // the input shrank since the check
		return 0, nil
	}
	k := int(min(int64(len(b)), int64(len(p)), r.body))
	copy(p, b[:k])
	r.consume(k)
	r.body -= int64(k)
	r.lastNL = b[k-1] == '\n'
	return k, nil
}

// endBody ends the message after a Content-Length body: at the separator,
// which checkCL saw (read again: a ReadAt check may be stale).
func (r *Reader) endBody() error {
	b, err := r.peek(len(crlfFrom))
	if err != nil {
		return err
	}
	if separatorFollows(b) {
		r.consume(emptyLine(b))
		r.end(len(b) == 0)
		return nil
	}
	// The input changed under us: go on by the From_ line rule.
	r.body = -1
	r.lineStart = r.lastNL
	r.cur.cl = clWrong
	return nil
}
