package sys

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SyncDir fsyncs the directory dir through s, making the names created in
// it (a new mailbox, a message linked into new/) as durable as their data.
func SyncDir(s Sys, dir string) error {
	fd, err := s.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer s.Close(fd)
	if err := s.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// SyncDirFD is SyncDir for the directory open at dir (any descriptor of
// it, O_PATH included), named path in errors: the directory that was
// checked, not whatever its path leads to now.
func SyncDirFD(s Sys, dir int, path string) error {
	fd, err := s.OpenAt(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer s.Close(fd)
	if err := s.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// FileType names the file type of mode (a stat st_mode) for an error
// message: "a directory", "a symlink", "a FIFO", "a socket", "a device",
// "a regular file".
func FileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	}
	return "a regular file"
}
