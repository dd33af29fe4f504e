package header

import (
	"bytes"
	"io"
)

// CRs says how an LFWriter treats a run of CRs. Both modes turn CR LF into
// LF and keep a CR that is followed by anything but an LF or another CR;
// they differ in a run of several CRs and in CRs at the very end, and a
// message's bytes depend on that, so the caller says.
type CRs int

const (
	// CRRun removes every CR of a run directly before an LF ("a\r\r\n" is
	// "a\n"), and takes a run at the very end for the line end of an
	// incomplete last line ("a\r" is "a\n"): written as "a\r\n" it would
	// bring back the CR LF that normalising removes (deliver's spool).
	CRRun CRs = iota
	// OneCR removes only the CR directly before an LF ("a\r\r\n" is
	// "a\r\n"), and keeps CRs at the very end ("a\r" is "a\r\n") (convert).
	OneCR
)

// crRun is written for held CRs, in pieces of at most its length.
var crRun = []byte("\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r")

// LFWriter writes to W with CR LF line ends turned into LF, across writes,
// and on Close ends a last line that lacks a line end. RFC 5322 §2.1 lines
// end in CR LF on the wire; Unix mailboxes store LF (docs/design.md §2.1). It holds
// no more than a count of CRs: memory does not grow with the input.
type LFWriter struct {
	W   io.Writer
	CRs CRs

	crs  int64 // CRs given and not yet written: they may precede an LF
	last byte  // the last byte written
	n    int64 // bytes written
}

// Write writes p normalised. A short write of W is an error.
func (l *LFWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if l.crs > 0 && p[0] != '\r' {
			// The run of CRs before p ends here; a run going on is counted
			// below.
			if p[0] == '\n' {
				if l.CRs == OneCR {
					l.crs-- // the one before the LF is the line end's
				} else {
					l.crs = 0 // the whole run is the line end's
				}
			}
			if err := l.flushCRs(); err != nil {
				return 0, err
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
		// Count the run of CRs; what follows it decides their fate.
		j := i
		for j < len(p) && p[j] == '\r' {
			j++
		}
		l.crs += int64(j - i)
		p = p[j:]
	}
	return total, nil
}

// Close writes the CRs still held as the mode says and ends a non-empty
// output that lacks it with an LF. It does not close W.
func (l *LFWriter) Close() error {
	if l.crs > 0 && l.CRs == CRRun {
		l.crs = 0
		if err := l.write([]byte{'\n'}); err != nil {
			return err
		}
	}
	if err := l.flushCRs(); err != nil {
		return err
	}
	if l.n > 0 && l.last != '\n' {
		return l.write([]byte{'\n'})
	}
	return nil
}

// LineOpen reports whether what was written so far ends in the middle of a
// line: something written without a line end after it, or CRs held back.
func (l *LFWriter) LineOpen() bool { return l.n > 0 && l.last != '\n' || l.crs > 0 }

func (l *LFWriter) flushCRs() error {
	for l.crs > 0 {
		k := min(l.crs, int64(len(crRun)))
		if err := l.write(crRun[:k]); err != nil {
			return err
		}
		l.crs -= k
	}
	return nil
}

func (l *LFWriter) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := l.W.Write(p)
	l.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	l.last = p[len(p)-1]
	return err
}
