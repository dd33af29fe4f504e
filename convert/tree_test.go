package convert

import "testing"

func TestFolderNames(t *testing.T) {
	tests := []struct{ mbox, maildir string }{
		{"Lists", ".Lists"},
		{"Lists/go", ".Lists.go"},
		{"a.b", `.a\2eb`},
		{`back\slash`, `.back\5cslash`},
		{"x/y.z/w", `.x.y\2ez.w`},
		{"Entw&APw-rfe", ".Entw&APw-rfe"}, // IMAP's modified UTF-7 passes as it is
	}
	for _, tc := range tests {
		if got := maildirName(tc.mbox); got != tc.maildir {
			t.Errorf("maildirName(%q) = %q, want %q", tc.mbox, got, tc.maildir)
		}
		got, err := mboxName(tc.maildir)
		if err != nil || got != tc.mbox {
			t.Errorf("mboxName(%q) = %q, %v; want %q", tc.maildir, got, err, tc.mbox)
		}
	}
	for _, bad := range []string{".a..b", ".", "..", ".a.", `.\2e\2e`, `.a\2fb`} {
		if got, err := mboxName(bad); err == nil {
			t.Errorf("mboxName(%q) = %q, want an error", bad, got)
		}
	}
}
