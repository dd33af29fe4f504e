package main

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

// recipient is whom a delivery is for and where it goes.
type recipient struct {
	mailbox string
	// user is the account the delivery is for, from -d or $USER; nil when
	// an explicit MAILBOX is given without -d, which is delivered as the
	// running identity.
	user *passwd.User
	// groups are the supplementary groups to keep after switching to user:
	// the spool directory's group where the spool needs it (DESIGN §3).
	groups []int
}

// resolveRecipient finds the user and the mailbox of a delivery (DESIGN
// §2.1): the user is -d USER, else $USER when no MAILBOX is given, looked up
// in the user database; the mailbox is MAILBOX, else home_mailbox below the
// user's home directory, else spool_dir/USER. An unknown user is permanent
// (5.1.1, EX_NOUSER); a lookup that fails is temporary.
func resolveRecipient(cfg config.Config, userFlag, mailbox string, lookup func(string) (passwd.User, error)) (recipient, error) {
	name := userFlag
	if name == "" && mailbox == "" {
		name = os.Getenv("USER")
		if name == "" {
			return recipient{}, usageError("deliver: no MAILBOX and no user (-d USER or $USER) (usage: %s)", deliverSynopsis)
		}
	}
	var r recipient
	if name != "" {
		u, err := lookup(name)
		switch {
		case errors.Is(err, passwd.ErrUnknown):
			return r, status.Perm("5.1.1", status.NoUser, fmt.Errorf("unknown user %q", name))
		case err != nil:
			return r, status.Temp("4.3.0", fmt.Errorf("look up user %s: %w", name, err))
		}
		r.user = &u
	}
	r.mailbox = mailbox
	switch {
	case r.mailbox != "":
	case cfg.HomeMailbox == "":
		r.mailbox = filepath.Join(cfg.SpoolDir, r.user.Name)
	default:
		// A relative or empty home would put the mailbox wherever the MTA
		// happened to start us.
		if !filepath.IsAbs(r.user.Home) {
			return r, status.Temp("4.3.0", fmt.Errorf("user %s has no absolute home directory (%q) for home_mailbox", r.user.Name, r.user.Home))
		}
		r.mailbox = filepath.Join(r.user.Home, cfg.HomeMailbox)
		if strings.HasSuffix(cfg.HomeMailbox, "/") {
			r.mailbox += "/" // "Maildir/": a Maildir, as in Postfix
		}
	}
	if r.user != nil && inDir(r.mailbox, cfg.SpoolDir) {
		r.groups = spoolGroup(cfg.SpoolDir)
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
// group is meant to open (postfix-dovecot.md §A.2).
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

// becomeRecipient makes the process the recipient's user before anything of
// the mailbox is touched: as root, by dropping to the user for good; as the
// user already, by doing nothing. Running as a third user is refused
// (temporary: an operator fixes the MTA's configuration) rather than writing
// one user's mail with another's rights.
func becomeRecipient(r recipient) error {
	euid := os.Geteuid()
	switch {
	case r.user == nil || r.user.UID == euid:
		return nil
	case euid != 0:
		return status.Temp("4.3.0", fmt.Errorf("cannot deliver for %s (uid %d) as uid %d: run as root or as that user", r.user.Name, r.user.UID, euid))
	}
	if err := privs.Drop(r.user.UID, r.user.GID, r.groups); err != nil {
		return status.Temp("4.3.0", fmt.Errorf("switch to user %s: %w", r.user.Name, err))
	}
	return nil
}
