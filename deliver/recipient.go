package deliver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/internal/passwd"
	"letterbox/internal/privs"
	"letterbox/internal/status"
)

// Users is the user database as getpwnam(3) and getpwuid(3) see it:
// passwd.System(), or a fake in tests.
type Users interface {
	Lookup(name string) (passwd.User, error)
	LookupID(uid int) (passwd.User, error)
}

// Recipient is whom a delivery is for and where it goes.
type Recipient struct {
	Mailbox string
	// User is the account the delivery is for, from -d or, without a
	// MAILBOX, the invoking user; nil when an explicit MAILBOX is given
	// without -d, which is delivered as the running identity.
	User *passwd.User
	// Groups are the supplementary groups to keep after switching to
	// User: the spool directory's group where the spool needs it
	// (docs/design.md §3).
	Groups []int

	invoker func() (string, error)
}

// Name names the account delivered for, for the default recipient address
// USER@hostname: User's name, else the invoking user's (Invoker). It is
// asked only when nothing else names the recipient.
func (r Recipient) Name() (string, error) {
	if r.User != nil {
		return r.User.Name, nil
	}
	if r.invoker == nil {
		return "", nil
	}
	return r.invoker()
}

// Invoker names the user who ran letterbox, as dovecot-lda finds it:
// $USER, else $LOGNAME (procmail sets only LOGNAME), else the name of the
// running uid in the user database. "" with no error means no name can be
// found (a uid without an entry).
func Invoker(getenv func(string) string, users Users) (string, error) {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v, nil
		}
	}
	u, err := users.LookupID(os.Getuid())
	switch {
	case errors.Is(err, passwd.ErrUnknown):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look up uid %d: %w", os.Getuid(), err)
	}
	return u.Name, nil
}

// ResolveRecipient finds the user and the mailbox of a delivery
// (docs/design.md §2.1): the user is userFlag (-d), else, when no mailbox is
// given, the invoking user (Invoker), looked up in users; the mailbox is
// mailbox, else home_mailbox below the user's home directory, else
// spool_dir/USER. An unknown user is permanent (5.1.1, EX_NOUSER); a lookup
// that fails is temporary (4.3.0).
func ResolveRecipient(cfg config.Config, userFlag, mailbox string, getenv func(string) string, users Users) (Recipient, error) {
	r := Recipient{Mailbox: mailbox, invoker: func() (string, error) { return Invoker(getenv, users) }}
	name := userFlag
	if name == "" && mailbox == "" {
		n, err := r.invoker()
		switch {
		case err != nil:
			return r, status.Temp("4.3.0", err)
		case n == "":
			return r, status.Temp("4.3.0", fmt.Errorf("no MAILBOX, and uid %d has no user name: give -d USER or MAILBOX", os.Getuid()))
		}
		name = n
	}
	if name != "" {
		u, err := users.Lookup(name)
		switch {
		case errors.Is(err, passwd.ErrUnknown):
			return r, status.Perm("5.1.1", status.NoUser, fmt.Errorf("unknown user %q", name))
		case err != nil:
			return r, status.Temp("4.3.0", fmt.Errorf("look up user %s: %w", name, err))
		}
		r.User = &u
	}
	switch {
	case r.Mailbox != "":
	case cfg.HomeMailbox == "":
		r.Mailbox = filepath.Join(cfg.SpoolDir, r.User.Name)
	default:
		// A relative or empty home would put the mailbox wherever the MTA
		// happened to start us.
		if !filepath.IsAbs(r.User.Home) {
			return r, status.Temp("4.3.0", fmt.Errorf("user %s has no absolute home directory (%q) for home_mailbox", r.User.Name, r.User.Home))
		}
		r.Mailbox = filepath.Join(r.User.Home, cfg.HomeMailbox)
		if strings.HasSuffix(cfg.HomeMailbox, "/") {
			r.Mailbox += "/" // "Maildir/": a Maildir, as in Postfix
		}
	}
	if r.User != nil && inDir(r.Mailbox, cfg.SpoolDir) {
		r.Groups = spoolGroup(cfg.SpoolDir)
	}
	return r, nil
}

// inDir reports whether path names an entry directly in dir.
func inDir(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	return err1 == nil && err2 == nil && filepath.Dir(p) == d
}

// spoolGroup is the group a user needs to create dot-locks and mailboxes in
// the spool directory: its group when the directory is group-writable and
// not world-writable (Debian's root:mail 2775 /var/mail), else none. A
// world-writable spool needs no group, and any other is not one that a
// group is meant to open (docs/peers.md §A.2).
func spoolGroup(dir string) []int {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil // the delivery reports the missing spool itself
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o020 == 0 || st.Mode&0o002 != 0 {
		return nil
	}
	return []int{int(st.Gid)}
}

// Become makes the process the recipient's user before anything of the
// mailbox is touched: as root, by dropping to the user for good, on every
// thread (internal/privs); as the user already, by doing nothing. Running
// as a third user is refused (temporary: an operator fixes the MTA's
// configuration) rather than writing one user's mail with another's rights.
func (r Recipient) Become() error {
	euid := os.Geteuid()
	switch {
	case r.User == nil || r.User.UID == euid:
		return nil
	case euid != 0:
		return status.Temp("4.3.0", fmt.Errorf("cannot deliver for %s (uid %d) as uid %d: run as root or as that user", r.User.Name, r.User.UID, euid))
	}
	if err := privs.Drop(r.User.UID, r.User.GID, r.Groups); err != nil {
		return status.Temp("4.3.0", fmt.Errorf("switch to user %s: %w", r.User.Name, err))
	}
	return nil
}
