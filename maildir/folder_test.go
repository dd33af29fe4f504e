package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"letterbox/internal/sys"
	"letterbox/maildir/maildirtest"
)

// TestFolderNames: a Folder and its directory name, both ways, escapes
// included; ParseDir(Dir(f)) is f.
func TestFolderNames(t *testing.T) {
	for _, tc := range []struct {
		f   Folder
		dir string
	}{
		{Folder{}, ""},
		{Folder{"Lists"}, ".Lists"},
		{Folder{"Lists", "go"}, ".Lists.go"},
		{Folder{"Lists.go"}, `.Lists\2ego`},
		{Folder{"a.b"}, `.a\2eb`},
		{Folder{`back\slash`}, `.back\5cslash`},
		{Folder{`a\2eb`}, `.a\5c2eb`}, // a literal "\2e" stays literal
		{Folder{"x", "y.z", "w"}, `.x.y\2ez.w`},
		{Folder{"..."}, `.\2e\2e\2e`},
		{Folder{"Entw&APw-rfe"}, ".Entw&APw-rfe"}, // IMAP's modified UTF-7 passes as it is
		{Folder{"Ünïcödé"}, ".Ünïcödé"},
	} {
		dir, err := tc.f.Dir()
		if err != nil || dir != tc.dir {
			t.Errorf("%q.Dir() = %q, %v; want %q", []string(tc.f), dir, err, tc.dir)
		}
		if len(tc.f) == 0 {
			continue
		}
		f, err := ParseDir(tc.dir)
		if err != nil || !slices.Equal(f, tc.f) {
			t.Errorf("ParseDir(%q) = %q, %v; want %q", tc.dir, []string(f), err, []string(tc.f))
		}
	}
	// A '\' that does not start an escape stands for itself, and any two
	// hex digits are one (Dovecot writes both cases).
	for dir, want := range map[string]Folder{
		`.back\slash`: {`back\slash`}, `.a\2Eb`: {"a.b"}, `.a\2`: {`a\2`}, `.a\2g`: {`a\2g`}, `.a\`: {`a\`},
	} {
		if f, err := ParseDir(dir); err != nil || !slices.Equal(f, want) {
			t.Errorf("ParseDir(%q) = %q, %v; want %q", dir, []string(f), err, []string(want))
		}
	}
	for _, bad := range []string{"", ".", "..", "Lists", ".a..b", ".a.", `.\2e\2e`, `.\2e`, `.a\2fb`, `.a\0ab`, `.a\7fb`} {
		if f, err := ParseDir(bad); err == nil {
			t.Errorf("ParseDir(%q) = %q, want an error", bad, []string(f))
		}
	}
	for _, bad := range []Folder{{""}, {"."}, {".."}, {"a/b"}, {"a", ""}, {"x\x00y"}, {"x\ny"}} {
		if dir, err := bad.Dir(); err == nil {
			t.Errorf("%q.Dir() = %q, want an error", []string(bad), dir)
		}
	}
}

// TestParseFolder: deliver -m's syntax, where '/' and '.' both separate
// levels, gives the Folder whose directory it names.
func TestParseFolder(t *testing.T) {
	for in, want := range map[string]string{
		".Lists.go": ".Lists.go", "Lists/go": ".Lists.go", "Lists.go": ".Lists.go", "lists": ".lists",
		"Ünïcödé": ".Ünïcödé", `a\2eb`: `.a\2eb`, `Lists/a\2eb`: `.Lists.a\2eb`, `a\5cb`: `.a\5cb`,
		`back\slash`: `.back\5cslash`,
		// Refused:
		"../escape": "", "/etc": "", "a/../b": "", "..": "", ".": "", "": "", "a//b": "", "a/": "",
		"./x": "", "a.": "", "x\x00y": "", "x\ny": "", "x\x7f": "", ".a..b": "",
		`\2e\2e`: "", `a\2fb`: "", `a\00b`: "",
	} {
		f, err := ParseFolder(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseFolder(%q) = %q, want an error", in, []string(f))
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFolder(%q): %v", in, err)
			continue
		}
		if got, err := f.Dir(); err != nil || got != want {
			t.Errorf("ParseFolder(%q).Dir() = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestMakeFolder(t *testing.T) {
	root := maildir(t)
	if _, err := MakeFolder(sys.Real{}, root, Folder{"Lists", "go"}, false); !errors.Is(err, ErrNoFolder) {
		t.Fatalf("missing folder without create: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".Lists.go")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("made without create: %v", err)
	}
	dir, err := MakeFolder(sys.Real{}, root, Folder{"Lists", "go"}, true)
	if err != nil || dir != filepath.Join(root, ".Lists.go") {
		t.Fatalf("MakeFolder = %q, %v", dir, err)
	}
	for _, p := range []string{"tmp", "new", "cur", "maildirfolder"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	if !Is(sys.Real{}, dir) {
		t.Error("a made folder is not a Maildir")
	}
	// An existing folder is completed, even without create.
	os.Remove(filepath.Join(dir, "maildirfolder"))
	os.Remove(filepath.Join(dir, "tmp"))
	if _, err := MakeFolder(sys.Real{}, root, Folder{"Lists", "go"}, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"tmp", "maildirfolder"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []Folder{{}, {".."}, {"a/b"}} {
		if _, err := MakeFolder(sys.Real{}, root, bad, true); err == nil {
			t.Errorf("MakeFolder(%q) made it", []string(bad))
		}
	}
}

// TestIs: the one rule, on every shape of the agreement table that
// deliver, convert and check are tested against too.
func TestIs(t *testing.T) {
	for _, sh := range maildirtest.Shapes(t, t.TempDir()) {
		if got := Is(sys.Real{}, sh.Path); got != sh.Maildir {
			t.Errorf("%s: Is = %v, want %v", sh.Name, got, sh.Maildir)
		}
	}
	if Is(sys.Real{}, filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing path is a Maildir")
	}
}
