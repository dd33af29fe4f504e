package statefile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/safeopen"
)

const (
	// MaxSize is how much of a state file is read. An entry takes under
	// 100 bytes, so MaxEntries fit several times over.
	MaxSize = 4 << 20
	// MaxEntries is how many entries a table keeps; past it, those that
	// expire first are dropped.
	MaxEntries = 20000
	// MaxKey is the longest key accepted: a hex SHA-256 (Key) is 64.
	MaxKey = 256
)

// ErrBadKey is returned by Update when fn called Put with a key that may
// not be stored (see Put).
var ErrBadKey = errors.New("invalid state file key")

// Table is the content of a state file while Update holds its lock.
type Table struct {
	now     time.Time
	m       map[string]int64 // key -> expiry, Unix seconds
	changed bool
	err     error // the first bad key given to Put
}

// Get returns when key expires, and whether it is present and not yet
// expired at Update's now.
func (t *Table) Get(key string) (expires time.Time, ok bool) {
	e, ok := t.m[key]
	if !ok || !live(e, t.now) {
		return time.Time{}, false
	}
	return time.Unix(e, 0), true
}

// Put sets key to expire at expires (to the second). A key must be 1 to
// MaxKey bytes of printable ASCII without spaces, since it is stored as
// the rest of a line; any other key makes Update fail with ErrBadKey and
// write nothing.
func (t *Table) Put(key string, expires time.Time) {
	if !validKey(key) {
		if t.err == nil {
			t.err = fmt.Errorf("%w: %q", ErrBadKey, key)
		}
		return
	}
	t.m[key] = expires.Unix()
	t.changed = true
}

// Delete removes key.
func (t *Table) Delete(key string) {
	if _, ok := t.m[key]; ok {
		delete(t.m, key)
		t.changed = true
	}
}

// Len is the number of entries, expired ones included until the next write.
func (t *Table) Len() int { return len(t.m) }

// Key is a key for the parts: the hex SHA-256 of the parts joined by NUL
// bytes, so no part can run into the next, and the file names no address.
func Key(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// Update locks the state file at path with the lock pol describes,
// creating the file (mode 0600) and its directory (mode 0700) if missing,
// reads it, calls fn with its table, and if fn changed the table writes it
// back as the package comment describes; the lock is released before it
// returns. The zero Policy means locking.DefaultPolicy's methods. An error of fn is returned as it is, and nothing is written.
// Other errors wrap those of locking.Acquire and safeopen (for
// status.Of), or the system call that failed.
func Update(ctx context.Context, s sys.Sys, path string, pol locking.Policy, now time.Time, fn func(t *Table) error) error {
	if s == nil {
		s = sys.Real{}
	}
	dir := filepath.Dir(path)
	// The directory is the user's private one: 0700 keeps other users
	// from reading whom the user answered and from planting names in it.
	if err := s.Mkdir(dir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("make state directory %s: %w", dir, err)
	}
	open := &safeopen.Options{Mode: safeopen.Append, Owner: safeopen.Owner(true)}
	if !pol.Methods.Dotlock && len(pol.Methods.Kernel) == 0 {
		// The zero Policy: the default lock, never none at all.
		pol.Methods = locking.DefaultPolicy().Methods
	}
	o := pol.Options(s, nil)
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = locking.DefaultTimeout
	}
	start := s.Now()
	// retry waits a moment before the next attempt after the file was
	// replaced under us; it gives up, as a busy lock does, after the lock
	// timeout.
	retry := func(try int) error {
		if waited := s.Now().Sub(start); waited >= timeout {
			return &locking.BusyError{Lock: path, Waited: waited, Cause: errReplaced}
		}
		t := time.NewTimer(time.Duration(1+rand.IntN(min(try+1, 20))) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return &locking.InterruptedError{Mailbox: path, Err: ctx.Err()}
		}
	}
	for try := 0; ; try++ {
		lk, err := locking.Acquire(ctx, path, pol.Methods, o, open)
		if err != nil {
			if errors.Is(err, safeopen.ErrUnsafe) && plainFile(s, path) {
				// Without a dot-lock, another writer may rename its new
				// version in while we open the old one, which safeopen then
				// sees with no link or replaced: a race, not a planted file,
				// when what the name leads to now is a plain file.
				if rerr := retry(try); rerr != nil {
					return fmt.Errorf("lock state file: %w", rerr)
				}
				continue
			}
			return fmt.Errorf("lock state file: %w", err)
		}
		same, err := stillNamed(s, lk.FD(), path)
		if err == nil && !same {
			// Another writer renamed its new version over the file between
			// our open and our kernel lock: the lock guards a dead inode.
			lk.Release()
			if rerr := retry(try); rerr != nil {
				return fmt.Errorf("lock state file: %w", rerr)
			}
			continue
		}
		if err == nil {
			err = update(s, lk, path, now, fn)
		}
		if rerr := lk.Release(); err == nil && rerr != nil && !errors.Is(rerr, locking.ErrLost) {
			// After the rename the new file stands whatever the release
			// says: Check proved the lock ours before it. A lost dot-lock at
			// release is the same case deliver tolerates (a displaced lock
			// after the commit); anything else is reported.
			return fmt.Errorf("release state file lock: %w", rerr)
		}
		return err
	}
}

var errReplaced = errors.New("the state file was replaced by other writers at every attempt")

// plainFile reports whether path is now a regular file of ours with one
// link: what safeopen would accept.
func plainFile(s sys.Sys, path string) bool {
	st, err := s.Lstat(path)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1 && int(st.Uid) == safeopen.Owner(true)
}

// stillNamed reports whether path names the inode open at fd. A symlink is
// refused even where safeopen trusts it (root's, in root's directory):
// the rename that replaces the file would replace the link, not its target.
func stillNamed(s sys.Sys, fd int, path string) (bool, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return false, fmt.Errorf("fstat %s: %w", path, err)
	}
	ls, err := s.Lstat(path)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lstat %s: %w", path, err)
	}
	if ls.Mode&unix.S_IFMT == unix.S_IFLNK {
		return false, fmt.Errorf("%s: %w: is a symbolic link", path, safeopen.ErrUnsafe)
	}
	return ls.SameFile(st), nil
}

func update(s sys.Sys, lk *locking.Lock, path string, now time.Time, fn func(t *Table) error) error {
	b, err := readAll(s, lk.FD(), path)
	if err != nil {
		return err
	}
	t := &Table{now: now, m: parse(b, now)}
	if err := fn(t); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	if !t.changed {
		return nil
	}
	return replace(s, lk, path, format(t.m, now))
}

// readAll reads at most MaxSize bytes of the file open at fd.
func readAll(s sys.Sys, fd int, path string) ([]byte, error) {
	st, err := s.Fstat(fd)
	if err != nil {
		return nil, fmt.Errorf("fstat %s: %w", path, err)
	}
	b := make([]byte, min(st.Size, MaxSize))
	n, err := sys.ReaderAt{Sys: s, FD: fd}.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// io.EOF: the file is shorter than it was a moment ago; what was read
	// is all there is.
	return b[:n], nil
}

// parse reads the entries of b that are live at now; a line that is not
// "EXPIRY KEY" is skipped, and so is an incomplete last line (a file cut at
// MaxSize).
func parse(b []byte, now time.Time) map[string]int64 {
	m := map[string]int64{}
	for len(b) > 0 {
		i := slices.Index(b, '\n')
		if i < 0 {
			break
		}
		line := string(b[:i])
		b = b[i+1:]
		exp, key, ok := strings.Cut(line, " ")
		if !ok || !validKey(key) || exp == "" || exp[0] == '+' || exp[0] == '-' {
			continue
		}
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || !live(e, now) {
			continue
		}
		if old, ok := m[key]; !ok || e > old {
			m[key] = e
		}
	}
	capEntries(m)
	return m
}

// capEntries drops the entries that expire first until MaxEntries remain.
func capEntries(m map[string]int64) {
	if len(m) <= MaxEntries {
		return
	}
	keys := sortedKeys(m)
	for _, k := range keys[:len(keys)-MaxEntries] {
		delete(m, k)
	}
}

// sortedKeys are m's keys by expiry, then key.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] < m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// format is the file's new content: the live entries, those that expire
// first first.
func format(m map[string]int64, now time.Time) []byte {
	for k, e := range m {
		if !live(e, now) {
			delete(m, k)
		}
	}
	capEntries(m)
	var b []byte
	for _, k := range sortedKeys(m) {
		b = strconv.AppendInt(b, m[k], 10)
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '\n')
	}
	return b
}

func live(expiry int64, now time.Time) bool { return expiry > now.Unix() }

func validKey(k string) bool {
	if k == "" || len(k) > MaxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// replace puts content in place of the file at path: written to
// PATH.new, fsynced, the lock proven ours, renamed over path, and the
// directory fsynced. On an error before the rename the old file stands and
// PATH.new is removed.
func replace(s sys.Sys, lk *locking.Lock, path string, content []byte) error {
	d, err := safeopen.OpenDir(s, filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open state directory: %w", err)
	}
	defer s.Close(d.FD)
	base := filepath.Base(path)
	tmp := base + ".new"
	tmpPath := filepath.Join(d.Path, tmp)
	// A PATH.new left by a writer that crashed is ours to remove: only a
	// holder of the lock writes it. Removing it first, then O_EXCL with
	// O_NOFOLLOW, means we never write through a link someone left there.
	if err := s.UnlinkAt(d.FD, tmp); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", tmpPath, err)
	}
	fd, err := s.OpenAt(d.FD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmpPath, err)
	}
	st, err := writeSync(s, fd, tmpPath, content)
	if cerr := s.Close(fd); err == nil && cerr != nil {
		// NFS reports a write error (ENOSPC, EDQUOT) at close.
		err = fmt.Errorf("close %s: %w", tmpPath, cerr)
	}
	if err == nil {
		// Last moment to find the lock lost (broken by another host after a
		// hang): renaming now could overwrite that host's update.
		err = lk.Check()
	}
	if err != nil {
		s.UnlinkAt(d.FD, tmp)
		return err
	}
	if err := s.RenameAt(d.FD, tmp, base); err != nil {
		// A lost NFS reply: the rename was done and its retransmission
		// failed. The name then has our inode.
		if ls, lerr := s.LstatAt(d.FD, base); lerr != nil || !ls.SameFile(st) {
			s.UnlinkAt(d.FD, tmp)
			return fmt.Errorf("rename %s to %s: %w", tmpPath, base, err)
		}
	}
	if err := sys.SyncDirFD(s, d.FD, d.Path); err != nil {
		// The new name may not be durable; the old file or the new one is
		// there after a crash, either a whole table. Report it so the
		// caller can decide (a tracked vacation is not worth a bounce).
		return err
	}
	return nil
}

// writeSync writes all of b to fd and fsyncs it, returning its attributes.
func writeSync(s sys.Sys, fd int, path string, b []byte) (sys.Stat, error) {
	for len(b) > 0 {
		n, err := s.Write(fd, b)
		if err != nil {
			return sys.Stat{}, fmt.Errorf("write %s: %w", path, err)
		}
		b = b[n:]
	}
	if err := s.Fsync(fd); err != nil {
		return sys.Stat{}, fmt.Errorf("fsync %s: %w", path, err)
	}
	st, err := s.Fstat(fd)
	if err != nil {
		return st, fmt.Errorf("fstat %s: %w", path, err)
	}
	return st, nil
}
