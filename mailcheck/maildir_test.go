package mailcheck

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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

// check descends into a Maildir's Maildir++ folders as convert does
// (issue 15): per-folder counts, the total, each folder's defects, and a
// folder name that maildir.ParseDir refuses as a problem.
func TestCheckMaildirFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	md := func(dir string, msgs ...string) {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.MkdirAll(filepath.Join(root, dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range msgs {
			if err := os.WriteFile(filepath.Join(root, dir, m), []byte("Subject: x\n\nhi\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	md("", "new/1.M1P1.h")
	md(".Lists.go", "new/2.M1P1.h", "cur/3.M1P1.h:2,S", "cur/4.M1P1.h,S=99:2,S")
	md(".Sent", "cur/5.M1P1.h:2,S")
	md(`.a\2eb`, "new/6.M1P1.h")
	md(".x..y", "new/7.M1P1.h")                                               // no folder name: ParseDir refuses it
	os.MkdirAll(filepath.Join(root, ".notmaildir", "new"), 0o700)             // not a Maildir: ignored, as convert does
	os.WriteFile(filepath.Join(root, ".Sent", "tmp", "8.M1P1.h"), nil, 0o600) // a delivery in progress

	r, err := Check(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Folder{
		{"INBOX", root, 1},
		{"Lists/go", filepath.Join(root, ".Lists.go"), 3},
		{"Sent", filepath.Join(root, ".Sent"), 1},
		{"a.b", filepath.Join(root, `.a\2eb`), 1},
	}
	if !reflect.DeepEqual(r.Folders, want) || r.Messages != 6 {
		t.Errorf("folders %+v, %d messages; want %+v, 6", r.Folders, r.Messages, want)
	}
	if got := kinds(r.Problems); got != KindSize+" "+KindFolderName {
		t.Errorf("problems %s: %+v", got, r.Problems)
	}
	if got := kinds(r.Notes); got != KindTmp || r.Notes[0].Path != filepath.Join(root, ".Sent", "tmp", "8.M1P1.h") {
		t.Errorf("notes %+v", r.Notes)
	}
	if r.Problems[0].Message != 3 || r.Problems[1].Path != filepath.Join(root, ".x..y") {
		t.Errorf("problems %+v", r.Problems)
	}

	// In JSON: the folders, each with its count, and the total.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Messages int
		Folders  []struct {
			Name     string
			Messages int
		}
	}
	if err := json.Unmarshal(b, &j); err != nil || j.Messages != 6 || len(j.Folders) != 4 || j.Folders[1].Name != "Lists/go" || j.Folders[1].Messages != 3 {
		t.Errorf("JSON %s: %+v, %v", b, j, err)
	}
}
