package locking

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/safeopen"
)

// State is what Inspect finds at MAILBOX.lock.
type State struct {
	Path   string
	Holder string        // what the lock's content says, trimmed; may be empty
	Age    time.Duration // since the lock last changed (the later of mtime and ctime), by the clock Inspect was given
	// MtimeAge is the age its mtime alone claims, which dotlockfile and
	// procmail judge by; it exceeds Age when the mtime was set back
	// (touch -d, a restore), which does not age a lock for letterbox
	// (docs/locking.md §10.8).
	MtimeAge time.Duration
	Stale    bool   // a waiter would break it
	Reason   string // why, in words for an operator
}

// Inspect judges the dot-lock of mailbox by the rules a waiter applies
// before it breaks one (docs/locking.md §10.2), and changes nothing: it is
// "letterbox check"'s view of a lock. It returns nil and no error when
// there is no lock.
//
// A waiter measures a lock's age in the file server's time, which it
// learns by touching a file of its own. Inspect writes nothing, so it
// measures against s.Now(): on NFS with a skewed clock the age it reports
// is approximate, and the verdict with it. Like a waiter, it takes the
// later of mtime and ctime as the last change (docs/locking.md §10.2).
func Inspect(s sys.Sys, mailbox string, o Options) (*State, error) {
	o = o.withDefaults()
	path := mailbox + ".lock"
	st, err := s.Lstat(path)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lstat %s: %w", path, err)
	}
	now := s.Now()
	l := &State{Path: path,
		Age:      max(now.Sub(latest(st.Mtime, st.Ctime)), 0).Round(time.Second),
		MtimeAge: max(now.Sub(st.Mtime), 0).Round(time.Second)}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		// Row 21: never broken, by letterbox or any peer.
		l.Stale, l.Reason = true, "not a regular file: no delivery agent can take or break it"
		return l, nil
	}
	content, rerr := readLock(s, unix.AT_FDCWD, path)
	if rerr == nil {
		l.Holder = strings.TrimSpace(string(content))
	}
	o2, own := parseOwner(content)
	me, ierr := myOwner(s)
	switch {
	case own && ierr == nil && o2.sameMachine(me):
		switch alive, err := holderAlive(s, o2); {
		case err != nil:
			l.Reason = fmt.Sprintf("cannot tell whether pid %d is alive: %v", o2.pid, err)
		case alive:
			l.Reason = fmt.Sprintf("held by pid %d on this machine, which is running", o2.pid)
		default:
			l.Stale, l.Reason = true, fmt.Sprintf("its holder, pid %d on this machine, is gone", o2.pid)
		}
	default:
		limit, whose := o.staleAfter(own), "another program's lock"
		if own {
			whose = "a letterbox lock from " + o2.host
		}
		if rerr != nil {
			whose += " (content unreadable: " + rerr.Error() + ")"
		}
		l.Stale = l.Age >= limit
		l.Reason = fmt.Sprintf("%s, unchanged for %s (stale after %s)", whose, l.Age, limit)
		if st.Ctime.Sub(st.Mtime) > time.Second {
			// The operator who back-dated it expects dotlockfile's rule.
			l.Reason += fmt.Sprintf("; its mtime says %s ago, but it was changed (ctime) %s ago, and letterbox counts the last change (docs/locking.md §10.8)", l.MtimeAge, l.Age)
		}
	}
	if l.Stale && inspectKernelLock(s, mailbox) {
		// Dovecot's rule: a dot-lock whose mailbox is kernel-locked is in
		// use, however old it looks.
		l.Stale = false
		l.Reason += "; but the mailbox's kernel lock is held, so its holder is alive"
	}
	return l, nil
}

// inspectKernelLock is kernelLocked for Inspect, which has no lock
// directory open: a directory safeopen refuses has no veto, as a mailbox it
// refuses has none.
func inspectKernelLock(s sys.Sys, mailbox string) bool {
	dir, err := safeopen.OpenDir(s, dirOf(mailbox))
	if err != nil {
		return false
	}
	defer s.Close(dir.FD)
	return kernelLocked(s, dir, mailbox)
}

// myOwner is this process as a lock's owner record names it, for
// sameMachine.
func myOwner(s sys.Sys) (owner, error) {
	id, err := s.Identity()
	if err != nil {
		return owner{}, err
	}
	return owner{host: clean(id.Host), boot: clean(id.Boot), pidns: clean(id.PidNS), pid: id.Pid, start: id.Start}, nil
}

// holderAlive reports whether the process o names, which ran on this
// machine (sameMachine), still runs: its pid exists with the start time
// recorded in the lock (rows 14, 20: pids are reused, and a pid means
// something only on its own machine). An error means it cannot be told.
func holderAlive(s sys.Sys, o owner) (bool, error) {
	start, err := s.ProcStart(o.pid)
	switch {
	case err == nil:
		return start == o.start, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, err
}

// staleAfter is the age at which a lock is stale when its holder cannot be
// asked: a letterbox lock from another machine after StaleOwn, any other
// program's after StaleForeign.
func (o Options) staleAfter(own bool) time.Duration {
	if own {
		return o.StaleOwn
	}
	return o.StaleForeign
}
