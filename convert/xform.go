package convert

import (
	"bufio"
	"bytes"
	"io"
)

// A message changes on its way between formats only in its header section
// and its line ends:
//
//   - the mbox-private fields (Status, X-Status, X-Keywords, X-UID, X-IMAP,
//     X-IMAPbase, Content-Length, X-Delivery-ID; any case, with their
//     continuation lines) are dropped: they hold one mailbox's state, which
//     the destination keeps its own way (flags in a Maildir name, fresh
//     Status lines in an mbox);
//   - Return-Path, the envelope sender, is put first when the message does
//     not begin with one (mbox -> Maildir: the From_ line's sender);
//   - lines can be added at the end of the header section (Maildir -> mbox:
//     the Status lines of the flags);
//   - CRLF line ends become LF and a last line without one gets one, as
//     deliveries store them (DESIGN §2.1).
//
// The header section is what deliver reads as one: a run of fields ("Name:
// value", the name printable ASCII), each with its continuation lines,
// ending at the first empty line (kept), before the first line that is
// neither, or at the end of the message. The body is copied as it is.

// privateFields are the header fields readers and IMAP servers keep in mbox
// files for their own state (Dovecot, UW c-client, mutt, Pine).
var privateFields = []string{"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase", "Content-Length", "X-Delivery-ID"}

// keptValue is how much of a field value a rewrite keeps for what it
// reads from it (flags, an address): longer values are cut.
const keptValue = 1024

// lineBuf bounds the memory of a rewrite: lines are read in chunks of at
// most this size, whatever their length.
const lineBuf = 64 << 10

// header is what a rewrite read from the header section it dropped or kept.
type header struct {
	status, xstatus, keywords []byte // values of the private flag fields, unfolded, concatenated
	returnPath                []byte // the first Return-Path value, unfolded; nil if none
}

// rewrite is one message's rewrite. Its zero value copies the message
// with private fields dropped and line ends normalised.
type rewrite struct {
	// returnPath is a whole "Return-Path: <...>\n" line put first unless
	// the message's first field is a Return-Path. nil: none.
	returnPath []byte
	// atEnd is added at the end of the header section.
	atEnd []byte
}

// copy writes the rewritten message read from br to w and returns what the
// header section said. br is read to its end.
func (x rewrite) copy(w io.Writer, br *bufio.Reader) (header, error) {
	lw := &lfWriter{w: w}
	var h header
	err := x.header(lw, br, &h)
	if err == nil {
		_, err = br.WriteTo(lw)
	}
	if err == nil {
		err = lw.close()
	}
	return h, err
}

// header copies the header section, up to and including its empty line.
func (x rewrite) header(w *lfWriter, br *bufio.Reader, h *header) error {
	var (
		started bool    // a field has been seen, so a continuation has an owner
		midLine bool    // the last chunk did not end its line
		drop    bool    // the current field is dropped
		val     *[]byte // where the current field's value is collected, or nil
		first   = true  // no field has been written yet
	)
	// begin writes what goes before the first written field or at the
	// end of a header section without any.
	begin := func(isReturnPath bool) error {
		if first && !isReturnPath && x.returnPath != nil {
			if _, err := w.Write(x.returnPath); err != nil {
				return err
			}
		}
		first = false
		return nil
	}
	end := func() error {
		if (w.n > 0 && w.last != '\n' || w.cr) && (len(x.atEnd) > 0 || first && x.returnPath != nil) {
			// A header that ends the message without a line end: what
			// follows must not glue onto its last line.
			if _, err := w.Write([]byte{'\n'}); err != nil {
				return err
			}
		}
		if err := begin(false); err != nil {
			return err
		}
		_, err := w.Write(x.atEnd)
		return err
	}
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == io.EOF && len(chunk) == 0:
			return end() // a message that is all header
		case err != nil && err != io.EOF && err != bufio.ErrBufferFull:
			return err
		}
		lineEnds := chunk[len(chunk)-1] == '\n'
		value := chunk // the part of the chunk that belongs to a field's value
		if !midLine {
			switch {
			case chunk[0] == '\n' || bytes.Equal(chunk, []byte("\r\n")):
				return x.body(w, chunk, end) // the empty line: kept after atEnd
			case chunk[0] == ' ' || chunk[0] == '\t':
				if !started {
					return x.body(w, chunk, end)
				}
			default:
				name, rest, ok := splitField(chunk)
				if !ok {
					return x.body(w, chunk, end)
				}
				started, drop, val, value = true, false, nil, rest
				switch {
				case isField(name, "Status"):
					drop, val = true, &h.status
				case isField(name, "X-Status"):
					drop, val = true, &h.xstatus
				case isField(name, "X-Keywords"):
					drop, val = true, &h.keywords
				case isPrivate(name):
					drop = true
				case isField(name, "Return-Path") && h.returnPath == nil:
					h.returnPath = []byte{}
					val = &h.returnPath
				}
				if !drop {
					if err := begin(isField(name, "Return-Path")); err != nil {
						return err
					}
				}
			}
		}
		if val != nil {
			addValue(val, value)
		}
		if !drop {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		midLine = !lineEnds
		if err == io.EOF {
			return end()
		}
	}
}

// body ends a header section before line, the first line of the body, and
// writes line.
func (x rewrite) body(w *lfWriter, line []byte, end func() error) error {
	if err := end(); err != nil {
		return err
	}
	_, err := w.Write(line)
	return err
}

// splitField splits the first chunk of a line into a field name and the
// rest after the colon; ok is false if the line is not a field. The rest
// is never empty: it holds at least the line end, or the chunk goes on.
func splitField(line []byte) (name, rest []byte, ok bool) {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++ // obsolete syntax: "Name :"
	}
	if i == 0 || j == len(line) || line[j] != ':' || j+1 == len(line) {
		// j+1 == len(line): a name and a colon that fill the whole chunk
		// of a line longer than lineBuf; not a field anyone wrote.
		return nil, nil, false
	}
	return line[:i], line[j+1:], true
}

func isField(name []byte, want string) bool { return bytes.EqualFold(name, []byte(want)) }

func isPrivate(name []byte) bool {
	for _, p := range privateFields {
		if isField(name, p) {
			return true
		}
	}
	return false
}

// addValue appends p, part of a field value, to v without its line ends,
// keeping at most keptValue bytes.
func addValue(v *[]byte, p []byte) {
	for _, c := range p {
		if len(*v) >= keptValue {
			return
		}
		if c != '\r' && c != '\n' {
			*v = append(*v, c)
		}
	}
}

// lfWriter writes to w with every CRLF turned into LF, across writes, and
// knows whether what it wrote ends in a newline.
type lfWriter struct {
	w    io.Writer
	cr   bool // the last byte given was a '\r', held back
	last byte // the last byte written
	n    int64
}

func (l *lfWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if l.cr {
			l.cr = false
			if p[0] != '\n' {
				if err := l.write([]byte{'\r'}); err != nil {
					return 0, err
				}
			}
		}
		i := bytes.IndexByte(p, '\r')
		if i < 0 {
			if err := l.write(p); err != nil {
				return 0, err
			}
			break
		}
		if err := l.write(p[:i]); err != nil {
			return 0, err
		}
		l.cr, p = true, p[i+1:]
	}
	return total, nil
}

func (l *lfWriter) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	l.last = p[len(p)-1]
	return err
}

// close writes a '\r' still held back and ends a non-empty message that
// lacks it with a newline.
func (l *lfWriter) close() error {
	if l.cr {
		l.cr = false
		if err := l.write([]byte{'\r'}); err != nil {
			return err
		}
	}
	if l.n > 0 && l.last != '\n' {
		return l.write([]byte{'\n'})
	}
	return nil
}
