package mbox

import (
	"bytes"
	"io"
)

// Variant is the one verdict on an mbox's variant that every reader in
// letterbox uses ("letterbox check", "letterbox convert"): how to read it,
// and what to call it.
type Variant struct {
	// Quoting is how to read the mailbox: MboxCL2 when its Content-Length
	// headers hold (see DetectQuoting), else MboxRD or MboxO as Name says.
	// MboxO is chosen only when no line matches ^>>+From , where MboxO
	// and MboxRD read alike, so the choice changes no byte read.
	Quoting Quoting
	// Name is "mboxcl2", "mboxcl" (Content-Length headers hold and body
	// "From " lines are quoted anyway), "mboxrd" (a line matches
	// ^>>+From , which an mboxrd writer makes of ">From ") or "mboxo"
	// (nothing tells it from mboxrd, and mboxo is the weaker claim: the
	// format of Postfix, procmail and Python's mailbox).
	Name string
}

// Detect reads the mbox stream r to its end and returns its variant: the
// Quoting of DetectQuoting, and the name that the quoted lines support.
// Messages start where a Reader with MboxCL2 starts them; lines are looked
// at in the messages' content, so a From_ line never counts as a body line.
// Memory is constant whatever the input.
func Detect(r io.Reader) (Variant, error) {
	var ls lineStats
	q, err := detect(r, &ls)
	if err != nil {
		return Variant{Quoting: MboxRD, Name: "mboxrd"}, err
	}
	return variantOf(q, &ls), nil
}

// variantOf names the variant read as q with the quoted lines ls.
func variantOf(q Quoting, ls *lineStats) Variant {
	switch {
	case q == MboxCL2 && ls.quoted > 0 && ls.from == 0:
		return Variant{Quoting: MboxCL2, Name: "mboxcl"}
	case q == MboxCL2:
		return Variant{Quoting: MboxCL2, Name: "mboxcl2"}
	case ls.quotedMore > 0:
		return Variant{Quoting: MboxRD, Name: "mboxrd"}
	}
	return Variant{Quoting: MboxO, Name: "mboxo"}
}

// DetectQuoting reads the mbox stream r to its end and guesses its variant:
// MboxCL2 if at least one message has a Content-Length header that checks
// out (see Reader), none has one that is contradicted, and none with a body
// lacks one; MboxRD otherwise. An mboxcl2 writer gives every message its
// length, so one message cannot make a whole mailbox read as mboxcl2 by
// carrying a Content-Length that happens to fit: a mailbox read that way
// stops un-quoting its other messages' ">From " lines.
//
// mboxo and mboxrd cannot be told apart from the data: both turn "From "
// into ">From ", and they read differently only for lines matching
// ^>>+From , which an mboxrd writer makes of ">From " and an mboxo writer
// leaves as they came. MboxRD is the better guess for those, and reads the
// rest the same way (Detect names the variant as well). A message whose
// body runs past the end of r (r is a prefix of a mailbox) or that cannot
// be checked (a large body, r not seekable) does not count. Pass an
// *os.File or *io.SectionReader for a check of large messages; an
// io.LimitReader for a quick look at a prefix.
func DetectQuoting(r io.Reader) (Quoting, error) {
	return detect(r, nil)
}

// detect is DetectQuoting, counting the quoted lines into ls if not nil.
func detect(r io.Reader, ls *lineStats) (Quoting, error) {
	z := NewReader(r, MboxCL2)
	used, bad := 0, false
	var buf []byte
	if ls != nil {
		buf = make([]byte, 32<<10)
	}
	for {
		m, err := z.Next()
		if err == io.EOF {
			break
		}
		if _, ok := err.(*FormatError); ok {
			continue
		}
		if err != nil {
			return MboxRD, err
		}
		if ls == nil {
			z.skip()
		} else {
			// MboxCL2 returns the content raw: the quoting as written.
			ls.start()
			for {
				n, err := z.Read(buf)
				ls.scan(buf[:n])
				if err != nil {
					break
				}
			}
		}
		if z.err != nil {
			return MboxRD, z.err
		}
		switch m.cl {
		case clWrong, clMissing:
			if ls == nil {
				return MboxRD, nil
			}
			bad = true // read on: the quoted lines name the variant
		case clUsed:
			used++
		}
	}
	if used > 0 && !bad {
		return MboxCL2, nil
	}
	return MboxRD, nil
}

// lineStats counts, over messages' content, the lines that tell the
// variants apart. It sees the content in pieces of any size, and keeps O(1)
// state whatever the length of a line or of its run of '>'.
type lineStats struct {
	quoted     int // ^>From
	quotedMore int // ^>>+From
	from       int // ^From : a body line no writer of a quoting variant leaves

	inLine  bool // inside a line that can no longer match
	gts     int  // leading '>' of the current line
	matched int  // bytes of "From " matched after them
}

// start begins a message's content: its first byte starts a line.
func (s *lineStats) start() {
	s.inLine, s.gts, s.matched = false, 0, 0
}

func (s *lineStats) scan(b []byte) {
	for len(b) > 0 {
		if s.inLine {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return
			}
			b = b[i+1:]
			s.start()
			continue
		}
		c := b[0]
		b = b[1:]
		switch {
		case c == '\n':
			s.start()
			continue
		case s.matched == 0 && c == '>':
			s.gts++
			continue
		case c == FromPrefix[s.matched]:
			s.matched++
			if s.matched < len(FromPrefix) {
				continue
			}
			switch s.gts {
			case 0:
				s.from++
			case 1:
				s.quoted++
			default:
				s.quotedMore++
			}
		}
		s.inLine = true
	}
}
