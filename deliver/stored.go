package deliver

import (
	"bytes"
	"io"

	"letterbox/mbox"
)

// fullScan is m's header scan to the end of its header section: the scan
// ReadMessage made, or, when that stopped at maxHeader, a scan of the whole
// section (once; it reads as far as the header goes, in bounded memory).
func (m *Message) fullScan() (Scan, error) {
	if !m.scan.Truncated {
		return m.scan, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.full == nil {
		s, err := ScanHeader(m.sp.Open(), 0)
		if err != nil {
			return s, err
		}
		m.full = &s
	}
	return *m.full, nil
}

// stored returns a reader of m as it is stored after the lines letterbox
// prepends, and its size in bytes: the message after the MTA's envelope
// block, its header section ended by an empty line, and, with strip,
// without the mbox-private fields (header.StripPrivate). It also returns
// the length of the body, what Content-Length counts in mboxcl2: 0 when the
// message is all header.
//
// The header section ends where header.Classify says: at the empty line,
// or before the first line that is neither a field nor a continuation
// (Postfix's rule). Every reader of a stored message — mbox readers,
// Dovecot, Python's mailbox, mutt, "letterbox check" — ends it at the
// first empty line instead. So a section that ended at such a line gets an
// empty line there, as Postfix's cleanup(8) inserts one; otherwise the
// readers would take the lines after it for header fields (a
// Content-Length there reframes an mboxcl2 mailbox or flips how a whole
// mbox is read), and a first line that begins with white space would fold
// into the Delivered-To: letterbox prepends.
func (m *Message) stored(strip bool) (r io.Reader, size, body int64, err error) {
	hs, err := m.fullScan()
	if err != nil {
		return nil, 0, 0, err
	}
	all := m.sp.Size() - hs.BlockLen
	head := hs.HeaderLen - hs.BlockLen // the header section after the block, its empty line included
	var end []byte
	if hs.Malformed {
		end = []byte("\n")
	}
	if hs.HasBody || hs.Malformed {
		body = all - head
	}
	size = all + int64(len(end))
	if strip {
		// Only the header section shrinks: count it, and add the rest.
		rd, err := m.after(hs.BlockLen)
		if err != nil {
			return nil, 0, 0, err
		}
		n, err := io.Copy(io.Discard, stripPrivate(io.LimitReader(rd, head)))
		if err != nil {
			return nil, 0, 0, err
		}
		size = n + int64(len(end)) + body
	}
	rd, err := m.after(hs.BlockLen)
	if err != nil {
		return nil, 0, 0, err
	}
	r = io.MultiReader(io.LimitReader(rd, head), bytes.NewReader(end), rd)
	if strip {
		// The limit cuts nothing (it is all there is); it tells the
		// stripper how much, so that it buffers no more (BufferFor).
		r = stripPrivate(io.LimitReader(r, all+int64(len(end))))
	}
	return r, size, body, nil
}

// after returns a reader of m from byte off on.
func (m *Message) after(off int64) (io.Reader, error) {
	rd := m.sp.Open()
	_, err := io.CopyN(io.Discard, rd, off)
	return rd, err
}

// quotedBody is the length of m's body (see stored) once quoted per q.
func (m *Message) quotedBody(q mbox.Quoting) (int64, error) {
	hs, err := m.fullScan()
	if err != nil {
		return 0, err
	}
	if !hs.HasBody && !hs.Malformed {
		return 0, nil
	}
	rd, err := m.after(hs.HeaderLen)
	if err != nil {
		return 0, err
	}
	return mbox.QuotedSize(rd, q)
}
