package mailcheck

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"letterbox/maildir"
)

// checkMaildir judges root by maildir.Is, as deliver and convert do, then
// checks it and each of its Maildir++ folders (checkFolder). The folders
// are the directories ".name" below root that are Maildirs, as convert
// finds them, named by maildir.ParseDir; a name ParseDir refuses is a
// problem (convert refuses the tree), and its messages are not counted.
func checkMaildir(r *Report, root string, o Options) error {
	s := o.Sys
	if !maildir.Is(s, root) {
		// Say why when it is not the shape (EACCES on cur/).
		for _, sub := range []string{"new", "cur"} {
			p := filepath.Join(root, sub)
			if _, err := s.Lstat(p); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("lstat %s: %w", p, err)
			}
		}
		return fmt.Errorf("%s: %w", root, errNotMaildir)
	}
	r.Folders = []Folder{{Name: "INBOX", Path: root}}
	if err := checkFolder(r, &r.Folders[0], o); err != nil {
		return err
	}
	names, err := s.ReadDir(root)
	if err != nil {
		return fmt.Errorf("read %s: %w", root, err)
	}
	sort.Strings(names)
	badName := problems(r, KindFolderName)
	for _, n := range names {
		p := filepath.Join(root, n)
		if len(n) < 2 || n[0] != '.' || n == ".." || !maildir.Is(s, p) {
			continue
		}
		f, err := maildir.ParseDir(n)
		if err != nil {
			badName.add(Finding{Offset: -1, Path: p, Detail: fmt.Sprintf("a Maildir whose name is no Maildir++ folder (%v): convert refuses the tree, and IMAP servers differ on it", err)})
			continue
		}
		r.Folders = append(r.Folders, Folder{Name: f.String(), Path: p})
		if err := checkFolder(r, &r.Folders[len(r.Folders)-1], o); err != nil {
			return err
		}
	}
	return nil
}

// checkFolder counts the messages of the Maildir f.Path's new/ and cur/
// into f and r, compares each ",S=" size with the file's, and looks for
// files left in tmp/: one older than o.TmpAge is a delivery that died (the
// Maildir spec lets cleaners remove it), a younger one may be a delivery
// in progress. A missing tmp/ is a note.
func checkFolder(r *Report, f *Folder, o Options) error {
	s, root := o.Sys, f.Path
	size := problems(r, KindSize)
	err := maildir.Walk(s, root, func(m maildir.Message) error {
		r.Messages++
		f.Messages++
		if m.Size < 0 {
			return nil
		}
		st, err := s.Lstat(m.Path)
		if err != nil {
			return fmt.Errorf("lstat %s: %w", m.Path, err)
		}
		if st.Size != m.Size {
			size.add(Finding{Offset: -1, Message: f.Messages, Path: m.Path,
				Detail: fmt.Sprintf("the name says S=%d, the file has %d bytes: readers that trust S= (Dovecot) misread it", m.Size, st.Size)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	tmp := filepath.Join(root, "tmp")
	names, err := s.ReadDir(tmp)
	if errors.Is(err, unix.ENOENT) {
		notes(r, KindNoTmp).add(Finding{Offset: -1, Path: tmp,
			Detail: "missing: letterbox and Dovecot make it on delivery, a deliverer that does not fails"})
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", tmp, err)
	}
	stray, young := problems(r, KindStrayTmp), notes(r, KindTmp)
	now := s.Now()
	for _, n := range names {
		p := filepath.Join(tmp, n)
		st, err := s.Lstat(p)
		if errors.Is(err, unix.ENOENT) {
			continue // the delivery finished meanwhile
		}
		if err != nil {
			return fmt.Errorf("lstat %s: %w", p, err)
		}
		age := now.Sub(st.Mtime)
		if age >= o.TmpAge {
			stray.add(Finding{Offset: -1, Path: p, Detail: fmt.Sprintf("left in tmp/ for %s: a delivery that died", age.Round(1e9))})
		} else {
			young.add(Finding{Offset: -1, Path: p, Detail: "in tmp/: a delivery in progress, or one that died recently"})
		}
	}
	return nil
}
