package mailcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/mbox"
)

// An mbox is read several times, each pass with constant memory:
//
//  1. mbox.Detect: the variant, the one verdict convert uses too —
//     whether Content-Length headers hold (mboxcl, mboxcl2) or From_
//     quoting does (mboxo, mboxrd);
//  2. the messages, read as that variant says: their number, a last one
//     cut short, a message not followed by its empty line, data that is no
//     message, and (reading raw) each Content-Length against its body;
//  3. the raw lines: CRLF, and "From " lines. Whether such a line starts a
//     message is not judged here but taken from an mbox.Reader read
//     alongside, so that check and convert never disagree on where
//     messages start (issue 15: a dateless From_ line).

func checkMbox(r *Report, path string, o Options) error {
	s := o.Sys
	fd, err := s.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer s.Close(fd)
	st, err := s.Fstat(fd)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", path, err)
	}
	f := sys.ReaderAt{Sys: s, FD: fd}
	sect := func() *io.SectionReader { return io.NewSectionReader(f, 0, st.Size) }
	if st.Size == 0 {
		return nil
	}
	v, err := mbox.Detect(sect())
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	r.Variant = v.Name

	// Content-Length against the body, read raw (mboxcl2 un-quotes
	// nothing).
	var cl clPass
	if err := cl.run(r, sect()); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := messagePass(r, sect(), v.Quoting); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	lp := linePass{starts: newStarts(sect(), v.Quoting)}
	if err := lp.run(r, sect(), v.Quoting == mbox.MboxCL2); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// messagePass reads the messages with quoting q: their count, damaged and
// truncated ones, and data that is not a message.
func messagePass(r *Report, in io.Reader, q mbox.Quoting) error {
	rd := mbox.NewReader(in, q)
	var last *mbox.Entry
	damaged := problems(r, KindDamaged)
	junk := problems(r, KindNotMessage)
	for {
		e, err := rd.Next()
		var fe *mbox.FormatError
		switch {
		case err == io.EOF:
			if last != nil && last.Truncated {
				problems(r, KindTruncated).add(Finding{Offset: last.Offset, Message: r.Messages,
					Detail: "the last message ends without the empty line a writer ends it with: cut short"})
			}
			return nil
		case errors.As(err, &fe):
			junk.add(Finding{Offset: fe.Offset, Detail: fmt.Sprintf("%d bytes that are not a message (no From_ line)", fe.Length)})
			continue
		case err != nil:
			return err
		}
		if last != nil && last.Truncated {
			damaged.add(Finding{Offset: last.Offset, Message: r.Messages,
				Detail: "the next From_ line follows without an empty line: the message lost its end"})
		}
		r.Messages++
		last = e
	}
}

// clPass reads the messages raw (as mboxcl2, which honours a Content-Length
// that holds and splits at From_ lines otherwise) and compares each
// Content-Length header with the body the message has.
type clPass struct {
	br *bufio.Reader
}

func (p *clPass) run(r *Report, in io.Reader) error {
	rd := mbox.NewReader(in, mbox.MboxCL2)
	p.br = bufio.NewReaderSize(nil, 64<<10)
	wrong := problems(r, KindContentLength)
	for n := 1; ; n++ {
		e, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if _, ok := err.(*mbox.FormatError); ok {
			n--
			continue
		}
		if err != nil {
			return err
		}
		p.br.Reset(rd)
		cl, body, err := p.message()
		if err != nil {
			return err
		}
		if cl >= 0 && cl != body {
			wrong.add(Finding{Offset: e.Offset, Message: n,
				Detail: fmt.Sprintf("Content-Length: %d, but the body has %d bytes", cl, body)})
		}
	}
}

// message reads one message's content and returns its Content-Length (-1
// if none, or several that disagree, or one that is no number) and the
// length of its body.
func (p *clPass) message() (cl, body int64, err error) {
	const name = "content-length:"
	cl = -1
	bad, inHeader, midLine := false, true, false
	for {
		chunk, err := p.br.ReadSlice('\n')
		switch {
		case len(chunk) == 0 && err == io.EOF:
			if bad {
				cl = -1
			}
			return cl, body, nil
		case err != nil && err != io.EOF && err != bufio.ErrBufferFull:
			return cl, body, err
		}
		switch {
		case !inHeader:
			body += int64(len(chunk))
		case midLine:
		case chunk[0] == '\n' || bytes.Equal(chunk, []byte("\r\n")):
			inHeader = false
		case len(chunk) > len(name) && bytes.EqualFold(chunk[:len(name)], []byte(name)):
			n, perr := strconv.ParseInt(strings.TrimSpace(string(chunk[len(name):])), 10, 64)
			if perr != nil || n < 0 || (cl >= 0 && cl != n) {
				bad = true
			}
			cl = n
		}
		midLine = chunk[len(chunk)-1] != '\n'
	}
}

// linePass reads the raw lines.
type linePass struct {
	starts *starts
	crlf   int
}

func (p *linePass) run(r *Report, in io.Reader, clVariant bool) error {
	br := bufio.NewReaderSize(in, 64<<10)
	var off int64
	midLine := false
	unescaped := problems(r, KindUnescapedFrom)
	protected := notes(r, KindProtectedFrom)
	firstCRLF := int64(-1)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if !midLine {
				if err := p.line(chunk, off, clVariant, unescaped, protected); err != nil {
					return err
				}
			}
			ends := chunk[len(chunk)-1] == '\n'
			if ends && len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' {
				if p.crlf == 0 {
					firstCRLF = off + int64(len(chunk)) - 2
				}
				p.crlf++
			}
			midLine = !ends
			off += int64(len(chunk))
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
	}
	if p.crlf > 0 {
		problems(r, KindCRLF).add(Finding{Offset: firstCRLF,
			Detail: fmt.Sprintf("%d lines end in CRLF; mbox readers on Unix expect LF (mutt and Dovecot show the CR)", p.crlf)})
	}
	return nil
}

// line looks at the first chunk of a line at off.
func (p *linePass) line(b []byte, off int64, clVariant bool, unescaped, protected *findings) error {
	if !bytes.HasPrefix(b, []byte(mbox.FromPrefix)) {
		return nil
	}
	start, err := p.starts.at(off)
	if err != nil {
		return err
	}
	if start {
		// A message starts here, by the Reader's rule; one not after an
		// empty line is a message whose predecessor lost its end, which
		// the message pass reports. A From_ line that no writer makes is
		// most likely a body line a writer did not quote.
		if !mbox.WriterFromLine(fromLine(b)) {
			unescaped.add(Finding{Offset: off, Detail: "a message starts at a \"From \" line that no mbox writer makes (a sender, then text that is no date): probably a body line left unquoted, which every reader takes for the start of a message"})
		}
		return nil
	}
	if clVariant {
		protected.add(Finding{Offset: off, Detail: "a body line begins with \"From \": Content-Length keeps it in its message, but readers that ignore it (Python's mailbox, formail) split here"})
		return nil
	}
	unescaped.add(Finding{Offset: off, Detail: "unescaped From_ line inside a message: readers that split at every \"From \" line (Python's mailbox) cut the message here"})
	return nil
}

// fromLine is the From_ line in b, a line's first chunk beginning with
// "From ", without "From " and without its line end.
func fromLine(b []byte) string {
	b = b[len(mbox.FromPrefix):]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSuffix(b, []byte("\r")))
}

// starts walks the offsets at which an mbox.Reader starts messages, in
// step with the line pass, so that memory stays constant.
type starts struct {
	rd     *mbox.Reader
	next   int64 // the last message start found
	primed bool  // next is set
	done   bool  // no more messages
}

func newStarts(in io.Reader, q mbox.Quoting) *starts {
	return &starts{rd: mbox.NewReader(in, q)}
}

// at reports whether a message starts at off. Offsets are asked for in
// increasing order.
func (s *starts) at(off int64) (bool, error) {
	for !s.done && (!s.primed || s.next < off) {
		e, err := s.rd.Next()
		var fe *mbox.FormatError
		switch {
		case err == io.EOF:
			s.done = true
		case errors.As(err, &fe):
		case err != nil:
			return false, err
		default:
			s.next, s.primed = e.Offset, true
		}
	}
	return s.primed && s.next == off, nil
}
