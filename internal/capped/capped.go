// Package capped holds what a child process writes on a stream, up to a
// limit: the start of its standard error, for the one line that reports why
// it failed.
//
// A Buffer guarantees that the child is never blocked and never fills our
// memory: a write past the limit is discarded but reported done, so a
// chatty or hostile program (a sendmail wrapper, a delivery stuck in a
// loop) runs to its end instead of hanging on a pipe nobody reads, and
// costs at most Limit bytes. What it refuses is keeping the rest; the
// caller owes choosing a Limit and reading the Buffer after the child's
// Wait, which ends the writes.
package capped

import "bytes"

// Buffer keeps the first Limit bytes written to it. The zero Buffer keeps
// nothing.
type Buffer struct {
	Limit int
	buf   bytes.Buffer
}

// Write keeps what fits and reports all of p written.
func (b *Buffer) Write(p []byte) (int, error) {
	if n := b.Limit - b.buf.Len(); n > 0 {
		b.buf.Write(p[:min(n, len(p))])
	}
	return len(p), nil
}

// Bytes returns what was kept.
func (b *Buffer) Bytes() []byte { return b.buf.Bytes() }

// String returns what was kept.
func (b *Buffer) String() string { return b.buf.String() }
