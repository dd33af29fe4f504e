package convert

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// openMbox opens the mbox at path after its dot-lock is held, for the
// kernel lock and for reading (and, with O_APPEND in extra, appending):
// read-write, because an exclusive fcntl lock needs a descriptor open for
// writing; never following a symlink; never blocking on a FIFO. With
// create, a missing file is created (mode 0600) and its directory synced.
// It refuses what deliver refuses to write: a file that is not regular or
// has more than one link (a hard link lets whoever made it read the mail).
//
// The caller owns the descriptor.
func openMbox(s sys.Sys, path string, extra int, create bool) (int, error) {
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | extra
	fd, err := s.Open(path, flags, 0)
	created := false
	if errors.Is(err, unix.ENOENT) && create {
		fd, err = s.Open(path, flags|unix.O_CREAT|unix.O_EXCL, 0o600)
		created = err == nil
	}
	if errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("open %s: is a symbolic link", path)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := s.Fstat(fd)
	switch {
	case err != nil:
		err = fmt.Errorf("fstat %s: %w", path, err)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fmt.Errorf("%s: not a regular file", path)
	case st.Nlink != 1:
		err = fmt.Errorf("%s: has %d hard links", path, st.Nlink)
	case created:
		err = sys.SyncDir(s, filepath.Dir(path))
	}
	if err != nil {
		s.Close(fd)
		return -1, err
	}
	return fd, nil
}

// section returns a reader of the bytes [off, off+n) of fd.
func section(s sys.Sys, fd int, off, n int64) *io.SectionReader {
	return io.NewSectionReader(sys.ReaderAt{Sys: s, FD: fd}, off, n)
}
