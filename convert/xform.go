package convert

import (
	"bufio"
	"io"

	hdr "letterbox/header"
)

// A message changes on its way between formats only in its header section
// and its line ends:
//
//   - the mbox-private fields (header.IsPrivate: Status, X-Status,
//     X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length, X-Delivery-ID;
//     any case, with their continuation lines) are dropped: they hold one mailbox's state, which
//     the destination keeps its own way (flags in a Maildir name, fresh
//     Status lines in an mbox);
//   - Return-Path, the envelope sender, is put first when the message does
//     not begin with one (mbox -> Maildir: the From_ line's sender);
//   - lines can be added at the end of the header section (Maildir -> mbox:
//     the Status lines of the flags);
//   - CRLF line ends become LF and a last line without one gets one, as
//     deliveries store them (docs/design.md §2.1), by header.OneCR (see newLF).
//
// The header section is what deliver reads as one (header.Classify), with
// header.BareColonBody: a message that ends in "Name:" keeps that line as
// body. A section that ends at a line that is no header line gets an empty
// line before it, as deliver stores it, so that every reader finds the
// same header section. The body is copied as it is.

// keptValue is how much of a field value a rewrite keeps for what it
// reads from it (flags, an address): longer values are cut.
const keptValue = 1024

// lineBuf bounds the memory of a rewrite: lines are read in chunks of at
// most this size, whatever their length.
const lineBuf = hdr.ChunkSize

// newLF returns the line-end normaliser of a rewrite, writing to w.
func newLF(w io.Writer) *hdr.LFWriter { return &hdr.LFWriter{W: w, CRs: hdr.OneCR} }

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
	lw := newLF(w)
	var h header
	err := x.header(lw, br, &h)
	if err == nil {
		_, err = br.WriteTo(lw)
	}
	if err == nil {
		err = lw.Close()
	}
	return h, err
}

// header copies the header section, up to and including its empty line.
func (x rewrite) header(w *hdr.LFWriter, br *bufio.Reader, h *header) error {
	var (
		started bool    // a field has been seen, so a continuation has an owner
		midLine bool    // the last chunk did not end its line
		drop    bool    // the current field is dropped
		val     *[]byte // where the current field's value is collected, or nil
		v       = hdr.Value{Max: keptValue, DropCR: true}
		first   = true // no field has been written yet
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
		if w.LineOpen() && (len(x.atEnd) > 0 || first && x.returnPath != nil) {
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
			kind, name, rest := hdr.Classify(chunk, started, hdr.BareColonBody)
			switch kind {
			case hdr.Empty:
				// The empty line is kept after atEnd.
				return x.body(w, chunk, end)
			case hdr.NotHeader:
				// A line that is no header line starts the body. Readers
				// end the header section at an empty line only, so one is
				// put before it, as deliver does (deliver/stored.go):
				// otherwise a line with leading white space would fold
				// into a field written here, and the lines after it would
				// read as header.
				if err := end(); err != nil {
					return err
				}
				if _, err := w.Write([]byte{'\n'}); err != nil {
					return err
				}
				_, err := w.Write(chunk)
				return err
			case hdr.Field:
				started, drop, val, value = true, false, nil, rest
				switch {
				case hdr.Is(name, "Status"):
					drop, val = true, &h.status
				case hdr.Is(name, "X-Status"):
					drop, val = true, &h.xstatus
				case hdr.Is(name, "X-Keywords"):
					drop, val = true, &h.keywords
				case hdr.IsPrivate(name):
					drop = true
				case hdr.Is(name, "Return-Path") && h.returnPath == nil:
					h.returnPath = []byte{}
					val = &h.returnPath
				}
				if val != nil {
					// Values of fields of one name are concatenated,
					// keptValue bytes in all.
					v.Load(*val)
				}
				if !drop {
					if err := begin(hdr.Is(name, "Return-Path")); err != nil {
						return err
					}
				}
			}
		}
		if val != nil {
			v.Add(value)
			*val = v.Bytes()
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
func (x rewrite) body(w *hdr.LFWriter, line []byte, end func() error) error {
	if err := end(); err != nil {
		return err
	}
	_, err := w.Write(line)
	return err
}
