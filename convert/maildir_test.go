package convert

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"letterbox/config"
	"letterbox/deliver"
	"letterbox/internal/sys"
	"letterbox/maildir/maildirtest"
)

// TestMaildirShapes: convert takes a path for a Maildir exactly when
// deliver does (maildir.Is); a directory with new/ or cur/ that is not one
// is refused, never read as a tree of mbox files.
func TestMaildirShapes(t *testing.T) {
	dir := t.TempDir()
	c := &converter{s: sys.Real{}}
	for _, sh := range maildirtest.Shapes(t, dir) {
		k, err := c.kindOf(sh.Path)
		if err != nil {
			t.Fatal(err)
		}
		if (k == maildirDir) != sh.Maildir {
			t.Errorf("%s: kind %d, Maildir %v", sh.Name, k, sh.Maildir)
		}
		if k == halfMaildir {
			_, err := Run(context.Background(), sh.Path, filepath.Join(dir, "out"), testOptions())
			var pe *PlanError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not a Maildir") {
				t.Errorf("%s: converting it: %v", sh.Name, err)
			}
		}
	}
}

// TestSameFolderAsDeliver: deliver -m Lists/go and a converted tree whose
// mbox file is Lists/go fill the one Maildir++ folder .Lists.go; an mbox
// file named Lists.go is one level, `.Lists\2ego`.
func TestSameFolderAsDeliver(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	for _, folder := range []string{"Lists/go", "Lists.go"} {
		from, to := "a@b", "c@d"
		_, err := deliver.Deliver(context.Background(), deliver.Request{
			Input: strings.NewReader("Subject: delivered\n\nbody\n"), Sender: &from, Recipient: &to,
			Mailbox: md + "/", Folder: folder, Config: config.Default(), Sys: sys.Real{}, Now: time.Now, TempDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mail := filepath.Join(dir, "mail")
	for name, body := range map[string]string{"INBOX": "", "Lists/go": "go", "Lists.go": "dot"} {
		p := filepath.Join(mail, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		m := "From x@y  Sat Nov 21 00:00:00 2026\nSubject: " + body + "\n\nconverted\n\n"
		if body == "" {
			m = ""
		}
		if err := os.WriteFile(p, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Run(context.Background(), mail, md, testOptions()); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(md)
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			folders = append(folders, e.Name())
		}
	}
	if got := strings.Join(folders, " "); got != `.Lists.go .Lists\2ego` {
		t.Fatalf("folders %s", got)
	}
	for folder, want := range map[string]int{".Lists.go": 3, `.Lists\2ego`: 1} {
		if n := len(maildirFiles(t, filepath.Join(md, folder))); n != want {
			t.Errorf("%s holds %d messages, want %d", folder, n, want)
		}
	}
}
