package locking

import (
	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// openRW is an Opener for an existing mailbox.
func openRW(path string) Opener {
	return func() (int, error) {
		return sys.Real{}.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
}
