package deliver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"letterbox/header"
)

// ScanHeader reads the header section as header.Classify delimits it, in
// chunks of at most header.ChunkSize bytes.

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
// Delivered-To: fields that the MTA prepended for this delivery (docs/design.md §3).
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
	lr := io.LimitReader(r, limit+1)
	br := bufio.NewReaderSize(lr, header.BufferFor(lr))
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
		if midLine {
			f.val.Add(chunk)
		} else {
			switch kind, name, value := header.Classify(chunk, f.seen, header.BareColonField); kind {
			case header.Empty:
				sc.HeaderLen, sc.HasBody = off+int64(len(chunk)), true
				return sc, nil
			case header.NotHeader:
				// A line that is no field, or a continuation of nothing:
				// the header section ended before it.
				sc.HeaderLen, sc.Malformed = off, true
				return sc, nil
			case header.Continuation:
				f.val.Add(chunk)
			case header.Field:
				k := kindOf(name)
				if inBlock && k != kindOther && !seen[k] {
					seen[k] = true
				} else {
					inBlock = false
				}
				f.start(k, inBlock)
				f.val.Add(value)
			}
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
	val   header.Value
}

func (f *fieldState) start(k fieldKind, block bool) {
	f.seen, f.open, f.kind, f.block = true, true, k, block
	f.val.Max, f.val.Trim = valueMax, true
	f.val.Reset()
}

// stripPrivate is header.StripPrivate, named here for the pipeline, whose
// functions have a variable named header. To keep the envelope block out,
// skip Scan.BlockLen bytes of the spool first.
var stripPrivate = header.StripPrivate
