package maildir

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// Options tune Deliver.
type Options struct {
	Host string    // for the name; no DNS
	Pid  int       // for the name
	Now  time.Time // for the name
	// Fsync makes the message and its name durable before Deliver
	// returns. Off only for benchmarks (docs/design.md §7).
	Fsync bool
	// Flags are Maildir info letters (mailflag.State.Flags), sorted: a
	// message with flags is stored in cur/ as NAME:2,FLAGS, since a name
	// in new/ carries none; without, in new/.
	Flags string
}

// dest is the directory a message with o's flags goes to, and the suffix
// of its name there.
func (o Options) dest() (dir, suffix string) {
	if o.Flags == "" {
		return "new", ""
	}
	return "cur", ":2," + o.Flags
}

// bufSize is the size of the writes to the tmp file.
const bufSize = 256 << 10

// Deliver writes the size bytes of content into the Maildir at root and
// returns the path of the new file in new/ (cur/NAME:2,FLAGS with o.Flags;
// docs/design.md §5):
//
//   - tmp/NAME is created O_EXCL|O_NOFOLLOW, mode 0600, written, checked to
//     hold exactly size bytes, fsynced and closed (close errors count: NFS
//     reports ENOSPC and EDQUOT there);
//   - it is hard-linked to new/NAME: link never replaces a file, so a name
//     that exists means another message and a new name; a link error whose
//     destination holds our inode is success (a lost NFS reply);
//   - new/ is fsynced, then tmp/NAME removed.
//
// Missing tmp/, new/ and cur/ are created (0700) under an existing root.
// On every failure, nothing is left in new/ and the tmp file is removed.
func Deliver(s sys.Sys, root string, content io.Reader, size int64, o Options) (string, error) {
	if err := Make(s, root, false); err != nil {
		return "", err
	}
	name, tmp, fd, err := createTmp(s, root, size, o)
	if err != nil {
		return "", err
	}
	if err := fill(s, fd, content, size, o.Fsync); err != nil {
		s.Close(fd)
		s.Unlink(tmp)
		return "", fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := s.Close(fd); err != nil {
		s.Unlink(tmp)
		return "", fmt.Errorf("close %s: %w", tmp, err)
	}
	dst, err := publish(s, root, name, tmp, size, o)
	if err == nil && o.Fsync {
		dir, _ := o.dest()
		if err = sys.SyncDir(s, filepath.Join(root, dir)); err != nil {
			// Not durable: take it back, so a retry cannot duplicate it.
			s.Unlink(dst)
		}
	}
	// The tmp name goes in every case; an error here only leaves a file
	// that readers ignore and cleaners remove after 36 hours.
	s.Unlink(tmp)
	if err != nil {
		return "", err
	}
	return dst, nil
}

// createTmp creates tmp/NAME, picking a new name while one exists.
func createTmp(s sys.Sys, root string, size int64, o Options) (name, path string, fd int, err error) {
	for try := 0; try < 5; try++ {
		if name, err = Name(o.Now, o.Pid, o.Host, size); err != nil {
			return "", "", -1, err
		}
		path = filepath.Join(root, "tmp", name)
		fd, err = s.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return "", "", -1, fmt.Errorf("create %s: %w", path, err)
	}
	return name, path, fd, nil
}

// fill writes content to fd in large chunks, checks the size, and fsyncs.
func fill(s sys.Sys, fd int, content io.Reader, size int64, fsync bool) error {
	buf := make([]byte, bufSize)
	var n int64
	for {
		k, rerr := io.ReadFull(content, buf)
		for p := buf[:k]; len(p) > 0; {
			w, err := s.Write(fd, p)
			if err != nil {
				return err
			}
			if w == 0 {
				return unix.EIO // a write that writes nothing would loop forever
			}
			p, n = p[w:], n+int64(w)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read message: %w", rerr)
		}
	}
	// The name promises S=size: a short message or a foreign writer would
	// make it lie.
	if st, err := s.Fstat(fd); err != nil {
		return err
	} else if n != size || st.Size != size {
		return fmt.Errorf("wrote %d bytes, file has %d, want %d", n, st.Size, size)
	}
	if fsync {
		return s.Fsync(fd)
	}
	return nil
}

// publish links tmp to new/NAME, or to a new name if NAME is taken by
// another file.
func publish(s sys.Sys, root, name, tmp string, size int64, o Options) (string, error) {
	ts, err := s.Lstat(tmp)
	if err != nil {
		return "", fmt.Errorf("lstat %s: %w", tmp, err)
	}
	dir, suffix := o.dest()
	for try := 0; try < 5; try++ {
		dst := filepath.Join(root, dir, name+suffix)
		lerr := s.Link(tmp, dst)
		// Decide by what the destination holds, not by link's answer: on
		// NFS a lost reply turns success into EEXIST or EIO.
		ds, serr := s.Lstat(dst)
		if serr == nil && ds.SameFile(ts) {
			return dst, nil
		}
		if lerr == nil {
			return "", fmt.Errorf("link %s: succeeded but %s is not the message", tmp, dst)
		}
		if !errors.Is(lerr, unix.EEXIST) {
			return "", fmt.Errorf("link %s to %s: %w", tmp, dst, lerr)
		}
		// Another message has this name (clock and random collided, or a
		// file was planted): never replace it; take a new name.
		if name, err = Name(o.Now, o.Pid, o.Host, size); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("link %s: no free name in %s", tmp, filepath.Join(root, dir))
}

// Make creates the tmp/, new/ and cur/ directories of a Maildir (0700).
// The root itself is created only if createRoot; otherwise a missing root
// is an error, since a typo in a path must not become a new mailbox.
func Make(s sys.Sys, root string, createRoot bool) error {
	if createRoot {
		if err := s.Mkdir(root, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", root, err)
		}
	}
	st, err := s.Lstat(root)
	if err != nil {
		return fmt.Errorf("maildir %s: %w", root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("maildir %s: not a directory", root)
	}
	for _, d := range []string{"tmp", "new", "cur"} {
		p := filepath.Join(root, d)
		if err := s.Mkdir(p, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", p, err)
		}
	}
	return nil
}
