package header

import "io"

// BufferFor is the size of a buffer for reading what is left of r in
// chunks of at most ChunkSize: ChunkSize, or less when r tells how much it
// holds — a message in memory is a *bytes.Reader, one in a file an
// *io.SectionReader — but always more than is left, so that a line is cut
// into no more chunks than ChunkSize would cut it and every reader here
// sees the same first chunk of every line. A delivery reads a message
// several times (its header scan, the size once quoted, the write), and a
// ChunkSize buffer for each pass over a message of a few KiB was most of
// the memory a delivery allocated.
func BufferFor(r io.Reader) int {
	left := leftIn(r)
	if left < 0 || left >= ChunkSize {
		return ChunkSize
	}
	return max(int(left)+1, 16) // bufio's smallest
}

// leftIn is at least what is left to read of r, or -1 if r does not say.
func leftIn(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(r.Len())
	case *io.SectionReader:
		return r.Size() // what is left is no more than the whole
	case *io.LimitedReader:
		if in := leftIn(r.R); in >= 0 {
			return min(r.N, in)
		}
		return r.N
	}
	return -1
}
