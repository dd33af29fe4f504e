package maildir

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// Folder is a Maildir++ folder: its path of names below the root Maildir,
// outermost first. Folder{"Lists", "go"} is the directory ".Lists.go",
// Folder{"Lists.go"} the directory `.Lists\2ego`. The empty Folder is the
// root itself (INBOX).
type Folder []string

// ParseFolder reads a folder as a user names it to deliver -m (and Sieve's
// fileinto): '/' and '.' both separate levels and one leading '.' is
// dropped, so ".Lists.go", "Lists/go" and "Lists.go" are all
// Folder{"Lists", "go"}. A "\2e" or "\5c" (any '\' and two hex digits) is
// the escaped byte, as in a directory name, so `a\2eb` is the one level
// "a.b". It refuses a leading '/', "..", an empty level and the names
// Folder.Check refuses. The empty string is refused too: the caller that
// takes it for INBOX says so before parsing.
func ParseFolder(s string) (Folder, error) {
	if strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return nil, fmt.Errorf("folder %q: not below the Maildir", s)
	}
	parts := strings.Split(strings.ReplaceAll(strings.TrimPrefix(s, "."), "/", "."), ".")
	f := make(Folder, len(parts))
	for i, p := range parts {
		f[i] = unescape(p)
	}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("folder %q: %w", s, err)
	}
	return f, nil
}

// ParseDir is the Folder of the Maildir++ directory name dir (".a.b"),
// with the escapes of Dir undone: the inverse of Dir. It refuses a name
// without the leading '.', an empty level, and a level that decodes to a
// name Check refuses (`.\2e\2e`, `.a\2fb`).
func ParseDir(dir string) (Folder, error) {
	rest, ok := strings.CutPrefix(dir, ".")
	if !ok || rest == "" {
		return nil, fmt.Errorf("folder directory %q: not a Maildir++ folder name", dir)
	}
	parts := strings.Split(rest, ".")
	f := make(Folder, len(parts))
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("folder directory %q: empty name component", dir)
		}
		f[i] = unescape(p)
	}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("folder directory %q: %w", dir, err)
	}
	return f, nil
}

// Check refuses a folder whose names could leave the root or confuse a
// reader: an empty name, "." or "..", a '/' in a name, NUL and the other
// control bytes. The empty Folder (the root) passes.
func (f Folder) Check() error {
	for _, n := range f {
		switch {
		case n == "":
			return errors.New("empty name component")
		case n == "." || n == "..":
			return fmt.Errorf("%q is not a folder name", n)
		case strings.ContainsRune(n, '/'):
			return fmt.Errorf("%q: '/' in a folder name", n)
		}
		for i := 0; i < len(n); i++ {
			if c := n[i]; c < ' ' || c == 0x7f {
				return errors.New("control character")
			}
		}
	}
	return nil
}

// Dir is the Maildir++ directory name of f below the root: '.' before each
// name, with a '.' inside a name written "\2e" and a '\' written "\5c"
// (the escapes of Dovecot's listescape plugin), so that ParseDir gives f
// back. The root (the empty Folder) is "", so filepath.Join(root, dir)
// names it too. It returns Check's error for a name it refuses.
func (f Folder) Dir() (string, error) {
	if err := f.Check(); err != nil {
		return "", fmt.Errorf("folder %q: %w", f.String(), err)
	}
	var b strings.Builder
	for _, n := range f {
		b.WriteByte('.')
		for i := 0; i < len(n); i++ {
			switch c := n[i]; c {
			case '.', '\\':
				fmt.Fprintf(&b, `\%02x`, c)
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String(), nil
}

// String is f's names joined by '/': the path of its mbox file in a
// directory of mbox files ("Lists/go"), and its name in messages.
func (f Folder) String() string { return strings.Join(f, "/") }

// unescape decodes every '\' followed by two hex digits into its byte; any
// other '\' stands for itself.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// ErrNoFolder is MakeFolder's answer for a folder that does not exist and
// may not be created.
var ErrNoFolder = errors.New("no such folder")

// MakeFolder makes the folder f of the Maildir at root and returns its
// directory: tmp/, new/ and cur/ (0700) and the empty maildirfolder marker
// (0600) that Maildir++ readers (Courier, Dovecot) look for. An existing
// folder is completed. A missing one is created only if create; otherwise
// the error wraps ErrNoFolder. Only f's own directory is made: Maildir++
// is flat, a parent level needs no directory. Nothing is fsynced (see the
// package doc).
func MakeFolder(s sys.Sys, root string, f Folder, create bool) (string, error) {
	if len(f) == 0 {
		return "", errors.New("the root Maildir is not a folder")
	}
	name, err := f.Dir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, name)
	if _, err := s.Lstat(dir); errors.Is(err, unix.ENOENT) && !create {
		return "", fmt.Errorf("%s: %w", dir, ErrNoFolder)
	}
	if err := Make(s, dir, create); err != nil {
		return "", err
	}
	marker := filepath.Join(dir, "maildirfolder")
	fd, err := s.Open(marker, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", marker, err)
	}
	if err := s.Close(fd); err != nil {
		return "", fmt.Errorf("close %s: %w", marker, err)
	}
	return dir, nil
}

// Is reports whether path is an existing Maildir: a directory, not a
// symbolic link, whose new/ and cur/ are directories (not symbolic links
// either). tmp/ is not required: Deliver and Make create it. Any error
// (a missing path, EACCES) is a no. Deliver, convert and check all ask
// this; a plain directory is not a Maildir.
func Is(s sys.Sys, path string) bool {
	for _, p := range []string{path, filepath.Join(path, "new"), filepath.Join(path, "cur")} {
		st, err := s.Lstat(p)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return false
		}
	}
	return true
}
