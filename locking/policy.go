package locking

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"letterbox/internal/sys"
)

// The defaults of the lock policy (docs/design.md §7). Every command that
// locks a mailbox, and "letterbox check" judging a lock, uses these unless
// the configuration says otherwise.
const (
	// DefaultTimeout is how long a delivery waits for a busy lock before it
	// gives up with a temporary failure.
	DefaultTimeout = 300 * time.Second
	// DefaultStaleOwn is the age, in server time, at which a letterbox lock
	// from another machine is stale: six refresh intervals.
	DefaultStaleOwn = 180 * time.Second
	// DefaultStaleForeign is the age at which another program's lock is
	// stale: longer than procmail's 1024 s, so that no peer that holds a
	// lock that long without touching it loses it to us.
	DefaultStaleForeign = 1200 * time.Second
	// DefaultRefresh is how often a held lock is touched.
	DefaultRefresh = 30 * time.Second
)

// DefaultMethods are the names of the default lock methods: the dot-lock
// and an OFD fcntl lock, what procmail, Postfix, mutt and Dovecot all honour
// on Debian.
var DefaultMethods = []string{"dotlock", "fcntl"}

// Policy is the lock an operator configures: the methods and the times of
// docs/design.md §7. It is parsed once, when the configuration is read.
type Policy struct {
	Methods      Methods
	Timeout      time.Duration
	StaleOwn     time.Duration
	StaleForeign time.Duration
	Refresh      time.Duration
}

// DefaultPolicy is the policy with no configuration.
func DefaultPolicy() Policy {
	m, err := ParseMethods(DefaultMethods)
	if err != nil {
		panic(err)
	}
	return Policy{Methods: m, Timeout: DefaultTimeout, StaleOwn: DefaultStaleOwn, StaleForeign: DefaultStaleForeign, Refresh: DefaultRefresh}
}

// Options returns the Options that take the lock p describes, through s,
// logging to log.
func (p Policy) Options(s sys.Sys, log *slog.Logger) Options {
	return Options{Sys: s, Timeout: p.Timeout, StaleOwn: p.StaleOwn, StaleForeign: p.StaleForeign, Refresh: p.Refresh, Log: log}
}

// Methods says which locks guard a mailbox.
type Methods struct {
	Dotlock bool
	Kernel  []sys.LockKind
	// DotlockMayFail continues with the kernel locks alone when the lock
	// directory may not be written (EACCES, EPERM, EROFS), as Postfix's
	// "dotlock may fail" does; otherwise that is an error.
	DotlockMayFail bool
	// TrustLocal takes kernel locks that an NFS mount keeps on this
	// machine (local_lock=, nolock) as if they reached the server; without
	// it such a lock is refused (LocalLockError). It is for a spool only
	// this machine writes.
	TrustLocal bool
}

// ParseMethods reads the names of mbox_locks (docs/design.md §7): "dotlock",
// "fcntl" (an OFD lock), "fcntl-classic" (a per-process POSIX lock) and
// "flock".
func ParseMethods(names []string) (Methods, error) {
	var m Methods
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return m, fmt.Errorf("%q named twice", n)
		}
		seen[n] = true
		switch n {
		case "dotlock":
			m.Dotlock = true
		case "fcntl":
			m.Kernel = append(m.Kernel, sys.OFD)
		case "fcntl-classic":
			m.Kernel = append(m.Kernel, sys.POSIX)
		case "flock":
			m.Kernel = append(m.Kernel, sys.Flock)
		default:
			return m, fmt.Errorf("%q is not one of dotlock, fcntl, fcntl-classic, flock", n)
		}
	}
	if seen["fcntl"] && seen["fcntl-classic"] {
		return m, errors.New("lock methods fcntl and fcntl-classic exclude each other")
	}
	if !m.Dotlock && len(m.Kernel) == 0 {
		return m, errors.New("no lock method given")
	}
	return m, nil
}

func (m Methods) String() string {
	var s []string
	if m.Dotlock {
		s = append(s, "dotlock")
	}
	for _, k := range m.Kernel {
		s = append(s, k.String())
	}
	return strings.Join(s, ",")
}
