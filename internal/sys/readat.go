package sys

import "io"

// ReaderAt reads the file open at FD through Sys at any offset: an
// io.ReaderAt (for io.SectionReader, and so for mbox.Reader's
// Content-Length checks) without an *os.File. It reads until p is full or
// the file ends, as io.ReaderAt requires.
type ReaderAt struct {
	Sys Sys
	FD  int
}

func (f ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := f.Sys.Pread(f.FD, p[n:], off+int64(n))
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}
