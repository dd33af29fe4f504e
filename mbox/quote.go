package mbox

import (
	"bytes"
	"io"

	"letterbox/header"
)

// Quoting is an mbox variant: how lines that look like a From_ line are kept
// from being read as one.
type Quoting int

const (
	// MboxRD quotes every line matching ^>*From  with one more '>', which a
	// reader removes again: the body round-trips exactly.
	MboxRD Quoting = iota
	// MboxO quotes only ^From  (Postfix's format, byte for byte). A body
	// line ">From x" reads back as "From x" in an mboxrd reader and stays
	// ">From x" in an mboxo reader: lossy, but what most readers expect.
	MboxO
	// MboxCL2 quotes nothing; readers rely on the Content-Length header.
	MboxCL2
)

func (q Quoting) String() string {
	switch q {
	case MboxRD:
		return "mboxrd"
	case MboxO:
		return "mboxo"
	case MboxCL2:
		return "mboxcl2"
	}
	return "unknown"
}

// ParseQuoting reads the name of a variant as the config spells it.
func ParseQuoting(s string) (Quoting, bool) {
	for _, q := range []Quoting{MboxRD, MboxO, MboxCL2} {
		if q.String() == s {
			return q, true
		}
	}
	return 0, false
}

// quoter is an io.Writer that writes its input to w with From_ quoting
// applied at the start of every line. Input must use LF line ends. It keeps
// O(1) state whatever the line length or the number of leading '>', so a
// line of a gigabyte of '>' costs no memory.
type quoter struct {
	w io.Writer
	q Quoting

	atStart bool // the next byte begins a line
	gts     int  // '>' seen at the start of the current line, not yet written
	from    int  // bytes of "From " matched after them, not yet written
	n       int64
}

// newQuoter returns a quoter positioned at the start of a line.
func newQuoter(w io.Writer, q Quoting) *quoter {
	return &quoter{w: w, q: q, atStart: true}
}

func (z *quoter) Write(p []byte) (int, error) {
	if z.q == MboxCL2 {
		n, err := z.w.Write(p)
		z.n += int64(n)
		return n, err
	}
	total := len(p)
	for len(p) > 0 {
		if z.atStart || z.gts > 0 || z.from > 0 {
			// Deciding whether this line needs a '>': consume prefix bytes.
			c := p[0]
			switch {
			case c == '>' && z.from == 0 && z.q == MboxRD:
				z.gts++
				z.atStart = false
				p = p[1:]
				continue
			case c == fromPrefix[z.from]:
				z.from++
				z.atStart = false
				p = p[1:]
				if z.from == len(fromPrefix) {
					// ^>*From : one more '>'.
					if err := z.flushPrefix(true); err != nil {
						return total - len(p), err
					}
				}
				continue
			default:
				z.atStart = false
				if err := z.flushPrefix(false); err != nil {
					return total - len(p), err
				}
			}
		}
		// In the middle of a line: copy through the next newline.
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i+1]
		}
		if err := z.write(chunk); err != nil {
			return total - len(p), err
		}
		p = p[len(chunk):]
		if i >= 0 {
			z.atStart = true
		}
	}
	return total, nil
}

// flushPrefix writes the held-back line prefix, with one more '>' if quote.
func (z *quoter) flushPrefix(quote bool) error {
	gts := z.gts
	if quote {
		gts++
	}
	var buf [64]byte
	for gts > 0 {
		n := min(gts, len(buf))
		for i := range n {
			buf[i] = '>'
		}
		if err := z.write(buf[:n]); err != nil {
			return err
		}
		gts -= n
	}
	if err := z.write(fromPrefix[:z.from]); err != nil {
		return err
	}
	z.gts, z.from = 0, 0
	return nil
}

// Close writes what is still held back (a last line that is only a prefix
// of "From ", such as ">Fro"). It does not close w.
func (z *quoter) Close() error {
	if z.gts > 0 || z.from > 0 {
		return z.flushPrefix(false)
	}
	return nil
}

func (z *quoter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := z.w.Write(b)
	z.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// QuotedSize is the number of bytes r takes once quoted per q, as Txn.Write
// writes content (LF line ends, r positioned at the start of a line). A
// Content-Length must count what is written, not what came.
func QuotedSize(r io.Reader, q Quoting) (int64, error) {
	z := newQuoter(io.Discard, q)
	if _, err := copyContent(z, r, -1); err != nil {
		return 0, err
	}
	if err := z.Close(); err != nil {
		return 0, err
	}
	return z.n, nil
}

// copyContent copies r to z, a quoter, in pieces as r gives them: by r's
// own WriteTo when it has one, else through a buffer no larger than the
// content needs (size, if known, else as header.BufferFor judges r). The
// quoter takes any pieces; the buffer's size is only a matter of memory.
func copyContent(z io.Writer, r io.Reader, size int64) (int64, error) {
	if wt, ok := r.(io.WriterTo); ok {
		return wt.WriteTo(z)
	}
	n := header.BufferFor(r)
	if size >= 0 {
		n = int(min(int64(n), max(size+1, 512)))
	}
	return io.CopyBuffer(z, r, make([]byte, n))
}
