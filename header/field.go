package header

import "bytes"

// ChunkSize is the most of a line the readers here look at in one piece:
// lines are read in chunks of at most ChunkSize bytes, so memory is bounded
// whatever the length of a line. A field whose name and colon are not
// within the first chunk of its line is not a field.
const ChunkSize = 64 << 10

// Line is what the first chunk of a line is to the header section.
type Line int

const (
	// Field starts a header field: "Name: value", or "Name : value" in the
	// obsolete syntax of RFC 5322 §4.5.
	Field Line = iota
	// Continuation is a folded line of the field before it (RFC 5322
	// §2.2.3): it begins with a space or tab.
	Continuation
	// Empty is the empty line ("\n", or "\r\n" in input not yet
	// normalised) that ends the header section (RFC 5322 §2.1). It belongs
	// to the header section.
	Empty
	// NotHeader is a line that is neither a field nor a continuation of
	// one. The header section ends before it: it and everything after it
	// is the body.
	NotHeader
)

// BareColon says what [Classify] makes of a first chunk that ends right
// after the colon: "Name:" with no value byte and no line end after it.
// That is a line longer than the chunk whose name and colon fill it, or a
// message that ends there without a line end. The two callers have always
// differed here, and a message's bytes depend on it, so the caller says.
type BareColon bool

const (
	// BareColonField takes it for a field whose value goes on (deliver:
	// its input always ends in a line end, so only the long line is
	// possible).
	BareColonField BareColon = true
	// BareColonBody takes it for a line that is not a field (convert: a
	// message ending in "Status:" keeps it as body, and a name that fills
	// a whole chunk is no field anyone wrote).
	BareColonBody BareColon = false
)

// Classify says what chunk, the first chunk of a line (at most ChunkSize
// bytes, with its line end if it has one), is in a header section in which
// a field has (afterField) or has not yet been seen. For a Field it returns
// the name and the value bytes after the colon, line end included.
//
// This is the one rule for where a header section ends, as deliver and
// convert write messages: at the empty line, or before the first line that
// is neither a field nor a continuation, Postfix's rule (a continuation
// before any field is such a line). mbox.Reader and mailcheck read the
// header section of a stored message differently: it ends at the first
// empty line only, and every line before it is header. Making the two one
// rule is a change of this function.
func Classify(chunk []byte, afterField bool, bare BareColon) (kind Line, name, value []byte) {
	switch {
	case len(chunk) == 0:
		return NotHeader, nil, nil // no line at all; callers stop before
	case chunk[0] == '\n' || bytes.Equal(chunk, []byte("\r\n")):
		return Empty, nil, nil
	case chunk[0] == ' ' || chunk[0] == '\t':
		if !afterField {
			return NotHeader, nil, nil
		}
		return Continuation, nil, nil
	}
	name, value, ok := splitField(chunk)
	if !ok || (len(value) == 0 && bare == BareColonBody) {
		return NotHeader, nil, nil
	}
	return Field, name, value
}

// splitField splits the first chunk of a line into a field name and the
// value bytes after the colon; ok is false if the line is not a field. A
// name is one or more printable US-ASCII characters other than the colon
// (RFC 5322 §2.2); spaces and tabs between it and the colon are the
// obsolete syntax of §4.5 and accepted.
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

// privateFields are the fields IMAP servers and mail readers keep in mbox
// files for their own state (Dovecot, UW c-client, mutt, Pine). A message
// arriving with them could fake its flags, UIDs or length in the mailbox,
// and a message moved between mailboxes carries the old mailbox's state.
var privateFields = [...]string{
	"Status",
	"X-Status",
	"X-Keywords",
	"X-UID",
	"X-IMAP",
	"X-IMAPbase",
	"Content-Length",
	"X-Delivery-ID",
}

// IsPrivate reports whether name, a field name as Classify returns it, is
// an mbox-private field: Status, X-Status, X-Keywords, X-UID, X-IMAP,
// X-IMAPbase, Content-Length or X-Delivery-ID, in any case (field names
// are case-insensitive, RFC 5322 §1.2.2).
func IsPrivate(name []byte) bool {
	for _, p := range privateFields {
		if Is(name, p) {
			return true
		}
	}
	return false
}

// Is reports whether name is the field name want, in any case.
func Is(name []byte, want string) bool {
	return len(name) == len(want) && bytes.EqualFold(name, []byte(want))
}
