package deliver

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/maildir"
	"letterbox/safeopen"
)

// deliverMaildir stores the message in the Maildir r.Mailbox, or in its
// Maildir++ folder r.Folder: the prepended header, then the message after
// the MTA's envelope block — no From_ line, no quoting (docs/design.md §5). It
// returns the bytes stored and the new file's path.
func deliverMaildir(r Request, m *Message, header []byte) (int64, string, error) {
	root := filepath.Clean(r.Mailbox)
	// A root asked for as a Maildir — named with a trailing slash, or with
	// --format maildir — is created on first delivery when create_folders
	// allows, as Postfix does for home_mailbox = Maildir/. Otherwise a
	// path is a Maildir only because one exists there.
	asked := strings.HasSuffix(r.Mailbox, "/") || r.Maildir
	if err := maildir.Make(r.Sys, root, asked && r.Config.CreateFolders); err != nil {
		return 0, "", status.Of(err, root, r.Config.QuotaTempfail)
	}
	if r.Folder != "" {
		f, err := maildir.ParseFolder(r.Folder)
		if err != nil {
			return 0, "", status.Perm("5.3.0", status.Usage, err)
		}
		switch dir, err := maildir.MakeFolder(r.Sys, root, f, r.Config.CreateFolders || r.createFolder); {
		case errors.Is(err, maildir.ErrNoFolder):
			// As dovecot-lda does: INBOX rather than a bounce.
			r.Log.Warn("folder does not exist and create_folders is off; delivering to INBOX", "folder", r.Folder, "maildir", root)
		case err != nil:
			return 0, "", status.Of(err, root, r.Config.QuotaTempfail)
		default:
			root = dir
		}
	}
	if uid := safeopen.Owner(r.Config.StrictOwnership); uid >= 0 {
		if err := checkOwner(r.Sys, root, uid); err != nil {
			return 0, "", status.Of(err, root, r.Config.QuotaTempfail)
		}
	}
	// The name carries the size (",S="), so it must be known before the
	// first byte is written.
	content, size, _, err := m.stored(r.Config.StripMboxPrivateHeaders)
	if err != nil {
		return 0, "", status.Temp("4.3.0", fmt.Errorf("read message: %w", err))
	}
	size += int64(len(header))
	if err := messageLimit(r.Config, size); err != nil {
		return 0, "", err
	}
	id, err := r.Sys.Identity()
	if err != nil {
		return 0, "", status.Temp("4.3.0", err)
	}
	path, err := maildir.Deliver(r.Sys, root, io.MultiReader(strings.NewReader(string(header)), content), size,
		maildir.Options{Host: id.Host, Pid: id.Pid, Now: r.Now(), Fsync: r.Config.Fsync, Flags: r.flags.Flags})
	if err != nil {
		return 0, "", status.Of(err, root, r.Config.QuotaTempfail)
	}
	return size, path, nil
}

// checkOwner refuses a Maildir whose new/ is not owned by uid: files written
// there would belong to the wrong user (root's unreadable to the owner, or
// one user's mail in another's store).
func checkOwner(s sys.Sys, root string, uid int) error {
	dir := filepath.Join(root, "new")
	st, err := s.Lstat(dir)
	if err != nil {
		return fmt.Errorf("lstat %s: %w", dir, err)
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("%s: %w: owned by uid %d, not %d", dir, safeopen.ErrUnsafe, st.Uid, uid)
	}
	return nil
}
