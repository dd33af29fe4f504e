package header

import (
	"bufio"
	"io"
)

// StripPrivate returns a reader of r without the mbox-private header fields
// (see IsPrivate), each removed with its continuation lines. Only the
// header section is looked at, as Classify delimits it (a bare colon is a
// field); the body passes unchanged, whatever it contains. r must be
// LF-normalised and start at a line. Memory is bounded by ChunkSize, and
// by the size of r when r tells it (BufferFor).
func StripPrivate(r io.Reader) io.Reader {
	return &stripReader{br: bufio.NewReaderSize(r, BufferFor(r)), inHeader: true}
}

type stripReader struct {
	br       *bufio.Reader
	pending  []byte // the rest of the current chunk, to be returned
	err      error  // the error after pending
	inHeader bool   // still in the header section
	seen     bool   // a field has been seen: a continuation line has an owner
	midLine  bool   // the last chunk did not end its line
	drop     bool   // the current field is private
}

func (s *stripReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if !s.inHeader {
			return s.br.Read(p)
		}
		chunk, err := s.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			s.err = err
		}
		if len(chunk) == 0 {
			continue // s.err is set: ReadSlice returns data or an error
		}
		if !s.midLine {
			switch kind, name, _ := Classify(chunk, s.seen, BareColonField); kind {
			case Empty, NotHeader:
				s.inHeader = false // the empty line is kept
			case Field:
				s.seen, s.drop = true, IsPrivate(name)
			}
		}
		s.midLine = chunk[len(chunk)-1] != '\n'
		if s.inHeader && s.drop {
			continue
		}
		s.pending = chunk
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}
