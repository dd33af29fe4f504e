package convert

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/maildir"
)

// Folder names map between the two trees as Dovecot lays them out:
//
//	Maildir++ (root ~/Maildir)        directory of mbox files (~/mail)
//	the root itself (INBOX)           INBOX
//	.Lists                            Lists
//	.Lists.go                         Lists/go
//
// The path of an mbox file below the tree is a maildir.Folder, whose Dir
// and ParseDir are the one mapping (a "." inside a name is "\2e", see
// package maildir), so names map back unchanged. A Maildir++ folder that
// holds messages and has subfolders too cannot be an mbox file and a
// directory at once: such a tree is refused before anything is written.

// inbox is the mbox file that holds the root Maildir's messages.
const inbox = "INBOX"

// planItem is one mailbox of a run.
type planItem struct {
	name     string // folder name, "/"-separated; "" for a single mailbox
	src, dst string
	toMbox   bool
	size     int64 // source bytes, for progress
}

// kind is what a path holds.
type kind int

const (
	none kind = iota
	mboxFile
	maildirDir
	mboxDir // a directory that is not a Maildir: a tree of mbox files
	// halfMaildir is a directory with new/ or cur/ that maildir.Is still
	// refuses (cur/ without new/, new/ a symlink): a damaged Maildir, not
	// to be read as a tree of mbox files (its messages are no mboxes).
	halfMaildir
	other
)

func (c *converter) kindOf(path string) (kind, error) {
	st, err := c.s.Lstat(path)
	switch {
	case errors.Is(err, unix.ENOENT):
		return none, nil
	case err != nil:
		return none, fmt.Errorf("lstat %s: %w", path, err)
	case st.Mode&unix.S_IFMT == unix.S_IFREG:
		return mboxFile, nil
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return other, nil
	case maildir.Is(c.s, path):
		return maildirDir, nil
	}
	for _, sub := range []string{"new", "cur"} {
		if st, err := c.s.Lstat(filepath.Join(path, sub)); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return halfMaildir, nil
		}
	}
	return mboxDir, nil
}

// PlanError is a SOURCE and DEST that cannot be converted into each other
// (the same format, a missing source, a tree that does not map): a usage
// error, found before anything is written.
type PlanError struct{ Err error }

func (e *PlanError) Error() string { return e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

func planErr(format string, args ...any) error {
	return &PlanError{fmt.Errorf(format, args...)}
}

// plan decides what goes where.
func (c *converter) plan(src, dst string) ([]planItem, error) {
	slash := strings.HasSuffix(dst, "/")
	src, dst = resolve(filepath.Clean(src)), resolve(filepath.Clean(dst))
	if src == dst {
		return nil, planErr("SOURCE and DEST are the same")
	}
	sk, err := c.kindOf(src)
	if err != nil {
		return nil, err
	}
	dk, err := c.kindOf(dst)
	if err != nil {
		return nil, err
	}
	to := c.o.To
	if to == Auto {
		switch {
		case slash || dk == maildirDir:
			to = Maildir
		case sk == maildirDir:
			to = Mbox
		default:
			to = Maildir
		}
	}
	switch {
	case sk == none:
		return nil, planErr("%s: no such mailbox", src)
	case sk == other:
		return nil, planErr("%s: not a mailbox (neither a file nor a directory)", src)
	case sk == halfMaildir:
		return nil, planErr("%s: not a Maildir (new/ and cur/ must be directories; letterbox check tells more)", src)
	case to == Maildir && sk == maildirDir:
		return nil, planErr("%s and %s are both Maildirs", src, dst)
	case to == Mbox && sk != maildirDir:
		return nil, planErr("%s is not a Maildir; only a Maildir converts to mbox", src)
	case to == Maildir && dk != none && dk != maildirDir && !(dk == mboxDir && c.emptyDir(dst)):
		return nil, planErr("%s exists and is not a Maildir", dst)
	case to == Mbox && (dk == maildirDir || dk == halfMaildir || dk == other):
		return nil, planErr("%s exists and is not an mbox or a directory", dst)
	}

	if to == Maildir && sk == mboxFile {
		return []planItem{{src: src, dst: dst, size: c.size(src)}}, nil
	}
	if to == Maildir {
		return c.planFromMboxDir(src, dst)
	}
	folders, err := c.maildirFolders(src)
	if err != nil {
		return nil, err
	}
	if len(folders) == 0 && dk != mboxDir && !slash {
		return []planItem{{src: src, dst: dst, toMbox: true, size: c.maildirSize(src)}}, nil
	}
	return c.planToMboxDir(src, dst, folders)
}

// emptyDir reports whether dir has no entries (a Maildir root made ready).
func (c *converter) emptyDir(dir string) bool {
	names, err := c.s.ReadDir(dir)
	return err == nil && len(names) == 0
}

func (c *converter) size(path string) int64 {
	st, err := c.s.Lstat(path)
	if err != nil {
		return 0
	}
	return st.Size
}

// maildirSize is the sum of the ,S= sizes of a Maildir's messages, for
// progress; messages whose names do not say count 0.
func (c *converter) maildirSize(root string) int64 {
	var n int64
	maildir.Walk(c.s, root, func(m maildir.Message) error {
		n += max(m.Size, 0)
		return nil
	})
	return n
}

// maildirFolders returns the Maildir++ folder directories under root
// (".a", ".a.b"), sorted.
func (c *converter) maildirFolders(root string) ([]string, error) {
	names, err := c.s.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	var out []string
	for _, n := range names {
		if len(n) > 1 && n[0] == '.' && n != ".." && maildir.Is(c.s, filepath.Join(root, n)) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// planToMboxDir maps a Maildir++ tree to a directory of mbox files.
func (c *converter) planToMboxDir(src, dst string, folders []string) ([]planItem, error) {
	items := []planItem{{name: inbox, src: src, dst: filepath.Join(dst, inbox), toMbox: true, size: c.maildirSize(src)}}
	files := map[string]string{inbox: src} // folder name -> its Maildir
	for _, f := range folders {
		folder, err := maildir.ParseDir(f)
		if err != nil {
			return nil, planErr("%s: %v", filepath.Join(src, f), err)
		}
		name := folder.String()
		p := filepath.Join(src, f)
		items = append(items, planItem{name: name, src: p, dst: filepath.Join(dst, filepath.FromSlash(name)), toMbox: true, size: c.maildirSize(p)})
		files[name] = p
	}
	// A folder that is an mbox file must not also be a parent directory.
	for _, it := range items {
		for parent := filepath.ToSlash(filepath.Dir(it.name)); parent != "."; parent = filepath.ToSlash(filepath.Dir(parent)) {
			if p, ok := files[parent]; ok && parent != inbox {
				if c.hasMessages(p) {
					return nil, planErr("folder %s holds messages and has subfolders (%s): an mbox file cannot be a directory too", parent, it.name)
				}
			}
		}
	}
	// Parents without messages are directories only.
	var out []planItem
	for _, it := range items {
		if it.name != inbox && c.isParent(it.name, items) && !c.hasMessages(it.src) {
			continue
		}
		out = append(out, it)
	}
	return out, c.mkdirs(dst, out)
}

func (c *converter) isParent(name string, items []planItem) bool {
	for _, it := range items {
		if strings.HasPrefix(it.name, name+"/") {
			return true
		}
	}
	return false
}

func (c *converter) hasMessages(root string) bool {
	found := errors.New("found")
	return maildir.Walk(c.s, root, func(maildir.Message) error { return found }) == found
}

// mkdirs creates dst and the directories the mbox files of items need.
func (c *converter) mkdirs(dst string, items []planItem) error {
	for _, it := range items {
		dir := filepath.Dir(it.dst)
		rel, err := filepath.Rel(dst, dir)
		if err != nil {
			return err
		}
		p := dst
		if err := mkdir(c.s, p); err != nil {
			return err
		}
		if rel == "." {
			continue
		}
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			p = filepath.Join(p, part)
			if err := mkdir(c.s, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func mkdir(s sys.Sys, p string) error {
	if err := s.Mkdir(p, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir %s: %w", p, err)
	}
	return nil
}

// planFromMboxDir maps a directory of mbox files to a Maildir++ tree.
func (c *converter) planFromMboxDir(src, dst string) ([]planItem, error) {
	var items []planItem
	var walk func(dir, prefix string) error
	walk = func(dir, prefix string) error {
		names, err := c.s.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		sort.Strings(names)
		for _, n := range names {
			// Dot files are not folders (Dovecot's .imap/, .subscriptions,
			// convert's anchors), nor are lock files.
			if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".lock") {
				continue
			}
			p := filepath.Join(dir, n)
			k, err := c.kindOf(p)
			if err != nil {
				return err
			}
			name := prefix + n
			switch k {
			case mboxFile:
				item := planItem{name: name, src: p, size: c.size(p)}
				if strings.EqualFold(name, inbox) {
					item.dst = dst
				} else {
					// The file's path is the folder: Lists/go is .Lists.go.
					d, err := maildir.Folder(strings.Split(name, "/")).Dir()
					if err != nil {
						return planErr("%s: %v", p, err)
					}
					item.dst = filepath.Join(dst, d)
				}
				items = append(items, item)
			case mboxDir:
				if err := walk(p, name+"/"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(src, ""); err != nil {
		return nil, err
	}
	if err := maildir.Make(c.s, dst, true); err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.dst == dst {
			continue
		}
		if _, err := maildir.MakeFolder(c.s, dst, maildir.Folder(strings.Split(it.name, "/")), true); err != nil {
			return nil, err
		}
	}
	return items, nil
}
