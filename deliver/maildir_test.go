package deliver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/sys"
	"letterbox/maildir/maildirtest"
)

// TestMaildirShapes: a MAILBOX named without the slash gets a Maildir
// delivery exactly when convert and check take it for a Maildir
// (maildir.Is); anything else is left to the mbox path.
func TestMaildirShapes(t *testing.T) {
	for _, sh := range maildirtest.Shapes(t, t.TempDir()) {
		r, _ := request(t, sys.Real{}, "Subject: s\n\nbody\n")
		r.Mailbox = sh.Path
		res, err := Deliver(context.Background(), r)
		got := err == nil && strings.HasPrefix(res.Mailbox, filepath.Join(sh.Path, "new")+"/")
		if got != sh.Maildir {
			t.Errorf("%s: delivered as a Maildir: %v (%s, %v), want %v", sh.Name, got, res.Mailbox, err, sh.Maildir)
		}
	}
}
