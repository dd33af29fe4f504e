package locking

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/safeopen"
)

// verdict is the outcome of looking at someone else's lock.
type verdict int

const (
	live  verdict = iota // keep waiting
	broke                // we removed a stale lock: try again at once
	gone                 // it went away by itself: try again at once
)

// evaluate decides whether the foreign lock s1 is stale and, if so, breaks
// it (docs/locking.md §10.2). It sets a.nextCheck when the answer cannot
// change before then, so a waiter does not re-read a live lock every round.
func (a *acquirer) evaluate(s1 sys.Stat) verdict {
	a.inherited = nil // someone holds the lock: what we broke before is theirs to judge
	content, err := a.dir.readLock(a.lock)
	if errors.Is(err, unix.ENOENT) {
		return gone
	}
	// Unreadable content (Postfix and mutt create mode-0 locks) is judged as
	// a foreign lock, by age.
	o, own := parseOwner(content)
	a.holder = describeHolder(o, own, content)
	now := a.s.Now()

	if own && o.sameMachine(a.me) {
		// Row 14 and 20: a pid means something only on its own machine, and
		// only together with its start time (pids are reused). A holder
		// that cannot be asked is taken for alive.
		if alive, err := holderAlive(a.s, o); alive || err != nil {
			a.nextCheck = now.Add(min(time.Second, a.o.Refresh))
			return live
		}
		// The holder is provably dead: break at once (docs/design.md §6) — but only
		// the lock it held. Between our lookup and the liveness check, that
		// holder may have released and another taken the lock; the content
		// we read may even be the new holder's. Look again: the same inode
		// with the same token, or no break. (The rename-aside check would
		// catch the mistake too, but only after opening a window in which
		// a third waiter can link, so the restore fails and two hold.)
		s2, err := a.dir.Lstat(a.lock)
		if errors.Is(err, unix.ENOENT) {
			return gone
		}
		c2, _ := a.dir.readLock(a.lock)
		if err != nil || !unchanged(s1, s2) || !bytes.Equal(content, c2) {
			a.nextCheck = time.Time{}
			return live
		}
		return a.breakLock(s2, o, own)
	}

	threshold := a.o.staleAfter(own)
	srv, err := a.serverNow()
	if err != nil {
		a.cause = err
		return live
	}
	// Age in server time only (rows 11, 12, 13). ctime counts too: peers
	// that stamp explicit client times (Dovecot, flufl) still move ctime in
	// server time, and a future mtime simply looks fresh; a mtime set back
	// (touch -d) is a change too (docs/locking.md §10.8).
	age := srv.Sub(latest(s1.Mtime, s1.Ctime))
	if age < threshold {
		a.nextCheck = now.Add(min(threshold-age, a.o.confirm()))
		return live
	}
	if kernelLocked(a.s, a.dir.dir, a.mailbox) {
		// Dovecot's rule: a dot-lock whose mailbox is kernel-locked is in
		// use, however old it looks.
		a.o.Log.Info("old lock kept: the mailbox is kernel-locked", "lock", a.lock, "age", age.Round(time.Second))
		a.nextCheck = now.Add(a.o.confirm())
		return live
	}
	// Confirm: a holder that refreshes changes the lock within one refresh
	// interval; wait that long and require that nothing changed.
	if !a.wait(a.o.confirm()) {
		return live
	}
	s2, err := a.dir.Lstat(a.lock)
	if errors.Is(err, unix.ENOENT) {
		return gone
	}
	if err != nil {
		a.cause = fmt.Errorf("lstat %s: %w", a.lock, err)
		return live
	}
	c2, _ := a.dir.readLock(a.lock)
	if !unchanged(s1, s2) || !bytes.Equal(content, c2) {
		a.nextCheck = time.Time{}
		return live
	}
	return a.breakLock(s2, o, own)
}

// breakLock removes the stale lock st by renaming it aside to a private name
// and checking that what moved is st; what is not, it puts back (rows 8, 9).
func (a *acquirer) breakLock(st sys.Stat, o owner, own bool) verdict {
	aside, err := privateName(a.lock, "brk")
	if err != nil {
		a.cause = err
		return live
	}
	rerr := a.dir.Rename(a.lock, aside)
	moved, err := a.dir.Lstat(aside)
	if err != nil {
		switch {
		case rerr == nil:
			a.o.Log.Warn("rename reported success but the lock did not move", "lock", a.lock, "lookup", err)
			return live
		case errors.Is(rerr, unix.ENOENT):
			return gone
		}
		// Row 22: sticky directory, immutable file, read-only filesystem:
		// report it and keep waiting until the deadline.
		a.cause = fmt.Errorf("cannot break stale lock: rename %s: %w", a.lock, rerr)
		a.nextCheck = a.s.Now().Add(a.o.confirm())
		return live
	}
	if moved.SameFile(st) && moved.Size == st.Size && moved.Mtime.Equal(st.Mtime) {
		if err := removeAside(a.o, a.dir, aside, moved); err != nil {
			a.o.Log.Warn("cannot remove broken lock", "path", aside, "err", err)
		}
		a.o.Log.Warn("broke stale lock", "lock", a.lock, "holder", a.holder)
		if own && o.end > 0 {
			// The holder died during an append it recorded: remember the
			// mailbox as it is now, so that whoever takes the lock next
			// can take back a partial message (Lock, undoInterrupted).
			if mst, err := a.dir.Lstat(a.mailbox); err == nil && mst.Mode&unix.S_IFMT == unix.S_IFREG {
				a.inherited = &interrupted{off: o.off, end: o.end, seen: mst}
			}
		}
		if own {
			// The dead holder's unique file, if it died between creating and
			// removing it.
			if u, err := uniqueName(a.lock, o); err == nil {
				a.dir.Unlink(u)
			}
		}
		a.sweep()
		return broke
	}
	// We displaced a lock created after we judged the old one stale: put it
	// back. If that fails, its holder's next verification reports the loss.
	if err := a.dir.Link(aside, a.lock); err != nil {
		a.o.Log.Error("cannot restore a lock displaced while breaking a stale one", "lock", a.lock, "err", err)
	} else {
		a.o.Log.Warn("restored a fresh lock that replaced the stale one", "lock", a.lock)
	}
	a.dir.Unlink(aside)
	a.nextCheck = time.Time{}
	return live
}

// sweep removes letterbox's own leftovers next to the lock (unique, release
// and break files of crashed processes) that are older than the foreign stale
// threshold in server time. It runs only after a stale lock was broken, the
// one time a crash is known to have happened, so a busy spool directory is
// not read on every delivery.
func (a *acquirer) sweep() {
	paths, err := privateFiles(a.dir, a.lock)
	if err != nil {
		return
	}
	srv, err := a.serverNow()
	if err != nil {
		return
	}
	for _, p := range paths {
		if p == a.uniq {
			continue
		}
		st, err := a.dir.Lstat(p)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || srv.Sub(latest(st.Mtime, st.Ctime)) < a.o.StaleForeign {
			continue
		}
		if err := a.dir.Unlink(p); err == nil {
			a.o.Log.Info("removed leftover lock file", "path", p)
		}
	}
}

// privateFiles returns the paths of the files letterbox makes next to lock
// (see ownLeftover): one read of the directory, which on a busy spool is
// costly, so only for rare paths.
func privateFiles(d lockDir, lock string) ([]string, error) {
	names, err := d.ReadDir()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Base(lock) + "."
	var paths []string
	for _, name := range names {
		if rest, ok := strings.CutPrefix(name, prefix); ok && ownLeftover(rest) {
			paths = append(paths, filepath.Join(dirOf(lock), name))
		}
	}
	return paths, nil
}

// ownLeftover reports whether the part of a name after "MAILBOX.lock." is one
// letterbox makes: "rel.<hex>", "brk.<hex>" or "<host>.<pid>.<hex>".
func ownLeftover(rest string) bool {
	f := strings.Split(rest, ".")
	last := f[len(f)-1]
	if len(last) != 32 || strings.Trim(last, "0123456789abcdef") != "" {
		return false
	}
	switch {
	case len(f) == 2:
		return f[0] == "rel" || f[0] == "brk"
	case len(f) == 3:
		return f[1] != "" && strings.Trim(f[1], "0123456789") == ""
	}
	return false
}

// kernelLocked reports whether someone holds a kernel lock on the mailbox,
// in the directory dir. It opens the mailbox with a new open file
// description (through safeopen, so a planted symlink or FIFO is never
// opened) and asks with F_OFD_GETLK, which sees both OFD and classic fcntl
// locks; closing it cannot drop a lock this process holds, because
// letterbox takes OFD locks.
func kernelLocked(s sys.Sys, dir safeopen.Dir, mailbox string) bool {
	fd, err := safeopen.OpenIn(s, dir, filepath.Base(mailbox), safeopen.Options{Mode: safeopen.Probe, Owner: -1})
	if err != nil {
		return false
	}
	defer s.Close(fd)
	held, err := s.LockHolder(fd)
	return err == nil && held
}

func describeHolder(o owner, own bool, content []byte) string {
	if own {
		return o.describe()
	}
	c := strings.TrimSpace(string(content))
	if len(c) > 40 {
		c = c[:40]
	}
	if c == "" {
		return "another program"
	}
	return fmt.Sprintf("another program: %q", c)
}

func unchanged(a, b sys.Stat) bool {
	return a.SameFile(b) && a.Size == b.Size && a.Mtime.Equal(b.Mtime) && a.Ctime.Equal(b.Ctime)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
