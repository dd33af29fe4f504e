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
	d, err := OpenDir(s, filepath.Dir(path))
	if err != nil {
		return -1, err
	}
	defer s.Close(d.FD)
	return openIn(s, d, filepath.Base(path), path, o)
}

// OpenIn is Open of the file name in the directory d, which OpenDir
// opened: the file is looked up in that directory, not by its path again,
// so a directory of the path swapped for a symlink since cannot redirect
// the open. Errors name the file as d.Path joined with name.
func OpenIn(s sys.Sys, d Dir, name string, o Options) (int, error) {
	return openIn(s, d, name, filepath.Join(d.Path, name), o)
}

func openIn(s sys.Sys, d Dir, name, path string, o Options) (int, error) {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		// More than one component would be resolved without the walk's
		// checks, and "." or ".." is a directory, never a mailbox.
		return -1, fmt.Errorf("open %s: %w: not a file name", path, ErrUnsafe)
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
	fd, err := s.OpenAt(d.FD, name, flags|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) && o.Mode == Append && !o.NoCreate {
		fd, err = s.OpenAt(d.FD, name, flags|unix.O_NOFOLLOW|unix.O_CREAT|unix.O_EXCL, 0o600)
		created = err == nil
		if errors.Is(err, unix.EEXIST) {
			// Someone created it between our two opens (not a letterbox: the
			// caller holds the dot-lock). Open what is there, with every check.
			fd, err = s.OpenAt(d.FD, name, flags|unix.O_NOFOLLOW, 0)
		}
	}
	followed := false
	if errors.Is(err, unix.ELOOP) {
		// The last component is a symlink: only a trusted one is followed.
		st, lerr := s.LstatAt(d.FD, name)
		if lerr != nil {
			return -1, fmt.Errorf("lstat %s: %w", path, lerr)
		}
		if terr := trustedLink(s, d, path, st); terr != nil {
			return -1, terr
		}
		fd, err = s.OpenAt(d.FD, name, flags, 0)
		followed = true
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	if err := checkOpened(s, fd, d, name, path, o.Owner, followed); err != nil {
		s.Close(fd)
		return -1, err
	}
	if created {
		if err := sys.SyncDirFD(s, d.FD, d.Path); err != nil {
			s.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// checkOpened verifies what Open opened as name in d.
func checkOpened(s sys.Sys, fd int, d Dir, name, path string, uid int, followed bool) error {
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
	ls, err := s.LstatAt(d.FD, name)
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

// Dir is a directory OpenDir proved safe to work in: FD is a descriptor
// of the very directory the checked walk of Path reached. Operations
// relative to FD (the *At calls of internal/sys, OpenIn) stay in that
// directory even if a directory of Path is swapped for a symlink later.
// The caller closes FD.
type Dir struct {
	FD   int
	Path string // cleaned, for messages
}

// dirFlags open a directory of the walk. O_PATH asks only for the search
// permission that resolving the path needed anyway (a home directory of
// mode 0711 must not stop delivery); the descriptor serves as the base of
// *at calls and for fstat.
const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// OpenDir opens the directory dir for a mailbox or a lock, refusing a
// symlink on the way that an ordinary user could have planted: a user who
// can replace a directory of the path with a link can make root, or
// another user, create and remove files anywhere. It walks dir one
// component at a time from "/" (from the working directory for a relative
// dir, which the caller chose), opening each with O_NOFOLLOW relative to
// the one before; a symlink is followed only when trustedLink allows it.
// So the descriptor returned is the directory the checked walk reached,
// not whatever the path leads to a moment later. A refusal wraps
// ErrUnsafe; other errors (ENOENT, EACCES, ENOTDIR) are wrapped with the
// open that failed. Nothing is created or changed.
func OpenDir(s sys.Sys, dir string) (Dir, error) {
	dir = filepath.Clean(dir)
	where := "" // the path walked so far, for messages
	if filepath.IsAbs(dir) {
		where = "/"
	}
	fd, err := s.OpenAt(unix.AT_FDCWD, filepath.Join(where, "."), dirFlags, 0)
	if err != nil {
		return Dir{FD: -1}, fmt.Errorf("open %s: %w", filepath.Join(where, "."), err)
	}
	for _, name := range strings.Split(dir, "/") {
		if name == "" || name == "." {
			continue
		}
		p := filepath.Join(where, name)
		next, err := s.OpenAt(fd, name, dirFlags|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			// O_PATH|O_NOFOLLOW stops at a symlink; with O_DIRECTORY the
			// kernel says ENOTDIR, as for a file. Look which it is.
			st, lerr := s.LstatAt(fd, name)
			if lerr == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				if terr := trustedLink(s, Dir{FD: fd, Path: where}, p, st); terr != nil {
					s.Close(fd)
					return Dir{FD: -1}, terr
				}
				// Only root could have made the link: its target is root's
				// choice, resolved by the kernel, as for a trusted last
				// component (Postfix's rule).
				next, err = s.OpenAt(fd, name, dirFlags, 0)
			}
		}
		s.Close(fd)
		if err != nil {
			return Dir{FD: -1}, fmt.Errorf("open %s: %w", p, err)
		}
		fd, where = next, p
	}
	return Dir{FD: fd, Path: dir}, nil
}

// trustedLink accepts the symlink link (its lstat), named path, in the
// directory d, when root owns it and d, and d may be written by neither
// group nor others: only root could have made it.
func trustedLink(s sys.Sys, d Dir, path string, link sys.Stat) error {
	st, err := s.Fstat(d.FD)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", filepath.Dir(path), err)
	}
	if link.Uid != 0 || st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: %w: is a symbolic link", path, ErrUnsafe)
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
