package sieve

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDirLoader(t *testing.T) {
	global, personal := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(global, "spam.sieve"), []byte("discard;\n"), 0o600)
	os.WriteFile(filepath.Join(personal, "mine.sieve"), []byte("keep;\n"), 0o600)
	os.WriteFile(filepath.Join(personal, "broken.sieve"), []byte("frob;\n"), 0o600)
	load := DirLoader(Options{GlobalDir: global, PersonalDir: personal})
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		global bool
		ok     bool
	}{
		{"spam", true, true},
		{"mine", false, true},
		{"spam", false, false}, // :personal does not see the global directory
		{"mine", true, false},
		{"broken", false, false},
		{"../" + filepath.Base(global) + "/spam", false, false}, // no paths
		{".hidden", false, false},
		{"", false, false},
	} {
		s, err := load(ctx, tc.name, tc.global)
		if (err == nil) != tc.ok || (tc.ok && s == nil) {
			t.Errorf("load(%q, global=%v) = %v, %v; want ok=%v", tc.name, tc.global, s, err, tc.ok)
		}
	}
	a, _ := load(ctx, "spam", true)
	b, _ := load(ctx, "spam", true)
	if a != b {
		t.Error("a script loaded twice was compiled twice")
	}
	if _, err := DirLoader(Options{})(ctx, "x", true); err == nil {
		t.Error("no GlobalDir: loaded anyway")
	}
}
