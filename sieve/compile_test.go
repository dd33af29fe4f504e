package sieve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string // the whole Error()
	}{
		{"keep;\nfileinto \"x\";\n", "t.sieve:2:1: missing require 'fileinto"},
		{"require \"fileinto\";\nif header :is \"a\" {\n  fileinto \"x\";\n}\n", "t.sieve:2:4: 2 argument is required"},
		// No position from go-sieve: the failing top-level command's.
		{"keep;\nrequire \"editheader\";\n", "t.sieve:2:1: unsupported extension: editheader"},
		// A parse error at the end of the script.
		{"keep;\nif true { keep; \n", "t.sieve:2:16: reading command: expected a closing brace"},
		// Lexer errors, positioned by lexing again byte by byte.
		{"keep;\n\"abc", "t.sieve:2:4: unexpected end of script"},
		{"keep;\n  @ x;\n", "t.sieve:2:3: unexpected character '@'"},
		{"require [\"fileinto\"];\nfoo;\n", "t.sieve:2:1: unsupported command: foo"},
		{"if foo { keep; }\n", "t.sieve:1:4: unsupported test: foo"},
	} {
		_, err := Compile("t.sieve", strings.NewReader(tc.src), Options{})
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%q: err %v, want a *CompileError", tc.src, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestCompileGood(t *testing.T) {
	src := `require ["fileinto", "imap4flags", "copy", "variables", "envelope", "body", "environment", "reject", "ereject", "subaddress", "relational"];
if header :contains "subject" "x" { fileinto :copy :flags "\\Seen" "X"; }
`
	s, err := Compile("good", strings.NewReader(src), Options{})
	if err != nil || s.Name != "good" || s.Interp() == nil {
		t.Fatalf("Compile: %v %v", s, err)
	}
}

func TestCompileTooBig(t *testing.T) {
	src := strings.Repeat("#", MaxScriptSize+1)
	_, err := Compile("big", strings.NewReader(src), Options{})
	var ce *CompileError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "larger") {
		t.Fatalf("err %v, want too large", err)
	}
}

func TestExtensionsOption(t *testing.T) {
	if err := (Options{Extensions: []string{"fileinto"}}).CheckExtensions(); err != nil {
		t.Errorf("fileinto: %v", err)
	}
	o := Options{Extensions: []string{"editheader"}}
	err := o.CheckExtensions()
	if err == nil || !strings.Contains(err.Error(), `"editheader"`) {
		t.Fatalf("editheader: %v, want refused", err)
	}
	if _, err := Compile("x", strings.NewReader("keep;"), o); err == nil {
		t.Fatal("Compile with an unsupported extension enabled: no error")
	}
	exts := Extensions()
	for _, want := range []string{"fileinto", "imap4flags", "body", "environment"} {
		if !strings.Contains(" "+strings.Join(exts, " ")+" ", " "+want+" ") {
			t.Errorf("Extensions() = %v, lacks %s", exts, want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.sieve")
	os.WriteFile(good, []byte("keep;\n"), 0o600)
	if _, err := LoadFile(good, Options{}); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	// ManageSieve makes ~/.dovecot.sieve a link to the active script.
	link := filepath.Join(dir, "link.sieve")
	os.Symlink(good, link)
	if _, err := LoadFile(link, Options{}); err != nil {
		t.Errorf("LoadFile through a symbolic link: %v", err)
	}
	if _, err := LoadFile(dir, Options{}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("LoadFile of a directory: %v, want ErrUnsafe", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "none.sieve"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	// Anyone who can write the script can file or redirect the mail.
	for _, mode := range []os.FileMode{0o620, 0o602, 0o666} {
		w := filepath.Join(dir, fmt.Sprintf("w%o.sieve", mode))
		os.WriteFile(w, []byte("keep;\n"), 0o600)
		os.Chmod(w, mode)
		if _, err := LoadFile(w, Options{}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("LoadFile of a mode %o script: %v, want ErrUnsafe", mode, err)
		}
		if _, err := CompileFile(w, Options{}); err != nil {
			t.Errorf("CompileFile of a mode %o script: %v; the tools only read it", mode, err)
		}
	}
	// Owned by a third user (only root can make such a file here).
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other.sieve")
		os.WriteFile(other, []byte("keep;\n"), 0o600)
		if err := os.Chown(other, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(other, Options{}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("LoadFile of another user's script: %v, want ErrUnsafe", err)
		}
	}
	fifo := filepath.Join(dir, "fifo.sieve")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		if _, err := LoadFile(fifo, Options{}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("LoadFile of a FIFO: %v, want ErrUnsafe", err)
		}
	}
	bad := filepath.Join(dir, "bad.sieve")
	os.WriteFile(bad, []byte("keep;\nfoo;\n"), 0o600)
	_, err := LoadFile(bad, Options{})
	if err == nil || err.Error() != bad+":2:1: unsupported command: foo" {
		t.Errorf("LoadFile(bad) = %v", err)
	}
}
