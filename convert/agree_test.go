package convert

// "letterbox check" and "letterbox convert" give one verdict on an mbox:
// the same variant and the same number of messages (issue 15), because
// both take it from mbox.Detect and mbox.Reader. This runs both over every
// mbox the tests have: mbox/testdata, this package's corpus in each
// variant, the mailboxes in cmd/letterbox/testdata's scripts, and what
// Python's mailbox writes after set_from().

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"letterbox/internal/sys"
	"letterbox/mailcheck"
)

// agreeCorpus returns the mboxes by name.
func agreeCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	files, _ := filepath.Glob("../mbox/testdata/*.mbox")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out["mbox/testdata/"+filepath.Base(f)] = b
	}
	for _, v := range variants {
		out["convert corpus "+v.name] = v.write(testCorpus())
	}
	// Every member of a script that is an mbox (begins with a From_ line).
	scripts, _ := filepath.Glob("../cmd/letterbox/testdata/*.txtar")
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if strings.HasPrefix(string(f.Data), "From ") {
				out["cmd/letterbox/testdata/"+filepath.Base(s)+":"+f.Name] = f.Data
			}
		}
	}
	if len(files) == 0 || len(scripts) == 0 {
		t.Fatal("corpus not found: run from the package directory")
	}
	return out
}

// pythonSetFrom is what Python's mailbox writes for messages given
// set_from() with and without a time, and none.
const pythonSetFrom = `
import mailbox, sys
mb = mailbox.mbox(sys.argv[1])
for i, (sender, when) in enumerate([("alice@example.org", None), ("bob@example.org", True), ("MAILER-DAEMON", None), ("carol@example.org", (2026, 1, 2, 3, 4, 5, 0, 0, 0)), (None, None)]):
    m = mailbox.mboxMessage()
    m["Subject"] = "s%d" % i
    m.set_payload("From here\nbody\n>From x\n\nFrom there on\n")
    if sender:
        m.set_from(sender, when)
    mb.add(m)
mb.flush()
mb.close()
`

func TestCheckAndConvertAgree(t *testing.T) {
	setLocal(t)
	corpus := agreeCorpus(t)
	if _, err := exec.LookPath("python3"); err == nil {
		p := filepath.Join(t.TempDir(), "py.mbox")
		if out, err := exec.Command("python3", "-c", pythonSetFrom, p).CombinedOutput(); err != nil {
			t.Fatalf("python3: %v: %s", err, out)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		corpus["python set_from()"] = b
	} else {
		t.Log("python3 is not installed: only mbox/testdata/python-setfrom.mbox stands for it")
	}
	for name, data := range corpus {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "mbox")
			if err := os.WriteFile(src, data, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := mailcheck.Check(src, mailcheck.Options{Sys: sys.Real{}})
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			o := testOptions()
			o.Sys = sys.Real{}
			res, err := Run(context.Background(), src, filepath.Join(dir, "Maildir")+"/", o)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			f := res.Folders[0]
			variant := strings.TrimSuffix(f.Variant, " (detected)")
			if rep.Variant != variant || rep.Messages != f.Converted {
				t.Errorf("check: %s, %d messages; convert: %s, %d messages", rep.Variant, rep.Messages, variant, f.Converted)
			}
			for _, p := range rep.Problems {
				if p.Kind == mailcheck.KindUnescapedFrom && strings.HasPrefix(name, "python") {
					t.Errorf("check calls Python's From_ line a body line: %+v", p)
				}
			}
		})
	}
}
