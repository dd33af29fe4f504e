package mailcheck

import (
	"errors"
	"testing"

	"letterbox/maildir/maildirtest"
)

// TestMaildirShapes: check reads a directory as a Maildir exactly when
// deliver and convert do (maildir.Is); any other directory is "not a
// Maildir", a symlink neither format.
func TestMaildirShapes(t *testing.T) {
	for _, sh := range maildirtest.Shapes(t, t.TempDir()) {
		r, err := Check(sh.Path, Options{})
		if got := err == nil && r.Format == "maildir"; got != sh.Maildir {
			t.Errorf("%s: checked as a Maildir: %v (%v), want %v", sh.Name, got, err, sh.Maildir)
		}
		if sh.Name == "cur only" && !errors.Is(err, errNotMaildir) {
			t.Errorf("%s: %v, want %v", sh.Name, err, errNotMaildir)
		}
	}
}
