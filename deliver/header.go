package deliver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// The header section, as ScanHeader and StripPrivate read it: a run of
// header fields ("Name: value", the name printable ASCII without a colon,
// optionally followed by spaces or tabs before the colon), each with the
// continuation lines that follow it (lines beginning with a space or tab).
// It ends at the first empty line, which belongs to it, or before the first
// line that is neither a field nor a continuation of one (Postfix stops
// there too: such a line and everything after it is the body, and no empty
// line is invented), or at the end of the message.
//
// Lines are read in chunks of at most headerBuf bytes, so memory is bounded
// whatever the length of a line; a line whose name and colon are not within
// its first headerBuf bytes is not a field.
const headerBuf = 64 << 10

// maxDeliveredTo is how many Delivered-To: values are kept for the loop
// check, Postfix's cap.
const maxDeliveredTo = 1000

// valueMax is how much of a field value ScanHeader keeps: an address of
// MaxAddressLen bytes within angle brackets, and one byte more, so a value
// too long to be an address stays too long for CheckAddress.
const valueMax = MaxAddressLen + 3

// Scan is what ScanHeader found in the header section of a message.
//
// The envelope block is the leading run of Return-Path:, X-Original-To: and
// Delivered-To: fields that the MTA prepended for this delivery (DESIGN §3).
// Each name may occur once in it: a second field of a name already in the
// block ends the block, because it was written by an earlier delivery (a
// message stored with letterbox's own lines and re-injected), and a
// Delivered-To: from there must count for the loop check.
//
// Values are unfolded (the line breaks of continuation lines removed) and
// trimmed of spaces and tabs at both ends. A value longer than an address
// can be is kept cut to valueMax bytes, which CheckAddress refuses.
type Scan struct {
	// BlockLen is the number of bytes of the envelope block at the start
	// of the message, 0 if there is none. The caller skips them and writes
	// its own lines instead.
	BlockLen int64

	// The block's values, each with whether its field was present.
	ReturnPath     string // angle brackets removed: "" for <>
	HasReturnPath  bool
	OriginalTo     string // as written
	HasOriginalTo  bool
	DeliveredTo    string // as written
	HasDeliveredTo bool

	// DeliveredTos are the values of the Delivered-To: fields after the
	// block, lowercased, in order, at most maxDeliveredTo of them. A value
	// longer than MaxAddressLen is left out: it cannot equal a recipient.
	DeliveredTos []string

	// HeaderLen is the number of bytes of the header section, from the
	// start of the message (the block included) through the empty line
	// that ends it; the whole message if it is all header. Not meaningful
	// when Truncated.
	HeaderLen int64
	HasBody   bool // an empty line ends the header section
	Malformed bool // a line that is not a header field ended the header section

	// Truncated reports that the header section is longer than the
	// maxHeader bytes ScanHeader reads. Everything above is then about the
	// fields that ended within those bytes: the loop check covers only
	// them.
	Truncated bool
}

// ScanHeader reads the header section of the message r (normalised, with
// LF line ends, as Spool.Open gives) and reports its envelope block and
// Delivered-To: fields. It reads at most maxHeader bytes of r, plus one to
// tell whether there is more; maxHeader <= 0 means no limit. A header
// section longer than that is not an error: Scan.Truncated is set, so the
// caller can log it and deliver (a message must not bounce because its
// header is large). The error is only ever a read error of r.
func ScanHeader(r io.Reader, maxHeader int64) (Scan, error) {
	limit := maxHeader
	if limit <= 0 {
		limit = math.MaxInt64 - 1
	}
	br := bufio.NewReaderSize(io.LimitReader(r, limit+1), headerBuf)
	var (
		sc      Scan
		off     int64 // bytes of complete chunks
		midLine bool  // the last chunk did not end its line
		f       fieldState
		inBlock = true
		seen    [numKinds]bool // names taken into the block
	)
	// commit ends the current field, which ended at offset end.
	commit := func(end int64) {
		if !f.open {
			return
		}
		f.open = false
		v := f.val.String()
		if f.block {
			sc.BlockLen = end
			switch f.kind {
			case kindReturnPath:
				sc.ReturnPath, sc.HasReturnPath = unbracket(v), true
			case kindOriginalTo:
				sc.OriginalTo, sc.HasOriginalTo = v, true
			case kindDeliveredTo:
				sc.DeliveredTo, sc.HasDeliveredTo = v, true
			}
			return
		}
		if f.kind == kindDeliveredTo && len(v) <= MaxAddressLen && len(sc.DeliveredTos) < maxDeliveredTo {
			sc.DeliveredTos = append(sc.DeliveredTos, lowerAddr(v))
		}
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return sc, fmt.Errorf("scan header: %w", err)
		}
		if len(chunk) == 0 {
			// The end of the message, with no empty line: all header.
			commit(off)
			sc.HeaderLen = off
			return sc, nil
		}
		if !midLine && chunk[0] != ' ' && chunk[0] != '\t' {
			commit(off) // a line that is no continuation ends the field
		}
		if off+int64(len(chunk)) > limit {
			// The field this chunk belongs to may go on beyond what is
			// read: it is left out rather than judged on a part.
			sc.Truncated, sc.HeaderLen = true, off
			return sc, nil
		}
		switch {
		case midLine:
			f.val.add(chunk)
		case chunk[0] == '\n':
			sc.HeaderLen, sc.HasBody = off+1, true
			return sc, nil
		case chunk[0] == ' ' || chunk[0] == '\t':
			if !f.seen {
				// A continuation of nothing: not a header section.
				sc.HeaderLen, sc.Malformed = off, true
				return sc, nil
			}
			f.val.add(chunk)
		default:
			name, value, ok := splitField(chunk)
			if !ok {
				sc.HeaderLen, sc.Malformed = off, true
				return sc, nil
			}
			k := kindOf(name)
			if inBlock && k != kindOther && !seen[k] {
				seen[k] = true
			} else {
				inBlock = false
			}
			f.start(k, inBlock)
			f.val.add(value)
		}
		midLine = chunk[len(chunk)-1] != '\n'
		off += int64(len(chunk))
	}
}

// IsLoop reports whether recipient equals one of s.DeliveredTos: the loop
// Postfix reports as 5.4.6 "mail forwarding loop". The comparison is of
// whole addresses, trimmed and case-insensitive; the envelope block's
// Delivered-To: is not among them, nor is X-Delivered-To:.
func IsLoop(s Scan, recipient string) bool {
	r := lowerAddr(strings.Trim(recipient, " \t"))
	if r == "" {
		return false // no recipient cannot loop, and "" is no address
	}
	for _, d := range s.DeliveredTos {
		if d == r {
			return true
		}
	}
	return false
}

// lowerAddr lowercases an address for comparison. Invalid UTF-8 is
// lowercased as ASCII only: strings.ToLower would turn every invalid byte
// into U+FFFD and make different addresses equal.
func lowerAddr(a string) string {
	if utf8.ValidString(a) {
		return strings.ToLower(a)
	}
	b := []byte(a)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// fieldKind is a header name ScanHeader looks for.
type fieldKind int

const (
	kindReturnPath fieldKind = iota
	kindOriginalTo
	kindDeliveredTo
	kindOther
	numKinds = kindOther
)

func kindOf(name []byte) fieldKind {
	switch {
	case bytes.EqualFold(name, []byte("Return-Path")):
		return kindReturnPath
	case bytes.EqualFold(name, []byte("X-Original-To")):
		return kindOriginalTo
	case bytes.EqualFold(name, []byte("Delivered-To")):
		return kindDeliveredTo
	}
	return kindOther
}

// fieldState is the field ScanHeader is in.
type fieldState struct {
	seen  bool // a field has been seen: a continuation line has an owner
	open  bool // the field is not yet committed
	kind  fieldKind
	block bool // the field is part of the envelope block
	val   value
}

func (f *fieldState) start(k fieldKind, block bool) {
	f.seen, f.open, f.kind, f.block = true, true, k, block
	f.val.reset()
}

// splitField splits the first chunk of a line into a field name and the
// value bytes after the colon; ok is false if the line is not a field.
func splitField(line []byte) (name, value []byte, ok bool) {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return nil, nil, false
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++ // obsolete syntax: "Name :"
	}
	if j == len(line) || line[j] != ':' {
		return nil, nil, false
	}
	return line[:i], line[j+1:], true
}

// value accumulates an unfolded field value, trimmed of spaces and tabs at
// both ends, keeping at most its first valueMax bytes.
type value struct {
	b   []byte
	ws  []byte // spaces and tabs after b, kept if more follows (at most valueMax)
	wsN int64  // their number
}

func (v *value) reset() { v.b, v.ws, v.wsN = v.b[:0], v.ws[:0], 0 }

func (v *value) add(p []byte) {
	for _, c := range p {
		if len(v.b) == valueMax {
			return // the rest cannot change what is kept
		}
		switch c {
		case '\n':
			// Unfolding removes the line break and keeps the space or
			// tab that starts the next line.
		case ' ', '\t':
			if len(v.b) == 0 {
				continue // leading
			}
			if len(v.ws) < valueMax {
				v.ws = append(v.ws, c)
			}
			v.wsN++
		default:
			if v.wsN > 0 {
				v.b = append(v.b, v.ws[:min(len(v.ws), valueMax-len(v.b))]...)
				v.ws, v.wsN = v.ws[:0], 0
				if len(v.b) == valueMax {
					return
				}
			}
			v.b = append(v.b, c)
		}
	}
}

func (v *value) String() string { return string(v.b) }

// privateHeaders are the fields IMAP servers and mail readers keep in mbox
// files for their own state (Dovecot, UW c-client, mutt, Pine). A message
// arriving with them could fake its flags, UIDs or length in the mailbox.
var privateHeaders = [][]byte{
	[]byte("X-UID"),
	[]byte("X-IMAP"),
	[]byte("X-IMAPbase"),
	[]byte("X-Keywords"),
	[]byte("X-Status"),
	[]byte("Status"),
	[]byte("Content-Length"),
	[]byte("X-Delivery-ID"),
}

func isPrivate(name []byte) bool {
	for _, p := range privateHeaders {
		if bytes.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// StripPrivate returns a reader of r without the mbox-private header fields
// (X-UID, X-IMAP, X-IMAPbase, X-Keywords, X-Status, Status, Content-Length,
// X-Delivery-ID; names in any case), each removed with its continuation
// lines. Only the header section is looked at (as ScanHeader delimits it);
// the body passes unchanged, whatever it contains. r must be LF-normalised
// and start at a line; to keep the envelope block out, skip Scan.BlockLen
// bytes of r first. Memory is bounded by headerBuf.
func StripPrivate(r io.Reader) io.Reader {
	return &stripReader{br: bufio.NewReaderSize(r, headerBuf), inHeader: true}
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
			switch {
			case chunk[0] == '\n':
				s.inHeader = false // the empty line is kept
			case chunk[0] == ' ' || chunk[0] == '\t':
				if !s.seen {
					s.inHeader = false
				}
			default:
				name, _, ok := splitField(chunk)
				if ok {
					s.seen, s.drop = true, isPrivate(name)
				} else {
					s.inHeader = false
				}
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
