package safeopen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// ErrUnsafe marks a mailbox that must not be opened: a symlink someone
// could have planted, a hard link, not a regular file, owned by someone
// else, or swapped while being opened.
var ErrUnsafe = errors.New("unsafe mailbox")

// Mode says what the caller will do with the file.
type Mode int

const (
	// Append opens for reading and appending (O_RDWR|O_APPEND): the tail
	// check reads, an exclusive fcntl lock needs a descriptor open for
	// writing. The file is created (mode 0600) when missing.
	Append Mode = iota
	// Read opens an existing file for reading and for the kernel lock
	// (O_RDWR, because an exclusive fcntl lock on NFS needs write access):
	// what a converter's source or "letterbox lock" needs.
	Read
	// Probe opens an existing file read-only, to test whether someone holds
	// a kernel lock on it. Nothing is taken with the descriptor.
	Probe
)

// Options say what Open may do and must check.
type Options struct {
	Mode Mode
	// Owner is the uid the file must belong to, or -1 for any.
	Owner int
	// NoCreate keeps Append from creating a missing file.
	NoCreate bool
}

// Open opens the mailbox file at path as the package comment describes. In
// Read and Probe mode, and in Append mode with NoCreate, a missing file is
// returned as an error wrapping unix.ENOENT; callers to which a missing
// mailbox means "nothing to lock" test for it.
func Open(s sys.Sys, path string, o Options) (int, error) {
	if err := TrustedPath(s, filepath.Dir(path)); err != nil {
		return -1, err
	}
	// O_NONBLOCK: a FIFO planted as the mailbox must not hang the caller;
	// it is refused below as not regular. O_NOFOLLOW: a symlink as the last
	// component is looked at before it is followed.
	flags := unix.O_NONBLOCK | unix.O_CLOEXEC
	switch o.Mode {
	case Append:
		flags |= unix.O_RDWR | unix.O_APPEND
	case Read:
		flags |= unix.O_RDWR
	case Probe:
		flags |= unix.O_RDONLY
	}
	created := false
	fd, err := s.Open(path, flags|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) && o.Mode == Append && !o.NoCreate {
		fd, err = s.Open(path, flags|unix.O_NOFOLLOW|unix.O_CREAT|unix.O_EXCL, 0o600)
		created = err == nil
		if errors.Is(err, unix.EEXIST) {
			// Someone created it between our two opens (not a letterbox: the
			// caller holds the dot-lock). Open what is there, with every check.
			fd, err = s.Open(path, flags|unix.O_NOFOLLOW, 0)
		}
	}
	followed := false
	if errors.Is(err, unix.ELOOP) {
		// The last component is a symlink: only a trusted one is followed.
		if terr := trustedLink(s, path); terr != nil {
			return -1, terr
		}
		fd, err = s.Open(path, flags, 0)
		followed = true
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	if err := checkOpened(s, fd, path, o.Owner, followed); err != nil {
		s.Close(fd)
		return -1, err
	}
	if created {
		if err := sys.SyncDir(s, filepath.Dir(path)); err != nil {
			s.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// checkOpened verifies what Open opened.
func checkOpened(s sys.Sys, fd int, path string, uid int, followed bool) error {
	st, err := s.Fstat(fd)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s: %w: not a regular file", path, ErrUnsafe)
	case st.Nlink != 1:
		// A hard link lets whoever made it read the mail (Postfix refuses
		// the same).
		return fmt.Errorf("%s: %w: file has %d hard links", path, ErrUnsafe, st.Nlink)
	case uid >= 0 && int(st.Uid) != uid:
		return fmt.Errorf("%s: %w: owned by uid %d, not %d", path, ErrUnsafe, st.Uid, uid)
	}
	if followed {
		return nil // the path is a trusted symlink; its target was checked above
	}
	// The name must still be the file we opened: no rename-and-replace
	// between open and check.
	ls, err := s.Lstat(path)
	if err != nil {
		return fmt.Errorf("lstat %s: %w", path, err)
	}
	if !ls.SameFile(st) {
		return fmt.Errorf("%s: %w: replaced while being opened", path, ErrUnsafe)
	}
	return nil
}

// Recheck proves, once every lock is held, that path still names the inode
// open at fd and that it still has one link. Postfix checks the link count
// but not that the name still leads to the file: a mailbox renamed away and
// replaced between open and lock would otherwise get the message while its
// reader looks at the new file. It returns the file's current attributes.
func Recheck(s sys.Sys, fd int, path string) (sys.Stat, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return st, fmt.Errorf("fstat %s: %w", path, err)
	}
	ls, err := s.Lstat(path)
	if err != nil {
		return st, fmt.Errorf("lstat %s: %w", path, err)
	}
	if st.Nlink != 1 || (!ls.SameFile(st) && ls.Mode&unix.S_IFMT != unix.S_IFLNK) {
		return st, fmt.Errorf("%s: %w: changed while being locked", path, ErrUnsafe)
	}
	return st, nil
}

// TrustedPath refuses a symlink in dir's path that an ordinary user could
// have planted: a user who can replace a directory of the path with a link
// can make root, or another user, write anywhere.
func TrustedPath(s sys.Sys, dir string) error {
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		return nil // relative to where the caller chose to run; nothing to climb
	}
	parts := strings.Split(dir, "/")
	for i := 2; i <= len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		st, err := s.Lstat(p)
		if err != nil {
			return fmt.Errorf("lstat %s: %w", p, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if err := trustedLink(s, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// trustedLink accepts a symlink owned by root in a directory owned by root
// that neither group nor others may write: only root could have made it.
func trustedLink(s sys.Sys, link string) error {
	st, err := s.Lstat(link)
	if err != nil {
		return fmt.Errorf("lstat %s: %w", link, err)
	}
	d, err := s.Lstat(filepath.Dir(link))
	if err != nil {
		return fmt.Errorf("lstat %s: %w", filepath.Dir(link), err)
	}
	if st.Uid != 0 || d.Uid != 0 || d.Mode&0o022 != 0 {
		return fmt.Errorf("%s: %w: is a symbolic link", link, ErrUnsafe)
	}
	return nil
}

// Owner is the uid a mailbox that letterbox writes must belong to, for
// Options.Owner: the running user's with strict_ownership (strict), and
// root's whenever running as root, whatever strict says. Root writing into
// a file a user controls is how a planted link or a swapped file becomes a
// root exploit (docs/peers.md §A.3); root writes a user's mailbox only
// after switching to that user. -1 means any owner.
func Owner(strict bool) int {
	euid := os.Geteuid()
	if strict || euid == 0 {
		return euid
	}
	return -1
}
