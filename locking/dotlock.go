package locking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/safeopen"
)

// Backoff between attempts while a lock is held by someone else. A delivery
// holds the lock for about a millisecond, so waiting starts small; the peers'
// fixed 5-8 s sleeps are what make them slower with two streams than with one
// (docs/peers.md §D). The cap keeps a waiter within a quarter second of a
// release however long it has waited.
//
// Waiters poll; they are not woken by inotify. It was tried: closing an
// inotify instance (at the latest when the process exits) waits for a kernel
// grace period of several milliseconds, which made two streams of
// "letterbox lock M -- true" slower than one (139 against 233 cycles/s);
// polling gives 391. On NFS, polling is all there is anyway.
const (
	minBackoff = time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// Dotlock is a held MAILBOX.lock. Its methods are safe for use by one
// goroutine at a time.
type Dotlock struct {
	o    Options
	path string   // MAILBOX.lock
	st   sys.Stat // the lock's inode, recorded when it became ours
	me   owner

	mu      sync.Mutex // content: Record writes it while a refresh verifies
	content []byte
	dir     lockDir // where every operation on the lock goes
	ownDir  bool    // Release closes dir (AcquireDotlock opened it)

	// inherited is the append a dead holder recorded in the lock this
	// acquirer broke before it took the lock; nil when none.
	inherited *interrupted
}

// interrupted is an append in progress that a broken lock recorded: the
// mailbox's size before it (off) and after it (end), and the mailbox as
// it was found when its lock was broken.
type interrupted struct {
	off, end int64
	seen     sys.Stat
}

// Path returns the lock file's path.
func (d *Dotlock) Path() string { return d.path }

// AcquireDotlock takes the dot-lock mailbox+".lock" (docs/locking.md §10.1),
// waiting until o.Timeout for a holder to release it and breaking it only when
// it is provably stale (§10.2). It returns a *BusyError when the deadline
// passes, ErrNotLockFile when the lock path is not a regular file, ctx's
// error when ctx ends first, and a wrapped errno for errors that waiting
// cannot cure (a missing or read-only directory, a name too long).
//
// Before anything is created, the mailbox's directory is opened by
// safeopen.OpenDir, which refuses (ErrUnsafe) a symlink on the path that
// an ordinary user could have planted; every operation on the lock then
// goes relative to that directory, for as long as the Dotlock lives.
//
// On every error, nothing of ours is left in the directory. On success the
// caller owes Release, and should call Refresh every o.Refresh while holding.
func AcquireDotlock(ctx context.Context, mailbox string, o Options) (*Dotlock, error) {
	o = o.withDefaults()
	dir, err := safeopen.OpenDir(o.Sys, dirOf(mailbox))
	if err != nil {
		return nil, err
	}
	d, err := acquireDotlock(ctx, lockDir{o.Sys, dir}, mailbox, o)
	if err != nil {
		o.Sys.Close(dir.FD)
		return nil, err
	}
	d.ownDir = true
	return d, nil
}

// acquireDotlock is AcquireDotlock in the directory dir, which the caller
// opened (safeopen.OpenDir) and keeps open while the Dotlock lives. o has
// its defaults.
func acquireDotlock(ctx context.Context, dir lockDir, mailbox string, o Options) (*Dotlock, error) {
	id, err := o.Sys.Identity()
	if err != nil {
		return nil, err
	}
	me, err := newOwner(id)
	if err != nil {
		return nil, err
	}
	a := &acquirer{ctx: ctx, o: o, s: o.Sys, dir: dir, mailbox: mailbox, lock: mailbox + ".lock", me: me}
	a.start = a.s.Now()
	a.deadline = a.start.Add(o.Timeout)
	d, err := a.run()
	a.cleanup()
	return d, err
}

// acquirer is the state of one AcquireDotlock call.
type acquirer struct {
	ctx     context.Context
	o       Options
	s       sys.Sys
	dir     lockDir // every operation on a lock file goes here
	mailbox string
	lock    string
	me      owner

	uniq    string   // our unique file, "" when there is none
	ust     sys.Stat // its identity
	touched time.Time
	srvNow  time.Time // server time at touched; zero until asked for

	start, deadline time.Time
	seen            sys.Stat  // the foreign lock last seen
	nextCheck       time.Time // no staleness check of seen before this
	holder          string    // who holds it, for the error message
	cause           error     // why the last attempt failed, when not just "held"

	full      error     // the last of the current run of ENOSPC/EDQUOT failures; nil when none
	fullSince time.Time // when that run began

	// inherited is the append recorded in the lock last broken, kept for
	// the Dotlock if the next attempt takes the lock; cleared whenever
	// someone else holds it again.
	inherited *interrupted
}

func (a *acquirer) run() (*Dotlock, error) {
	backoff := minBackoff
	absent := 0
	for attempt := 0; ; attempt++ {
		if err := a.ctx.Err(); err != nil {
			return nil, &InterruptedError{Mailbox: a.mailbox, Err: err}
		}
		if err := a.prepare(attempt); err != nil {
			if !transient(err) || a.stillFull(err) {
				return nil, err
			}
			a.cause = err // EIO may clear, and a sporadic ENOSPC/EDQUOT (row 18); retry
			if !a.sleep(&backoff) {
				return nil, a.busy()
			}
			continue
		}

		lerr := a.dir.Link(a.uniq, a.lock)
		// Decide by a fresh lookup, not by link's return: on NFS a lost reply
		// turns success into EEXIST, EIO or ETIMEDOUT (rows 1, 2, 27), and
		// nlink of the unique file may be stale or wrong (rows 3, 4).
		st, serr := a.dir.Lstat(a.lock)
		if serr == nil && st.SameFile(a.ust) {
			return a.won(st), nil
		}
		if lerr == nil {
			// link(2) said yes but the lookup does not show our inode: a
			// cached negative entry (row 5) or a filesystem that lies about
			// links (row 3). Ask again a few times, then go by the lookup.
			for i := 0; i < 3 && (serr != nil || !st.SameFile(a.ust)); i++ {
				st, serr = a.dir.Lstat(a.lock)
			}
			if serr == nil && st.SameFile(a.ust) {
				return a.won(st), nil
			}
			a.o.Log.Warn("link reported success but the lock is not ours", "lock", a.lock, "lookup", errString(serr))
		}
		// No room for the name, for spaceRetry now (row 18). Judged only
		// after the lookup: a link that said ENOSPC may have been done.
		var lfail error
		if lerr != nil {
			lfail = fmt.Errorf("link %s to %s: %w", a.uniq, a.lock, lerr)
		}
		if a.stillFull(lfail) {
			return nil, lfail
		}
		switch {
		case lerr == nil, errors.Is(lerr, unix.EEXIST):
		case errors.Is(lerr, unix.ENOENT):
			// Our unique file is gone (swept by an impatient peer?) or the
			// directory went away; make a new one, which tells which. If
			// it is still there after all, it goes, with any name a
			// replayed rename gave it.
			a.cleanup()
			continue
		case transient(lerr):
			a.cause = fmt.Errorf("link %s: %w", a.lock, lerr)
		default:
			// EACCES, EPERM (hard links not allowed), EROFS, EMLINK...: no
			// amount of waiting helps (row 17).
			return nil, fmt.Errorf("link %s to %s: %w", a.uniq, a.lock, lerr)
		}

		if serr != nil {
			if !vanished(serr) {
				a.cause = fmt.Errorf("lstat %s: %w", a.lock, serr)
			} else if absent++; absent < 3 {
				// The lock vanished between link and lookup, or the lookup
				// was a cached negative entry: link again at once, it is
				// the server's answer that counts (rows 5, 10).
				continue
			}
			if !a.sleep(&backoff) {
				return nil, a.busy()
			}
			continue
		}
		absent = 0
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			// Row 21: never break or remove a directory, symlink or device
			// someone put there; waiting will not make it a lock.
			return nil, fmt.Errorf("%s: %w (%s)", a.lock, ErrNotLockFile, sys.FileType(st.Mode))
		}

		if !st.SameFile(a.seen) || !st.Mtime.Equal(a.seen.Mtime) || st.Size != a.seen.Size {
			// A new holder, or a refresh: progress, so wait briefly again.
			a.seen = st
			a.nextCheck = time.Time{}
			backoff = minBackoff
		}
		if !a.s.Now().Before(a.nextCheck) {
			switch v := a.evaluate(st); v {
			case broke, gone:
				continue
			}
		}
		if !a.sleep(&backoff) {
			return nil, a.busy()
		}
	}
}

// prepare makes sure a unique file exists and, after the first attempt, is
// fresh: it is touched in server time before each link, so that the lock it
// becomes is never born stale after a long wait (row 16: liblockfile's locks are born stale).
func (a *acquirer) prepare(attempt int) error {
	if a.uniq == "" {
		return a.createUnique()
	}
	if attempt == 0 {
		return nil
	}
	if err := a.dir.Touch(a.uniq); err != nil {
		if errors.Is(err, unix.ENOENT) {
			a.uniq = ""
			return a.createUnique()
		}
		return fmt.Errorf("touch %s: %w", a.uniq, err)
	}
	a.touched, a.srvNow = a.s.Now(), time.Time{}
	return nil
}

// stillFull tracks runs of ENOSPC/EDQUOT failures to make the lock: err is
// the outcome of one step (creating the unique file, linking it; nil for
// success). It reports true when err is such a failure and the run it
// belongs to has lasted spaceRetry, so that a full file system fails quickly
// with its own error instead of being waited on as a busy lock until the
// deadline (row 18). Any other outcome ends the run.
func (a *acquirer) stillFull(err error) bool {
	if !noSpace(err) {
		a.full = nil
		return false
	}
	now := a.s.Now()
	if a.full == nil {
		a.fullSince = now
	}
	a.full = err
	return now.Sub(a.fullSince) >= spaceRetry
}

// createUnique creates, fills and closes our unique file, checking write and
// close: NFS reports ENOSPC and EDQUOT as late as close (row 18).
func (a *acquirer) createUnique() error {
	for tries := 0; ; tries++ {
		u, err := uniqueName(a.lock, a.me)
		if err != nil {
			return err
		}
		fd, err := a.dir.Open(u, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if errors.Is(err, unix.EEXIST) && tries < 3 {
			// The name holds our pid and 128 random bits: what is there
			// is ours, created by an O_EXCL create whose reply was lost
			// (an NFS retransmission finds the file). Remove it, so it
			// is not left behind, and take a new name.
			a.dir.Unlink(u)
			if a.me.tok, err = randomHex(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", u, err)
		}
		content := []byte(a.me.String())
		st, err := writeFile(a.s, fd, content)
		if cerr := a.s.Close(fd); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
		if err != nil {
			a.dir.Unlink(u)
			return fmt.Errorf("write %s: %w", u, err)
		}
		a.uniq, a.ust = u, st
		a.touched, a.srvNow = a.s.Now(), time.Time{}
		return nil
	}
}

// writeFile writes all of b to fd, handling short writes, and returns fd's
// attributes.
func writeFile(s sys.Sys, fd int, b []byte) (sys.Stat, error) {
	for len(b) > 0 {
		n, err := s.Write(fd, b)
		if err != nil {
			return sys.Stat{}, err
		}
		if n == 0 {
			return sys.Stat{}, unix.EIO
		}
		b = b[n:]
	}
	return s.Fstat(fd)
}

func (a *acquirer) won(st sys.Stat) *Dotlock {
	if err := a.dir.Unlink(a.uniq); err != nil && !errors.Is(err, unix.ENOENT) {
		// The lock is ours either way; the extra name ages out and is swept.
		a.o.Log.Warn("cannot remove unique file", "path", a.uniq, "err", err)
	}
	d := &Dotlock{o: a.o, path: a.lock, content: []byte(a.me.String()), st: st, me: a.me, dir: a.dir, inherited: a.inherited}
	a.uniq = ""
	return d
}

// cleanup removes what the attempt leaves behind on any exit path.
func (a *acquirer) cleanup() {
	if a.uniq != "" {
		if st, err := a.dir.Lstat(a.uniq); err == nil && st.Nlink > 1 {
			// Linked as the lock and moved away by a replayed rename
			// (the link "succeeded" but the lock was gone at once).
			removeAliases(a.o, a.dir, a.lock, st, a.uniq)
		}
		if err := a.dir.Unlink(a.uniq); err != nil && !errors.Is(err, unix.ENOENT) {
			a.o.Log.Warn("cannot remove unique file", "path", a.uniq, "err", err)
		}
		a.uniq = ""
	}
}

// busy is the error for a wait that ended: an *InterruptedError when ctx
// ended it, the space error when the file system was full to the last
// (row 18: a deadline shorter than spaceRetry must not turn it into "busy"),
// else a *BusyError.
func (a *acquirer) busy() error {
	if err := a.ctx.Err(); err != nil {
		return &InterruptedError{Mailbox: a.mailbox, Err: err}
	}
	if a.full != nil {
		return a.full
	}
	return &BusyError{Lock: a.lock, Waited: a.s.Now().Sub(a.start), Holder: a.holder, Cause: a.cause}
}

// sleep waits a jittered *backoff, or until ctx ends or the deadline
// passes, and grows *backoff. It reports false at the deadline.
func (a *acquirer) sleep(backoff *time.Duration) bool {
	d := *backoff/2 + rand.N(*backoff/2+1)
	*backoff = min(*backoff*8/5, maxBackoff)
	return a.wait(d)
}

// wait waits d, cut to the deadline. It reports false when the deadline has
// passed or ctx ended.
func (a *acquirer) wait(d time.Duration) bool {
	left := a.deadline.Sub(a.s.Now())
	if left <= 0 || a.ctx.Err() != nil {
		return false
	}
	t := time.NewTimer(min(d, left))
	defer t.Stop()
	select {
	case <-t.C:
	case <-a.ctx.Done():
		return false
	}
	return true
}

// serverNow is the file server's current time: the mtime our unique file got
// when it was last created or touched, plus the local monotonic time since.
// Ages of locks are measured against it, never against the local clock, so
// that clock skew between hosts neither breaks live locks nor keeps dead ones
// (rows 11, 12; docs/locking.md §10.2).
func (a *acquirer) serverNow() (time.Time, error) {
	if a.srvNow.IsZero() {
		st, err := a.dir.Lstat(a.uniq)
		if err != nil {
			return time.Time{}, fmt.Errorf("lstat %s: %w", a.uniq, err)
		}
		a.srvNow = st.Mtime
	}
	return a.srvNow.Add(a.s.Now().Sub(a.touched)), nil
}

// readLock returns up to 512 bytes of the lock file name in the directory
// open at dir (unix.AT_FDCWD: name is a path).
func readLock(s sys.Sys, dir int, name string) ([]byte, error) {
	fd, err := s.OpenAt(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer s.Close(fd)
	buf := make([]byte, 512)
	n := 0
	for n < len(buf) {
		m, err := s.Read(fd, buf[n:])
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// Verify proves the lock is still ours: the lock path names our inode and
// holds our token (inode numbers are reused quickly once a file is deleted).
// It returns an error wrapping ErrLost when it is not, and another error when
// it cannot tell.
func (d *Dotlock) Verify() error {
	if err := d.ourInode(); err != nil {
		return err
	}
	c, err := d.dir.readLock(d.path)
	if vanished(err) {
		// Renamed or removed between the lookup and the open.
		return fmt.Errorf("%s: %w: removed by someone else", d.path, ErrLost)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", d.path, err)
	}
	d.mu.Lock()
	ours := bytes.Equal(c, d.content)
	d.mu.Unlock()
	if !ours {
		return fmt.Errorf("%s: %w: replaced by someone else", d.path, ErrLost)
	}
	return nil
}

// ourInode looks the lock name up, without opening it, and reports
// ErrLost unless it leads to our inode. Whoever opens the lock looks first:
// a descriptor on another holder's lock, open while that holder's release
// removes it on the same NFS client, makes the client keep the file as a
// .nfs* leftover, and the lock is not ours to read or write anyway.
func (d *Dotlock) ourInode() error {
	st, err := d.dir.Lstat(d.path)
	// ESTALE: the name led to a file the server no longer has, and the
	// kernel's one retry met the same; ask again before believing it.
	for i := 0; i < 2 && errors.Is(err, unix.ESTALE); i++ {
		st, err = d.dir.Lstat(d.path)
	}
	if vanished(err) {
		return fmt.Errorf("%s: %w: removed by someone else", d.path, ErrLost)
	}
	if err != nil {
		return fmt.Errorf("lstat %s: %w", d.path, err)
	}
	if !st.SameFile(d.st) {
		return fmt.Errorf("%s: %w: replaced by someone else", d.path, ErrLost)
	}
	return nil
}

// Record writes into the lock that an append is in progress: the mailbox
// had off bytes before it and will have end bytes after it. A waiter that
// breaks this lock because its holder died takes back a partial append
// (docs/locking.md §10.2: an interrupted append): a mailbox whose size
// lies strictly between off and end holds a message that was never
// acknowledged, since the holder acknowledges only after the append is
// whole and durable. A whole append (size end) is never taken back: its
// writer may have reported success before its release was lost. Record
// rewrites the lock file in place, only if it is still our inode.
func (d *Dotlock) Record(off, end int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	me := d.me
	me.off, me.end = off, end
	c := []byte(me.String())
	s := d.o.Sys
	if err := d.ourInode(); err != nil {
		return err
	}
	fd, err := d.dir.Open(d.path, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if vanished(err) {
		return fmt.Errorf("%s: %w: removed by someone else", d.path, ErrLost)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", d.path, err)
	}
	defer s.Close(fd)
	// Replaced between the lookup and the open: still never write into a
	// lock that is not ours.
	st, err := s.Fstat(fd)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", d.path, err)
	}
	if !st.SameFile(d.st) {
		return fmt.Errorf("%s: %w: replaced by someone else", d.path, ErrLost)
	}
	_, err = writeFile(s, fd, c) // at offset 0, over the old content
	if err == nil {
		err = s.Ftruncate(fd, int64(len(c)))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	d.content = c
	return nil
}

// Refresh verifies the lock is ours and then sets its times to the server's
// now, so that no peer's stale rule (liblockfile 300 s, Postfix 500 s,
// Dovecot 120 s) ever sees it old (row 15). It never touches a lock that is
// not ours.
func (d *Dotlock) Refresh() error {
	if err := d.Verify(); err != nil {
		return err
	}
	if err := d.dir.Touch(d.path); err != nil {
		return fmt.Errorf("touch %s: %w", d.path, err)
	}
	return nil
}

// Release gives the lock up (docs/locking.md §10.4): it renames the lock to a
// fresh private name, checks that what it moved is ours, and removes that
// name. What it moved by mistake (a replayed or late rename of someone else's
// lock, row 7) it puts back. It returns an error wrapping ErrLost when the
// lock was not ours any more; it never removes a lock that is not.
func (d *Dotlock) Release() error {
	if d.ownDir {
		// Once: a second Release must not close a reused descriptor.
		d.ownDir = false
		defer d.dir.close()
	}
	if err := d.Verify(); err != nil {
		if errors.Is(err, ErrLost) {
			d.removeDisplaced()
		}
		return err
	}
	s := d.dir
	aside, err := privateName(d.path, "rel")
	if err != nil {
		return err
	}
	var rerr error
	for try := 0; try < 3; try++ {
		// Retrying with the same target is idempotent: a rename that was
		// done already fails with ENOENT and the check below sees our inode.
		if rerr = s.Rename(d.path, aside); rerr == nil || !transient(rerr) {
			break
		}
	}
	st, err := s.Lstat(aside)
	switch {
	case err == nil && st.SameFile(d.st):
		if err := removeAside(d.o, s, aside, d.st); err != nil {
			return err
		}
		if st.Nlink > 1 {
			// Another name for our lock: a replayed rename moved it
			// while we were acquiring, and we linked it in again.
			d.removeDisplaced()
		}
		return nil
	case err == nil:
		// We moved a lock that is not ours: a replay of an earlier rename
		// executed after someone else took the lock, or a breaker's lock
		// created in between. Put it back at once.
		lerr := s.Link(aside, d.path)
		s.Unlink(aside)
		if lerr != nil {
			d.o.Log.Error("cannot restore a displaced lock; its holder will notice", "lock", d.path, "err", lerr)
		} else {
			d.o.Log.Warn("restored a lock displaced by a replayed rename", "lock", d.path)
		}
		d.removeDisplaced()
		return fmt.Errorf("%s: %w: another lock stood in its place at release", d.path, ErrLost)
	case errors.Is(rerr, unix.ENOENT):
		d.removeDisplaced()
		return fmt.Errorf("%s: %w: vanished before release", d.path, ErrLost)
	case rerr != nil:
		// Never fall back to unlink by name: the lock is left to age out.
		return fmt.Errorf("rename %s: %w", d.path, rerr)
	default:
		return fmt.Errorf("lstat %s after rename: %w", aside, err)
	}
}

// removeAside removes aside, a private name that a moment ago named st.
// Nobody else uses that name, so an unlink that finds nothing there was not
// ours to lose: it was an NFS client's silly rename — the file was open on
// this client, a waiter reading it, so the client renamed it to .nfs*
// instead — whose RENAME the server ran a second time after losing its
// reply cache (docs/locking.md §10.9). The second run failed, the client
// reported the unlink failed and forgot the .nfs* name, and nothing would
// ever remove it. Find it by its inode and remove it: if it is still open
// here, the client renames it again, this time keeping track.
func removeAside(o Options, s lockDir, aside string, st sys.Stat) error {
	err := s.Unlink(aside)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unlink %s: %w", aside, err)
	}
	names, rerr := s.ReadDir()
	if rerr != nil {
		return nil
	}
	var silly []string
	for _, name := range names {
		if strings.HasPrefix(name, ".nfs") {
			silly = append(silly, filepath.Join(dirOf(aside), name))
		}
	}
	removeInode(o, s, silly, st, "removed a lock the NFS client had renamed aside and lost")
	return nil
}

// removeDisplaced removes our lock where a replayed rename of someone else's
// release moved it: to one of the private names letterbox uses next to the
// lock. Nobody else would ever remove it before it ages out (sweep).
func (d *Dotlock) removeDisplaced() { removeAliases(d.o, d.dir, d.path, d.st, "") }

// removeAliases removes the private names next to lock (see ownLeftover)
// that name the inode st, except keep: names of our own file that a replayed
// rename made. Only our own inode is removed.
func removeAliases(o Options, s lockDir, lock string, st sys.Stat, keep string) {
	paths, err := privateFiles(s, lock)
	if err != nil {
		return
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return p == keep })
	removeInode(o, s, paths, st, "removed our lock file from where a replayed rename had moved it")
}

// removeInode removes those of paths that name the inode st, and logs msg
// for each. Only that inode is ever removed.
func removeInode(o Options, s lockDir, paths []string, st sys.Stat, msg string) {
	for _, p := range paths {
		if lst, err := s.Lstat(p); err == nil && lst.SameFile(st) {
			if err := s.Unlink(p); err == nil {
				o.Log.Warn(msg, "path", p)
			}
		}
	}
}

// vanished reports an error that says the name no longer leads to a file: it
// does not exist, or (NFS) the file it led to is gone from the server.
func vanished(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESTALE) }

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// dirOf is filepath.Dir, named for what the lock code uses it for.
func dirOf(path string) string { return filepath.Dir(path) }
