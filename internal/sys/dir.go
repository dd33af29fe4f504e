package sys

import (
	"fmt"
	"path/filepath"

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

// MakeDirs creates dir and its missing parents through s, mode 0700, and
// with sync fsyncs the directory above each one it made, so that a mailbox
// or a folder made for a message is there after a crash as the message is.
// A directory another process made meanwhile is no error. It makes nothing
// and syncs nothing when dir exists.
func MakeDirs(s Sys, dir string, sync bool) error {
	var missing []string // innermost first
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := s.Lstat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := s.Mkdir(d, 0o700); err != nil {
			if _, serr := s.Lstat(d); serr != nil {
				return fmt.Errorf("create directory %s: %w", d, err)
			}
		}
		if sync {
			if err := SyncDir(s, filepath.Dir(d)); err != nil {
				return err
			}
		}
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
