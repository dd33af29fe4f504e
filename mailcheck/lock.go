package mailcheck

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// checkLock looks at MAILBOX.lock, the dot-lock every delivery agent takes,
// and judges it as letterbox's lock does before breaking one
// (nfs-locking.md §10.2): a letterbox lock from this machine is stale when
// its holder process is gone; any other is stale past an age; and no lock
// is stale while someone holds the mailbox's kernel lock. The age is taken
// on the local clock: a check writes nothing, so it cannot learn the file
// server's time as the lock itself does, and on NFS with a skewed clock
// the age is approximate.
func checkLock(r *Report, mailbox string, o Options) error {
	s := o.Sys
	path := mailbox + ".lock"
	st, err := s.Lstat(path)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lstat %s: %w", path, err)
	}
	l := &Lock{Path: path}
	r.Lock = l
	changed := st.Mtime
	if st.Ctime.After(changed) {
		changed = st.Ctime
	}
	l.Age = max(s.Now().Sub(changed), 0).Round(time.Second)
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		l.Stale, l.Reason = true, "not a regular file: no delivery agent can take or break it"
		problems(r, KindStaleLock).add(Finding{Offset: -1, Path: path, Detail: l.Reason})
		return nil
	}
	content, rerr := readSmall(o, path)
	if rerr == nil {
		l.Holder = strings.TrimSpace(content)
	}
	own, host, boot, pidns, pid, start := parseLetterboxLock(content)
	me, ierr := s.Identity()
	switch {
	case own && ierr == nil && host == me.Host && boot == me.Boot && pidns == me.PidNS:
		got, err := s.ProcStart(pid)
		switch {
		case err == nil && got == start:
			l.Reason = fmt.Sprintf("held by pid %d on this machine, which is running", pid)
		case err == nil || errors.Is(err, unix.ENOENT):
			l.Stale, l.Reason = true, fmt.Sprintf("its holder, pid %d on this machine, is gone", pid)
		default:
			l.Reason = fmt.Sprintf("cannot tell whether pid %d is alive: %v", pid, err)
		}
	default:
		limit, whose := o.StaleForeign, "another program's lock"
		if own {
			limit, whose = o.StaleOwn, "a letterbox lock from "+host
		}
		if rerr != nil {
			whose += " (content unreadable: " + rerr.Error() + ")"
		}
		l.Stale = l.Age >= limit
		l.Reason = fmt.Sprintf("%s, unchanged for %s (stale after %s)", whose, l.Age, limit)
	}
	if l.Stale && kernelLocked(o, mailbox) {
		l.Stale = false
		l.Reason += "; but the mailbox's kernel lock is held, so its holder is alive"
	}
	f := Finding{Offset: -1, Path: path, Detail: l.Reason}
	if l.Stale {
		problems(r, KindStaleLock).add(f)
	} else {
		notes(r, KindLock).add(f)
	}
	return nil
}

// readSmall returns the first 512 bytes of path.
func readSmall(o Options, path string) (string, error) {
	fd, err := o.Sys.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer o.Sys.Close(fd)
	var b [512]byte
	n, err := o.Sys.Read(fd, b[:])
	return string(b[:max(n, 0)]), err
}

// parseLetterboxLock reads the one line a letterbox lock holds
// ("letterbox tok=.. host=.. boot=.. pidns=.. pid=.. start=..", see package
// locking); own is false for anything else.
func parseLetterboxLock(content string) (own bool, host, boot, pidns string, pid int, start uint64) {
	f := strings.Fields(content)
	if len(f) != 7 || f[0] != "letterbox" {
		return false, "", "", "", 0, 0
	}
	var perr, serr error = errors.New("no pid"), errors.New("no start")
	for _, w := range f[1:] {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "host":
			host = v
		case "boot":
			boot = v
		case "pidns":
			pidns = v
		case "pid":
			pid, perr = strconv.Atoi(v)
		case "start":
			start, serr = strconv.ParseUint(v, 10, 64)
		}
	}
	return perr == nil && serr == nil && pid > 0 && host != "", host, boot, pidns, pid, start
}

// kernelLocked reports whether another process holds an fcntl lock on the
// mailbox (a test with F_OFD_GETLK; it takes nothing).
func kernelLocked(o Options, mailbox string) bool {
	fd, err := o.Sys.Open(mailbox, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer o.Sys.Close(fd)
	held, err := o.Sys.LockHolder(fd)
	return err == nil && held
}
