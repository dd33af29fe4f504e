package deliver

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// errUnsafe marks a mailbox that must not be written: a symlink, a hard
// link, not a regular file, owned by someone else. It is temporary for the
// MTA (DESIGN §2.1): an operator fixes it and the mail is retried.
var errUnsafe = errors.New("unsafe mailbox")

// openMbox opens the mbox at path for appending, creating it (mode 0600) if
// it does not exist, after the dot-lock is held (DESIGN §4 step 2):
// O_RDWR|O_APPEND (read for the tail check, write for the exclusive fcntl
// lock), O_NOFOLLOW (no symlink in the last component), O_NONBLOCK (a FIFO
// must not hang delivery), O_CLOEXEC. It refuses, with an error wrapping
// errUnsafe: a symlink anywhere in the path that an ordinary user could have
// planted (only root-owned links in root-owned directories that nobody else
// may write are followed, Postfix's rule), a file that is not regular, a
// file with more than one link, a file not owned by uid (when uid >= 0), and
// a path whose lstat does not name the inode opened. A created mailbox has
// its directory fsynced, so the new name is as durable as the data.
//
// The caller owns the descriptor.
func openMbox(s sys.Sys, path string, uid int) (int, error) {
	if err := trustedPath(s, filepath.Dir(path)); err != nil {
		return -1, err
	}
	const flags = unix.O_RDWR | unix.O_APPEND | unix.O_NONBLOCK | unix.O_CLOEXEC
	created := false
	fd, err := s.Open(path, flags|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) {
		fd, err = s.Open(path, flags|unix.O_NOFOLLOW|unix.O_CREAT|unix.O_EXCL, 0o600)
		created = err == nil
		if errors.Is(err, unix.EEXIST) {
			// Someone created it between our two opens (not a letterbox:
			// we hold the dot-lock). Open what is there, with every check.
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
	if err := checkOpened(s, fd, path, uid, followed); err != nil {
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

// checkOpened verifies what openMbox opened.
func checkOpened(s sys.Sys, fd int, path string, uid int, followed bool) error {
	st, err := s.Fstat(fd)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s: %w: not a regular file", path, errUnsafe)
	case st.Nlink != 1:
		// A hard link lets whoever made it read the mail (Postfix refuses
		// the same).
		return fmt.Errorf("%s: %w: file has %d hard links", path, errUnsafe, st.Nlink)
	case uid >= 0 && int(st.Uid) != uid:
		return fmt.Errorf("%s: %w: owned by uid %d, not %d", path, errUnsafe, st.Uid, uid)
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
		return fmt.Errorf("%s: %w: replaced while being opened", path, errUnsafe)
	}
	return nil
}

// recheck proves, once every lock is held, that path still names the inode
// open at fd with one link (DESIGN §4 step 4: Postfix checks the link count
// but not that the name still points at the file).
func recheck(s sys.Sys, fd int, path string) (sys.Stat, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return st, fmt.Errorf("fstat %s: %w", path, err)
	}
	ls, err := s.Lstat(path)
	if err != nil {
		return st, fmt.Errorf("lstat %s: %w", path, err)
	}
	if st.Nlink != 1 || (!ls.SameFile(st) && ls.Mode&unix.S_IFMT != unix.S_IFLNK) {
		return st, fmt.Errorf("%s: %w: changed while being locked", path, errUnsafe)
	}
	return st, nil
}

// trustedPath refuses a symlink in dir's path that an ordinary user could
// have planted: a user who can replace a directory of the path with a link
// can make root, or another user, write anywhere.
func trustedPath(s sys.Sys, dir string) error {
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
		return fmt.Errorf("%s: %w: is a symbolic link", link, errUnsafe)
	}
	return nil
}
