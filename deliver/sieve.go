package deliver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"letterbox/config"
	"letterbox/maildir"
	"letterbox/sieve"
)

// Filtered reports whether a delivery for r runs Sieve scripts: an admin
// script is configured, or the recipient's own script exists (Route asks
// it). It only stats files; what they hold is judged when they are loaded.
func (r Request) Filtered() bool {
	c := r.Config
	if len(c.SieveBefore) > 0 || len(c.SieveAfter) > 0 {
		return true
	}
	p, ok := r.personalScript()
	if !ok {
		return false
	}
	// Followed, not through the seam's Lstat: ~/.dovecot.sieve is usually a
	// link to the active script, as ManageSieve keeps it.
	_, err := os.Stat(p)
	return err == nil
}

// personalScript is the path of the recipient's own script, if there can
// be one: sieve_script, with "~/" below r.Home.
func (r Request) personalScript() (string, bool) {
	if r.Config.SieveScript == "" {
		return "", false
	}
	p, err := config.HomePath(r.Config.SieveScript, r.Home)
	if err != nil {
		return "", false // no home: no personal script, as for a virtual user
	}
	return p, true
}

// sieveOptions are the engine's options for r's recipient.
func (r Request) sieveOptions(host string) sieve.Options {
	o := sieve.Options{
		GlobalDir:    r.Config.SieveGlobalDir,
		MaxRedirects: 4, // Pigeonhole's sieve_max_redirects
		Environment: map[string]string{
			"domain":   domainOf(r.Recipient),
			"host":     host,
			"location": "MDA",
			"name":     "letterbox",
			"phase":    "during",
		},
	}
	if p, ok := r.personalScript(); ok {
		o.PersonalDir = filepath.Dir(p)
	}
	return o
}

func domainOf(addr *string) string {
	if addr == nil {
		return ""
	}
	if i := strings.LastIndexByte(*addr, '@'); i >= 0 {
		return (*addr)[i+1:]
	}
	return ""
}

// loadScripts compiles the scripts of a delivery in the order they run
// (docs/design.md §10): sieve_before, the recipient's sieve_script,
// sieve_after. A missing script is skipped; an unsafe one
// (sieve.LoadFile, docs/design.md §10.1) is skipped with a warning. One
// that does not compile fails the whole run: the caller then keeps the
// message, as Pigeonhole does ("failed, but implicit keep was
// successful").
func (r Request) loadScripts(o sieve.Options) ([]*sieve.Script, error) {
	paths := append([]string(nil), r.Config.SieveBefore...)
	if p, ok := r.personalScript(); ok {
		paths = append(paths, p)
	}
	paths = append(paths, r.Config.SieveAfter...)
	var out []*sieve.Script
	for _, p := range paths {
		s, err := sieve.LoadFile(p, o)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, sieve.ErrUnsafe):
			r.Log.Warn("sieve: script ignored", "script", p, "err", err)
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// storeHost answers the scripts' questions about r's mail store.
type storeHost struct {
	r     Request
	state *stateFiles
}

// MailboxExists is mailboxexists (RFC 5490 §3.1): INBOX always exists;
// a folder, when its Maildir++ directory or its mbox file does.
func (h storeHost) MailboxExists(ctx context.Context, name string) (bool, error) {
	if isInbox(name) {
		return true, nil
	}
	path, err := h.r.folderPath(name)
	if err != nil {
		return false, nil // a name we could never store into does not exist
	}
	_, err = h.r.Sys.Lstat(path)
	return err == nil, nil
}

// DuplicateSeen is the duplicate test (RFC 7352 §3).
func (h storeHost) DuplicateSeen(ctx context.Context, handle, id string) (bool, error) {
	return h.state.duplicateSeen(ctx, handle, id)
}

// isInbox: RFC 3501 §5.1 — INBOX is INBOX whatever its case.
func isInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// folderPath is where the folder name of a fileinto lives: a Maildir++
// directory below a Maildir INBOX (maildir.ParseFolder owns the names),
// or an mbox file below mbox_folder_dir for an mbox INBOX, with '/' as
// the hierarchy separator as in Dovecot's mbox layout.
func (r Request) folderPath(name string) (string, error) {
	if r.ToMaildir() {
		f, err := maildir.ParseFolder(name)
		if err != nil {
			return "", err
		}
		dir, err := f.Dir()
		if err != nil {
			return "", err
		}
		return filepath.Join(filepath.Clean(r.Mailbox), dir), nil
	}
	return r.mboxFolder(name)
}

// mboxFolder is the mbox file of folder name below mbox_folder_dir. It
// refuses what could leave that directory or name no file: an absolute
// name, a ".." or "." level, an empty level, a NUL.
func (r Request) mboxFolder(name string) (string, error) {
	dir, err := config.HomePath(r.Config.MboxFolderDir, r.Home)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("folder %q: not below %s", name, dir)
	}
	for _, level := range strings.Split(name, "/") {
		if level == "" || level == "." || level == ".." {
			return "", fmt.Errorf("folder %q: not below %s", name, dir)
		}
	}
	return filepath.Join(dir, name), nil
}
