package convert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/mbox"
)

// TestTree: a Maildir++ tree becomes a directory of mbox files with the
// folder names mapped, and back; a folder with both messages and
// subfolders is refused before anything is written.
func TestTree(t *testing.T) {
	setLocal(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	ms := testCorpus()
	put := func(folder string, i int) {
		d := filepath.Join(md, folder)
		for _, sub := range []string{"tmp", "new", "cur"} {
			os.MkdirAll(filepath.Join(d, sub), 0o700)
		}
		p := filepath.Join(d, "new", fmt.Sprintf("%d.M1P1.h", ms[i].date.Unix()))
		if err := os.WriteFile(p, []byte(ms[i].body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put("", 0)
	put(".Lists.go", 1)
	put(".Lists.rust", 2)
	put(`.a\2eb`, 3)
	os.MkdirAll(filepath.Join(md, ".Lists", "cur"), 0o700) // a parent without messages
	os.MkdirAll(filepath.Join(md, ".Lists", "new"), 0o700)

	mail := filepath.Join(dir, "mail")
	res, err := Run(context.Background(), md, mail, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Folders {
		names = append(names, f.Name)
		if f.Converted != 1 || !f.Verified {
			t.Errorf("folder %s: %+v", f.Name, f)
		}
	}
	if got := strings.Join(names, " "); got != "INBOX Lists/go Lists/rust a.b" {
		t.Fatalf("folders %s", got)
	}
	for name, i := range map[string]int{"INBOX": 0, "Lists/go": 1, "Lists/rust": 2, "a.b": 3} {
		_, bs := readMbox(t, filepath.Join(mail, name), mbox.MboxRD)
		if len(bs) != 1 || !strings.HasSuffix(string(bs[0]), ms[i].body) {
			t.Errorf("%s: %q", name, bs)
		}
	}

	back := filepath.Join(dir, "Maildir2")
	if res, err = Run(context.Background(), mail, back+"/", testOptions()); err != nil {
		t.Fatal(err)
	}
	for folder, i := range map[string]int{"": 0, ".Lists.go": 1, ".Lists.rust": 2, `.a\2eb`: 3} {
		files := maildirFiles(t, filepath.Join(back, folder))
		if len(files) != 1 {
			t.Fatalf("%q: %v", folder, keys(files))
		}
		for _, b := range files {
			if !strings.HasSuffix(string(b), ms[i].body) {
				t.Errorf("%q: %q", folder, b)
			}
		}
		if folder != "" {
			if _, err := os.Stat(filepath.Join(back, folder, "maildirfolder")); err != nil {
				t.Errorf("%q: no maildirfolder marker: %v", folder, err)
			}
		}
	}

	// .Lists with a message of its own cannot be both a file and a
	// directory in the mbox tree.
	put(".Lists", 4)
	_, err = Run(context.Background(), md, filepath.Join(dir, "mail2"), testOptions())
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "folder Lists holds messages and has subfolders") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mail2")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mail2 was created: %v", err)
	}
}

func TestPlanRefuses(t *testing.T) {
	dir := t.TempDir()
	mb := filepath.Join(dir, "mbox")
	os.WriteFile(mb, nil, 0o600)
	md := filepath.Join(dir, "md")
	for _, sub := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	other := filepath.Join(dir, "file")
	os.WriteFile(other, []byte("x"), 0o600)
	tests := []struct {
		src, dst string
		to       Format
		want     string
	}{
		{filepath.Join(dir, "none"), md, Auto, "no such mailbox"},
		{md, md + "2/", Auto, "are both Maildirs"},
		{mb, other, Mbox, "only a Maildir converts to mbox"},
		{mb, other, Maildir, "exists and is not a Maildir"},
		{md, md, Auto, "are the same"},
	}
	for _, tc := range tests {
		o := testOptions()
		o.To = tc.to
		_, err := Run(context.Background(), tc.src, tc.dst, o)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: %v, want %q", tc.src, tc.dst, err, tc.want)
		}
	}
}
