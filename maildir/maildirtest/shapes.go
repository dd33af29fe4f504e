package maildirtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Shape is a path that deliver, convert and check must each judge a
// Maildir exactly when Maildir is true.
type Shape struct {
	Name    string
	Path    string
	Maildir bool
}

// Shapes makes one of each shape under dir.
func Shapes(t testing.TB, dir string) []Shape {
	t.Helper()
	mk := func(name string, subs ...string) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if err := os.Mkdir(filepath.Join(p, s), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := mk("full", "new", "cur", "tmp")
	newLink := mk("newlink", "cur", "tmp")
	link(filepath.Join("newlink", "new"), filepath.Join(full, "new"))
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return []Shape{
		{"new+cur", mk("newcur", "new", "cur"), true},
		{"new+cur+tmp", full, true},
		{"cur only", mk("cur", "cur"), false},
		{"new only", mk("new", "new"), false},
		{"cur+tmp", mk("curtmp", "cur", "tmp"), false},
		{"empty directory", mk("empty"), false},
		{"new/ a symlink", newLink, false},
		{"symlinked root", link("link", full), false},
		{"file", file, false},
	}
}
