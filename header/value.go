package header

// Value accumulates a field value unfolded: the line breaks of its
// continuation lines removed and the space or tab that begins each
// continuation kept (RFC 5322 §2.2.3). Feed it the value bytes of the
// field's line (as Classify returns them) and then its continuation lines,
// chunk by chunk. It keeps at most Max bytes, so a value of any length
// costs bounded memory.
//
// The zero Value with Max set keeps every byte but LF. The options are the
// callers' rules, which differ:
//
//   - Trim drops spaces and tabs at both ends (deliver: a value is an
//     address and compared whole). Spaces and tabs inside are kept, also
//     when they reach Max, so a value too long to be an address stays too
//     long.
//   - DropCR drops every CR too, not only LF (convert: its input still has
//     CRLF line ends, and a lone CR has always been dropped with them).
//     Without it a CR is kept (deliver: its input is LF-normalised, so a
//     CR is a lone one, a control byte the address check refuses).
type Value struct {
	Max    int
	Trim   bool
	DropCR bool

	b   []byte
	ws  []byte // with Trim: spaces and tabs after b, kept if more follows (at most Max)
	wsN int64  // their number
}

// Reset empties v for the next field, keeping its options and memory.
func (v *Value) Reset() { v.b, v.ws, v.wsN = v.b[:0], v.ws[:0], 0 }

// Load makes b the value so far: Add appends to it, and Max counts it. A
// caller collecting several fields into one value loads what it has.
func (v *Value) Load(b []byte) { v.b, v.ws, v.wsN = b, v.ws[:0], 0 }

// Bytes returns the value so far. It is valid until the next Add or Reset.
func (v *Value) Bytes() []byte { return v.b }

// String returns the value so far.
func (v *Value) String() string { return string(v.b) }

// Add appends p, the next bytes of the value.
func (v *Value) Add(p []byte) {
	for _, c := range p {
		if len(v.b) >= v.Max {
			return // the rest cannot change what is kept
		}
		switch {
		case c == '\n', c == '\r' && v.DropCR:
			// Unfolding removes the line break and keeps the space or
			// tab that starts the next line.
		case v.Trim && (c == ' ' || c == '\t'):
			if len(v.b) == 0 {
				continue // leading
			}
			if len(v.ws) < v.Max {
				v.ws = append(v.ws, c)
			}
			v.wsN++
		default:
			if v.wsN > 0 {
				v.b = append(v.b, v.ws[:min(len(v.ws), v.Max-len(v.b))]...)
				v.ws, v.wsN = v.ws[:0], 0
				if len(v.b) >= v.Max {
					return
				}
			}
			v.b = append(v.b, c)
		}
	}
}
