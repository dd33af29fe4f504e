package sievetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"letterbox/internal/testuser"
)

// A diffCase is one file of testdata/diff: a txtar archive whose comment
// holds the envelope and the mailboxes that exist, and whose files are
//
//	script.sieve        the script
//	message.eml         the message
//	personal/NAME.sieve scripts for include :personal (optional)
//	global/NAME.sieve   scripts for include :global (optional)
//	expect              Pigeonhole's result in the comparison form
//	                    (normalize.go), as sieve-test gave it; checked
//	                    against sieve-test whenever it is installed
//	expect-differs      (optional) a deliberate difference: "#" lines say
//	                    why, the others are letterbox's result
//
// Comment lines:
//
//	envelope: -f SENDER -r RECIPIENT [-a ORIGINAL-RECIPIENT]
//	mailboxes: NAME...   (INBOX always exists)
type diffCase struct {
	path      string
	arch      *txtar.Archive
	from, to  string
	orig      string
	mailboxes []string
	script    []byte
	message   []byte
	personal  map[string][]byte // name without ".sieve"
	global    map[string][]byte
	expect    []string // nil when the file has no expect section
	hasExpect bool
	differs   []string // letterbox's result when it deliberately differs
	why       string   // the "#" lines of expect-differs
}

func loadCase(path string) (*diffCase, error) {
	a, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	c := &diffCase{path: path, arch: a, personal: map[string][]byte{}, global: map[string][]byte{}}
	for _, l := range strings.Split(string(a.Comment), "\n") {
		key, val, ok := strings.Cut(l, ": ")
		if !ok || strings.ContainsAny(key, " \t") {
			continue // prose
		}
		switch key {
		case "envelope":
			f := strings.Fields(val)
			for i := 0; i+1 < len(f); i += 2 {
				switch f[i] {
				case "-f":
					c.from = f[i+1]
				case "-r":
					c.to = f[i+1]
				case "-a":
					c.orig = f[i+1]
				default:
					return nil, fmt.Errorf("envelope: unknown flag %s", f[i])
				}
			}
		case "mailboxes":
			c.mailboxes = strings.Fields(val)
		}
	}
	for _, f := range a.Files {
		switch name := f.Name; {
		case name == "script.sieve":
			c.script = f.Data
		case name == "message.eml":
			c.message = f.Data
		case strings.HasPrefix(name, "personal/"):
			c.personal[strings.TrimSuffix(strings.TrimPrefix(name, "personal/"), ".sieve")] = f.Data
		case strings.HasPrefix(name, "global/"):
			c.global[strings.TrimSuffix(strings.TrimPrefix(name, "global/"), ".sieve")] = f.Data
		case name == "expect":
			c.hasExpect = true
			c.expect = sectionLines(f.Data)
		case name == "expect-differs":
			var why []string
			for _, l := range strings.Split(string(f.Data), "\n") {
				if strings.HasPrefix(l, "#") {
					why = append(why, strings.TrimSpace(strings.TrimPrefix(l, "#")))
				}
			}
			c.why = strings.Join(why, " ")
			c.differs = sectionLines(f.Data)
			if c.why == "" {
				return nil, errors.New("expect-differs gives no reason (# lines)")
			}
		default:
			return nil, fmt.Errorf("unknown section %q", name)
		}
	}
	if c.script == nil || c.message == nil || c.from == "" || c.to == "" {
		return nil, errors.New("needs script.sieve, message.eml and an envelope: line with -f and -r")
	}
	return c, nil
}

// sectionLines are the lines of an expect section, without comments, in
// the sorted comparison form.
func sectionLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// supported are the extensions the cases must cover, each by at least one
// script's require.
var supported = []string{
	"envelope", "fileinto", "encoded-character", "copy", "body", "variables",
	"relational", "imap4flags", "subaddress", "reject", "ereject",
	"environment", "mailbox", "date", "index", "regex", "include",
	"duplicate", "vacation", "vacation-seconds",
}

// pigeonholeConfig is the whole Dovecot configuration sieve-test reads:
// Maildir with "/" between levels so that a folder a case lists exists
// under that name, the scripts of include :personal in ~/sieve and of
// :global in ~/global, and vacation-seconds, which Pigeonhole leaves out
// by default, enabled as letterbox's Options.Extensions enables it.
const pigeonholeConfig = `ssl = no
mail_location = maildir:~/Maildir:LAYOUT=fs
plugin {
  sieve = file:~/sieve
  sieve_global = %s
  sieve_extensions = +vacation-seconds
}
`

// sieveTest runs Pigeonhole's sieve-test on cases, as an unprivileged
// user: as root (CI), a test user of its own, because Dovecot refuses to
// run its mail storage as root.
type sieveTest struct {
	bin  string
	dir  string   // owned by the user
	wrap []string // setpriv prefix when root
	uid  int
	gid  int
}

func newSieveTest(t *testing.T) (*sieveTest, string) {
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		return nil, "sieve-test is not installed (Debian package dovecot-sieve)"
	}
	st := &sieveTest{bin: bin, dir: t.TempDir(), uid: -1, gid: -1}
	if os.Getuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err != nil {
			return nil, "as root, setpriv (util-linux) is needed to run sieve-test as a test user"
		}
		home := filepath.Join(st.dir, "home")
		u, del, err := testuser.Add("sieve", home)
		if err != nil {
			return nil, "cannot make a test user for sieve-test: " + err.Error()
		}
		t.Cleanup(del)
		st.dir, st.uid, st.gid = home, u.UID, u.GID
		st.wrap = []string{"setpriv", "--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID), "--clear-groups", "--"}
	}
	return st, ""
}

// run returns sieve-test's result for c in the comparison form.
func (st *sieveTest) run(t *testing.T, i int, c *diffCase) []string {
	t.Helper()
	home := filepath.Join(st.dir, fmt.Sprintf("case%d", i))
	files := map[string][]byte{
		"script.sieve": c.script,
		"message.eml":  c.message,
		"dovecot.conf": fmt.Appendf(nil, pigeonholeConfig, filepath.Join(home, "global")),
	}
	for n, b := range c.personal {
		files["sieve/"+n+".sieve"] = b
	}
	for n, b := range c.global {
		files["global/"+n+".sieve"] = b
	}
	dirs := []string{"Maildir/cur", "Maildir/new", "Maildir/tmp", "sieve", "global"}
	for _, m := range c.mailboxes {
		for _, d := range []string{"cur", "new", "tmp"} {
			dirs = append(dirs, filepath.Join("Maildir", m, d))
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(home, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if st.uid >= 0 {
		err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, st.uid, st.gid)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-c", filepath.Join(home, "dovecot.conf"), "-f", c.from, "-r", c.to}
	if c.orig != "" {
		args = append(args, "-a", c.orig)
	}
	args = append(args, filepath.Join(home, "script.sieve"), filepath.Join(home, "message.eml"))
	argv := append(slices.Clone(st.wrap), st.bin)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	status := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run sieve-test: %v", err)
		}
		status = ee.ExitCode()
	}
	if status != 0 && status != 1 && status != 89 {
		t.Fatalf("sieve-test exited %d:\n%s%s", status, out.String(), errOut.String())
	}
	lines := PigeonholeLines(out.String(), status)
	if status != 0 {
		t.Logf("sieve-test (exit %d): %s", status, strings.TrimSpace(errOut.String()))
	}
	return lines
}

// TestDifferential compares letterbox's Sieve with Pigeonhole's on every
// case of testdata/diff. With SIEVETEST_UPDATE=1 it writes sieve-test's
// result into each case's expect section instead of checking it.
func TestDifferential(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "diff", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 60 {
		t.Errorf("%d differential cases; the issue asks for at least 60", len(paths))
	}
	st, why := newSieveTest(t)
	if st == nil {
		t.Logf("Pigeonhole side from the recorded expect sections only: %s", why)
	}
	update := os.Getenv("SIEVETEST_UPDATE") != ""
	var (
		agree, differ, pigeonholeChecked int
		covered                          = map[string]bool{}
	)
	requireRE := regexp.MustCompile(`"([a-z0-9;.-]+)"`)
	for i, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".txtar")
		c, err := loadCase(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for _, l := range strings.Split(string(c.script)+"\n"+joinScripts(c), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "require") {
				for _, m := range requireRE.FindAllStringSubmatch(l, -1) {
					covered[m[1]] = true
				}
			}
		}
		t.Run(name, func(t *testing.T) {
			want := c.expect
			if st != nil {
				got := st.run(t, i, c)
				pigeonholeChecked++
				switch {
				case update:
					if err := c.writeExpect(got); err != nil {
						t.Fatal(err)
					}
				case !c.hasExpect:
					t.Errorf("no expect section; sieve-test gives (SIEVETEST_UPDATE=1 records it):\n%s", strings.Join(got, "\n"))
				case !slices.Equal(got, c.expect):
					t.Errorf("sieve-test no longer gives the recorded result:\n got: %q\nwant: %q", got, c.expect)
				}
				want = got
			} else if !c.hasExpect {
				t.Fatal("no expect section and no sieve-test to make one")
			}

			dump, err := runLetterbox(t, c)
			if err != nil {
				t.Fatal(err)
			}
			got := DumpLines(dump)
			if c.why != "" {
				differ++
				if slices.Equal(got, want) {
					t.Errorf("listed as a deliberate difference (%s), but letterbox now agrees with Pigeonhole: %q", c.why, got)
				} else if !slices.Equal(got, c.differs) {
					t.Errorf("deliberate difference (%s):\nletterbox gives %q\n   case expects %q\n     Pigeonhole %q", c.why, got, c.differs, want)
				}
				return
			}
			if slices.Equal(got, want) {
				agree++
				return
			}
			t.Errorf("letterbox and Pigeonhole disagree:\n letterbox: %q\nPigeonhole: %q\nletterbox's sieve.Dump:\n%s", got, want, dump)
		})
	}
	var missing []string
	for _, e := range supported {
		if !covered[e] {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no case requires %s", strings.Join(missing, ", "))
	}
	pg := "recorded expect sections (sieve-test not installed)"
	if st != nil {
		pg = fmt.Sprintf("sieve-test, %d cases run", pigeonholeChecked)
	}
	table := fmt.Sprintf("cases: %d\nPigeonhole side: %s\nletterbox agrees: %d\ndeliberate differences: %d\n", len(paths), pg, agree, differ)
	report(t, "Sieve differential test against Pigeonhole", table)
}

func joinScripts(c *diffCase) string {
	var b strings.Builder
	for _, m := range []map[string][]byte{c.personal, c.global} {
		for _, s := range m {
			b.Write(s)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// writeExpect records lines as the case's expect section.
func (c *diffCase) writeExpect(lines []string) error {
	data := []byte(strings.Join(lines, "\n") + "\n")
	if len(lines) == 0 {
		data = []byte("# nothing\n")
	}
	i := slices.IndexFunc(c.arch.Files, func(f txtar.File) bool { return f.Name == "expect" })
	if i < 0 {
		c.arch.Files = append(c.arch.Files, txtar.File{Name: "expect", Data: data})
	} else {
		c.arch.Files[i].Data = data
	}
	return os.WriteFile(c.path, txtar.Format(c.arch), 0o644)
}
