// Package header is the one owner of the header-section grammar that
// letterbox applies to a message on its way into or between mailboxes: what
// a header field line is, where the header section ends, how a field value
// is unfolded, which fields are private to an mbox, and how line ends are
// normalised to LF.
//
// # What it guarantees
//
// Everything here streams. A line is looked at in chunks of at most
// [ChunkSize] bytes, so memory is bounded whatever the length of a line or
// of the header section; a message of gigabytes with a header line of
// megabytes passes through a fixed buffer. Output is byte-exact: apart from
// the fields [StripPrivate] removes and the line ends [LFWriter] rewrites,
// every byte is written as it was read, 8-bit and NUL bytes included.
//
// # What it refuses
//
// It does not parse field bodies (addresses, dates, encoded words) and does
// not validate names beyond RFC 5322 §2.2 (printable US-ASCII other than
// the colon): a line that is not a field is not an error but the end of
// the header section (see [Classify]). It never invents a line: a header
// section without an empty line stays without one.
//
// # What the caller still owes
//
// The caller decides what a field means (the envelope block, flags, loop
// checks), checks addresses before writing them into a header, and feeds
// the header section from the start of a line. [StripPrivate] wants
// LF-normalised input; [Classify] accepts CRLF as well.
//
// # Why it is hand-written
//
// No library streams RFC 5322 header fields with bounded memory and
// byte-exact output: net/textproto and github.com/emersion/go-message read
// the whole header section into memory and canonicalise names, values and
// line ends, which a mail delivery agent must not do to the message it
// stores.
package header
