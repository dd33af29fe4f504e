package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers the letterbox command with testscript. testscript.Main
// copies this test binary into a temporary bin directory as "letterbox" and
// puts that directory first in $PATH; when the copy is run, Main sees the
// name in os.Args[0] and calls main(), which ends in os.Exit(run(...)). So
// the scripts in testdata and the process tests in process_test.go run the
// real command line in separate processes, with no "go build" at test time:
// letterboxPath finds that copy.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"letterbox": main})
}

// letterboxPath returns the path of the letterbox executable that
// testscript.Main installed (a copy of this test binary that runs main).
func letterboxPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("letterbox")
	if err != nil {
		t.Fatalf("letterbox is not in $PATH (testscript.Main should have put it there): %v", err)
	}
	if !strings.Contains(p, "testscript-main") {
		t.Fatalf("letterbox resolves to %s, not to the copy testscript.Main installed", p)
	}
	return p
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// A name whose lock name (NAME.lock) is longer than NAME_MAX.
			env.Setenv("LONGNAME", strings.Repeat("m", 252))
			// Never pick up a system-wide /etc/letterbox.toml by accident
			// through $LETTERBOX_CONFIG from the caller's environment.
			env.Setenv("LETTERBOX_CONFIG", "")
			// The user running the tests, by name, for deliveries to
			// "ourselves" through the user database.
			me, err := exec.Command("id", "-un").Output()
			if err != nil {
				return fmt.Errorf("id -un: %w", err)
			}
			env.Setenv("ME", strings.TrimSpace(string(me)))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"fromdate": cmdFromDate,
			"chown":    cmdChown,
			"isdir":    cmdIsDir,
			"issymlink": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: issymlink PATH TARGET")
				}
				got, err := os.Readlink(ts.MkAbs(args[0]))
				ts.Check(err)
				if got != args[1] {
					ts.Fatalf("%s points to %q, want %q", args[0], got, args[1])
				}
			},
			"lockfiles": cmdLockFiles,
			"useradd":   cmdUseradd,
		},
	})
}

// cmdExitCode is "exitcode N PROGRAM [ARG...]": it runs PROGRAM like exec
// and fails unless it exits with status N. Its standard output and error
// are kept for the stdout and stderr commands that follow.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdIsDir is "isdir PATH": PATH (not followed if it is a symlink) is a
// directory.
func cmdIsDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: isdir PATH")
	}
	fi, err := os.Lstat(ts.MkAbs(args[0]))
	ts.Check(err)
	if fi.IsDir() == neg {
		ts.Fatalf("%s: mode %v", args[0], fi.Mode())
	}
}

// cmdLockFiles is "lockfiles DIR NAME [WANT...]": the names in DIR that
// start with NAME.lock (the lock, and the unique, release and break files
// letterbox makes next to it) are exactly WANT; with no WANT, there are none.
func cmdLockFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: lockfiles DIR NAME [WANT...]")
	}
	got, err := lockLeftovers(ts.MkAbs(args[0]), args[1])
	ts.Check(err)
	want := args[2:]
	slices.Sort(want)
	if !slices.Equal(got, want) {
		ts.Fatalf("in %s: lock files %q, want %q", args[0], got, want)
	}
}

// lockLeftovers lists the names in dir that start with name+".lock".
func lockLeftovers(dir, name string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), name+".lock") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// fromDate is the date of a From_ line, which the clock decides.
var fromDate = regexp.MustCompile(`(?m)^(From \S+  )[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4}$`)

// cmdFromDate rewrites the date of every From_ line in FILE to DATE, so the
// file can be compared byte for byte with a golden one. It fails if FILE has
// no From_ line in the asctime form.
func cmdFromDate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fromdate FILE")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	if !fromDate.Match(b) {
		ts.Fatalf("%s has no From_ line with an asctime date", args[0])
	}
	ts.Check(os.WriteFile(p, fromDate.ReplaceAll(b, []byte("${1}DATE")), 0o600))
}

// cmdChown gives PATH to uid:gid without following a symlink.
func cmdChown(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: chown UID GID PATH")
	}
	uid, err1 := strconv.Atoi(args[0])
	gid, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		ts.Fatalf("chown: bad uid or gid")
	}
	ts.Check(os.Lchown(ts.MkAbs(args[2]), uid, gid))
}
