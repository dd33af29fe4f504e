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
