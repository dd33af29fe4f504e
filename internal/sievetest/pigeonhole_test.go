package sievetest

import (
	"bytes"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gosieve "github.com/foxcpp/go-sieve"
	"github.com/foxcpp/go-sieve/interp"
	"github.com/foxcpp/go-sieve/lexer"
	"github.com/foxcpp/go-sieve/parser"

	// Registers letterbox's extensions into go-sieve's tables, which the
	// runner's test_script_compile reads too.
	_ "letterbox/sieveext"
)

// svtest is one file of Pigeonhole's suite and what letterbox is known not
// to pass in it.
type svtest struct {
	ext  string // the extension whose count the file adds to
	file string // below $PIGEONHOLE_DIR/tests
	// known maps the name of a sub-test ("test" block) that fails with
	// letterbox to the reason. Those sub-tests are skipped by go-sieve's
	// runner (DisabledTests) and counted as known failures, not passes.
	known map[string]string
	// whole, when set, is why the file cannot run at all (it does not
	// load); all its sub-tests count as known failures.
	whole string
}

// Reasons shared by several known failures.
const (
	// Pigeonhole 0.5.19's "string" test compares with i;octet unless told
	// otherwise (tst-string.c), and its tests expect that; RFC 5229 §5
	// makes i;ascii-casemap the default, as go-sieve does. Later
	// Pigeonhole versions follow the RFC and changed these tests.
	stringComparator = "Pigeonhole 0.5.19's string test defaults to i;octet, RFC 5229 §5 (and go-sieve) to i;ascii-casemap: a case-only difference that must not match here does"
	// go-sieve answers every test_error with true: it cannot count or
	// match Pigeonhole's error messages.
	testErrorCount = "checks test_error :count, which go-sieve's runner answers with true (it has no Pigeonhole error list; go-sieve strips these calls too)"
	dedup          = "go-sieve's result keeps duplicate actions (fileinto \"INBOX\" after keep, a second redirect to one address) that Pigeonhole merges (RFC 5228 §2.10.3); letterbox's sieve.Run merges them, checked by the differential cases"
	// go-sieve's test_result_reset restores the message but not the
	// result: AppliedActions stay, and the next test_result_execute
	// carries them out again.
	resultReset = "go-sieve's test_result_reset does not clear the result, so each test_result_execute files the earlier actions again"
	// go-sieve's test_script_compile builds its own interp.Options, without
	// the variables limits, so every set in a compiled script fails.
	noVarOpts = "test_script_compile loads with go-sieve's zero interp.Options, in which every set fails (\"cannot set this variable\")"
	// sieveext reads included scripts when include executes.
	compileTimeInclude = "Pigeonhole refuses the cycle when it compiles; sieveext reads included scripts when include executes (go-sieve has no compile-time hook), so the compile succeeds"
	// RFC 6609 §3.5.
	globalNamespace = "uses the \"global.\" variable namespace (RFC 6609 §3.5), which go-sieve's variables do not know (set refuses it, expansion panics); sieveext does not offer it"
	rejectConflict  = "RFC 5429 §2.1 forbids reject with keep/fileinto/redirect and Pigeonhole fails the run; go-sieve runs both"
)

// suite lists the files run, by the extension letterbox supports that
// each tests. "base" is RFC 5228 itself (and its comparators and match
// types), which every extension builds on.
var suite = []svtest{
	// RFC 5228 base, as go-sieve's own tests run it.
	{ext: "base", file: "testsuite.svtest"},
	{ext: "base", file: "lexer.svtest"},
	{ext: "base", file: "control-if.svtest"},
	{ext: "base", file: "control-stop.svtest"},
	{ext: "base", file: "test-address.svtest", known: map[string]string{
		"Basic functionality": "go-sieve's address parser keeps RFC 5322 comments in the address (go-sieve excludes it too)",
		"Invalid addresses":   "go-sieve's :localpart matches an address with invalid UTF-8 that Pigeonhole rejects (go-sieve excludes it too)",
	}},
	{ext: "base", file: "test-allof.svtest"},
	{ext: "base", file: "test-anyof.svtest"},
	{ext: "base", file: "test-exists.svtest"},
	{ext: "base", file: "test-header.svtest"},
	{ext: "base", file: "test-size.svtest"},
	{ext: "base", file: "comparators/i-ascii-casemap.svtest"},
	{ext: "base", file: "comparators/i-octet.svtest"},
	{ext: "base", file: "match-types/contains.svtest"},
	{ext: "base", file: "match-types/is.svtest"},
	{ext: "base", file: "match-types/matches.svtest"},
	{ext: "base", file: "compile/compile.svtest"},
	{ext: "base", file: "compile/warnings.svtest"},
	{ext: "base", file: "execute/actions.svtest", known: map[string]string{
		"Fileinto": dedup,
		"Redirect": dedup,
	}},
	{ext: "base", file: "execute/smtp.svtest", known: map[string]string{
		"Redirect":         "expects Pigeonhole's X-Sieve-Redirected-From header, which the go-sieve result has no place for (letterbox's redirect is delivery's job)",
		"Redirect from <>": "expects Pigeonhole's X-Sieve-Redirected-From header, as \"Redirect\" does",
	}},

	{ext: "envelope", file: "extensions/envelope.svtest", known: map[string]string{
		"Envelope - source route":        "go-sieve's path parser does not take RFC 5321 source routes (go-sieve excludes it too)",
		"Envelope - source route errors": "go-sieve's path parser does not take RFC 5321 source routes (go-sieve excludes it too)",
		"Envelope - invalid paths":       "go-sieve leaves envelope validation to the caller; letterbox's deliver/lmtp validate addresses before Sieve (go-sieve excludes it too)",
		"Envelope - syntax errors":       "go-sieve leaves envelope validation to the caller; letterbox's deliver/lmtp validate addresses before Sieve (go-sieve excludes it too)",
	}},
	{ext: "envelope", file: "execute/address-normalize.svtest", known: map[string]string{
		"Mail address normalization - redirect": "go-sieve hands redirect's address on verbatim (\"Sirius\"@example.net, \"Name\" <a@b>); Pigeonhole normalises it to its addr-spec",
	}},

	{ext: "fileinto", file: "execute/mailstore.svtest", known: map[string]string{
		"Duplicates": "go-sieve's test_set \"message\" parses the value before expanding variables, so \"${message1}\" is not a message",
	}},
	{ext: "fileinto", file: "execute/errors.svtest", known: map[string]string{
		"Action conflicts: reject <-> fileinto": rejectConflict,
		"Action conflicts: reject <-> keep":     rejectConflict,
		"Action conflicts: reject <-> redirect": rejectConflict,
		"Action limit":                          "Pigeonhole's sieve_max_actions policy limit (32); go-sieve has none",
		"Redirect limit":                        "go-sieve's redirect limit (MaxRedirects) is not applied by the runner's test_script_compile, which builds its own options",
		"Fileinto missing folder":               "deliberate: letterbox delivers to INBOX when a folder cannot be used (README, like dovecot-lda); Pigeonhole's test store fails",
		"Fileinto invalid folder name":          "compiles with mailbox (fileinto :create), which this runner's test_script_compile loads without sieveext's tables; and the error is the store's, Pigeonhole-specific",
		"Fileinto bad UTF-8 in folder name":     "the script sets a variable with a name go-sieve refuses (\"cannot set this variable\"); the error checked is Pigeonhole's",
	}},

	{ext: "encoded-character", file: "extensions/encoded-character.svtest", known: map[string]string{
		"HEX equality one":        stringComparator,
		"HEX equality one middle": stringComparator,
	}},

	{ext: "body", file: "extensions/body/basic.svtest"},
	{ext: "body", file: "extensions/body/content.svtest"},
	{ext: "body", file: "extensions/body/errors.svtest"},
	{ext: "body", file: "extensions/body/match-values.svtest"},
	{ext: "body", file: "extensions/body/raw.svtest"},
	{ext: "body", file: "extensions/body/text.svtest"},

	{ext: "variables", file: "extensions/variables/basic.svtest", known: map[string]string{
		"Basic assignment": stringComparator,
	}},
	{ext: "variables", file: "extensions/variables/errors.svtest"},
	{ext: "variables", file: "extensions/variables/limits.svtest"},
	{ext: "variables", file: "extensions/variables/match.svtest"},
	{ext: "variables", file: "extensions/variables/modifiers.svtest", known: map[string]string{
		"Modifiers :lower :upperfirst": stringComparator,
		"Modifiers :upperfirst :lower": stringComparator,
		"Modifiers :upper :lowerfirst": stringComparator,
		"Modifiers :lowerfirst :upper": stringComparator,
	}},
	{ext: "variables", file: "extensions/variables/quoting.svtest"},
	{ext: "variables", file: "extensions/variables/regex.svtest"},
	{ext: "variables", file: "extensions/variables/string.svtest"},

	{ext: "relational", file: "extensions/relational/basic.svtest"},
	{ext: "relational", file: "extensions/relational/comparators.svtest"},
	{ext: "relational", file: "extensions/relational/errors.svtest", known: map[string]string{
		"Syntax errors":     testErrorCount,
		"Validation errors": testErrorCount,
	}},
	{ext: "relational", file: "extensions/relational/rfc.svtest"},

	{ext: "imap4flags", file: "extensions/imap4flags/basic.svtest"},
	{ext: "imap4flags", file: "extensions/imap4flags/execute.svtest", known: map[string]string{
		"Flags Side Effect": dedup + " (here two fileinto into one folder with different flags become one message with the flags merged; go-sieve excludes it too)",
	}},
	{ext: "imap4flags", file: "extensions/imap4flags/flagstore.svtest", known: map[string]string{
		"Basic": resultReset,
	}},
	{ext: "imap4flags", file: "extensions/imap4flags/flagstring.svtest"},
	{ext: "imap4flags", file: "extensions/imap4flags/hasflag.svtest"},
	{ext: "imap4flags", file: "extensions/imap4flags/multiscript.svtest", whole: "needs test_multiscript (Pigeonhole runs several scripts in sequence), which go-sieve's runner lacks; letterbox's script sequence is checked by package sieve's tests"},

	{ext: "subaddress", file: "extensions/subaddress/basic.svtest"},
	{ext: "subaddress", file: "extensions/subaddress/config.svtest"},
	{ext: "subaddress", file: "extensions/subaddress/rfc.svtest"},

	{ext: "reject", file: "extensions/reject/execute.svtest"},
	{ext: "reject", file: "extensions/reject/smtp.svtest", known: map[string]string{
		"Basic": "expects the rejection DSN (RFC 5429 §2.1) on the test SMTP queue; go-sieve's result holds only the reason, and letterbox's delivery, not the script run, answers the MTA",
	}},

	{ext: "environment", file: "extensions/environment/basic.svtest"},
	{ext: "environment", file: "extensions/environment/rfc.svtest"},

	{ext: "mailbox", file: "extensions/mailbox/errors.svtest", whole: "needs vnd.dovecot.debug (debug_log), which go-sieve lacks"},
	{ext: "mailbox", file: "extensions/mailbox/execute.svtest"},

	{ext: "date", file: "extensions/date/basic.svtest", whole: "go-sieve's test_set \"message\" reads the header with net/textproto, which refuses this file's message (a header line without a colon at top level), so the file stops before its first test"},
	{ext: "date", file: "extensions/date/date-parts.svtest"},
	{ext: "date", file: "extensions/date/zones.svtest"},

	{ext: "index", file: "extensions/index/basic.svtest"},
	{ext: "index", file: "extensions/index/errors.svtest"},

	{ext: "regex", file: "extensions/regex/basic.svtest"},
	{ext: "regex", file: "extensions/regex/errors.svtest", known: map[string]string{
		"Runtime errors": noVarOpts,
	}},
	{ext: "regex", file: "extensions/regex/match-values.svtest"},

	{ext: "include", file: "extensions/include/errors.svtest", known: map[string]string{
		"Circular - direct":           compileTimeInclude + " (cycles are refused when include executes, sieveext's TestInclude)",
		"Circular - one intermittent": compileTimeInclude,
		"Circular - two intermittent": compileTimeInclude,
		"Include limit":               "sets sieve_include_max_includes, a Pigeonhole setting go-sieve's test_config_set does not know",
		"Depth limit":                 "sets sieve_include_max_nesting_depth, a Pigeonhole setting go-sieve's test_config_set does not know (sieveext's limit is 10, Pigeonhole's default)",
	}},
	{ext: "include", file: "extensions/include/execute.svtest", known: map[string]string{
		"Namespace - file": globalNamespace,
		"Namespace - dict": "sets \"sieve\" to a dict: script storage, a Pigeonhole setting go-sieve's test_config_set does not know",
	}},
	{ext: "include", file: "extensions/include/once.svtest"},
	{ext: "include", file: "extensions/include/optional.svtest", known: map[string]string{
		"Included Optional - Binary": "reads the global variable the compiled script set after test_script_run; Pigeonhole shares globals between the test file and the script it runs, go-sieve runs it on a copy of the file's variables (and this suite gives it its own Run)",
	}},
	{ext: "include", file: "extensions/include/rfc.svtest", known: map[string]string{
		"RFC example 2": noVarOpts,
	}},
	{ext: "include", file: "extensions/include/twice.svtest"},
	{ext: "include", file: "extensions/include/variables.svtest", whole: globalNamespace + "; here at the file's top level, so the file stops"},

	{ext: "duplicate", file: "extensions/duplicate/errors.svtest"},
	{ext: "duplicate", file: "extensions/duplicate/execute.svtest"},
	{ext: "duplicate", file: "extensions/duplicate/execute-vnd.svtest", whole: "needs vnd.dovecot.duplicate, Pigeonhole's pre-RFC 7352 name, which letterbox does not offer"},

	{ext: "vacation", file: "extensions/vacation/errors.svtest", known: map[string]string{
		"Action conflicts: reject <-> vacation": testErrorCount + " (the conflict itself is found: test_script_run fails)",
	}},
	{ext: "vacation", file: "extensions/vacation/execute.svtest", known: map[string]string{
		"Action":               "test_result_action cannot see vacation: sieveext records it in the Run, since go-sieve's AppliedAction is sealed (unexported methods)",
		"No :handle specified": noVarOpts,
	}},
	{ext: "vacation", file: "extensions/vacation/message.svtest"},
	{ext: "vacation", file: "extensions/vacation/reply.svtest", known: map[string]string{}},
	{ext: "vacation", file: "extensions/vacation/smtp.svtest"},
	{ext: "vacation", file: "extensions/vacation/utf-8.svtest"},
}

// TestPigeonhole runs every file of suite with go-sieve's runner, one
// sub-test per file (and, inside, one per "test" block, named as in the
// file), and reports the counts per extension.
func TestPigeonhole(t *testing.T) {
	dir := os.Getenv("PIGEONHOLE_DIR")
	if dir == "" {
		t.Skip("PIGEONHOLE_DIR is not set: it names the unpacked Pigeonhole source (tests/ below it); .ci/run fetches it with apt-get source dovecot")
	}
	// Every known failure is re-run when set, to find entries that no
	// longer fail (the runner cannot report a disabled test that passes).
	runKnown := os.Getenv("SIEVETEST_RUN_KNOWN") != ""

	var rows []countRow
	for _, f := range suite {
		path := filepath.Join(dir, "tests", filepath.FromSlash(f.file))
		sv, err := readSvtest(path)
		if err != nil {
			t.Errorf("%s: %v", f.file, err)
			continue
		}
		all := append(slices.Clone(sv.names), sv.unrun...)
		for name := range f.known {
			if !slices.Contains(all, name) {
				t.Errorf("%s: known failure %q names no sub-test of the file", f.file, name)
			}
		}
		row := countRow{ext: f.ext, files: 1, subtests: len(all), known: len(sv.unrun)}
		if f.whole != "" && !runKnown {
			row.known = len(all)
			t.Run(f.file, func(t *testing.T) { t.Skip("known failure, whole file: " + f.whole) })
			rows = append(rows, row)
			continue
		}
		var disabled []string
		for name := range f.known {
			if slices.Contains(sv.names, name) && !runKnown {
				disabled = append(disabled, name)
			}
		}
		ok := t.Run(f.file, func(t *testing.T) {
			if sv.cutKey != "" {
				t.Logf("not run from line %d on (%d sub-tests, counted as known failures): test_config_set %q, a Pigeonhole setting go-sieve's runner does not have, fails the whole file",
					sv.cutLine, len(sv.unrun), sv.cutKey)
				path = truncatedCopy(t, path, sv.cutLine)
			}
			runSvtest(t, path, disabled)
		})
		if ok {
			row.filesPassed = 1
			row.passed = len(sv.names) - len(disabled)
		}
		row.known += len(disabled)
		rows = append(rows, row)
	}
	report(t, "Pigeonhole .svtest suite ("+dir+")", countTable(rows))
}

// runSvtest runs the .svtest file at path as go-sieve's
// tests.RunDovecotTestWithout does, with the test blocks named in disabled
// skipped, but in the environment Pigeonhole's testsuite gives every file
// (suiteEnv): go-sieve's runner executes with a bare context, in which
// every sieveext command fails for want of a sieveext.Run.
func runSvtest(t *testing.T, path string, disabled []string) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := gosieve.DefaultOptions()
	opts.Lexer.Filename = filepath.Base(path)
	opts.Interp.T = t
	opts.Interp.DisabledTests = disabled
	script, err := gosieve.Load(bytes.NewReader(text), opts)
	if err != nil {
		t.Fatal("load test script:", err)
	}
	data := gosieve.NewRuntimeData(script, interp.DummyPolicy{}, interp.EnvelopeStatic{},
		interp.MessageStatic{Header: textproto.MIMEHeader{}})
	data.Test = &interp.TestRuntime{Name: t.Name()}
	// The environment items (RFC 5183) Pigeonhole's testsuite has, which
	// extensions/environment/*.svtest check.
	data.Env = interp.MapEnv{"name": "Pigeonhole Sieve", "version": "0.0", "location": "MS", "phase": "during"}
	env := newSuiteEnv(data.Test, filepath.Dir(path))
	data.Test.Execute = env.store
	data.Namespace = suiteFS{os.DirFS(filepath.Dir(path)), env}
	if err := script.Execute(env.context(), data); err != nil {
		t.Fatal(err)
	}
}

// runnerConfig are the test_config_set keys go-sieve's runner knows
// (interp.CmdDovecotConfigSet); any other fails the whole file when set at
// its top level.
var runnerConfig = []string{"recipient_delimiter", "sieve_variables_max_variable_size"}

// svtestFile is what the test needs to know of an .svtest file.
type svtestFile struct {
	names   []string // top-level "test" blocks the runner runs
	unrun   []string // "test" blocks after cutLine, which it cannot reach
	cutLine int      // line of the first top-level test_config_set of a key not in runnerConfig
	cutKey  string
}

// readSvtest parses an .svtest file with go-sieve's own lexer and parser.
func readSvtest(path string) (svtestFile, error) {
	var sv svtestFile
	b, err := os.ReadFile(path)
	if err != nil {
		return sv, err
	}
	toks, err := lexer.Lex(bytes.NewReader(b), &lexer.Options{})
	if err != nil {
		return sv, fmt.Errorf("lex: %w", err)
	}
	cmds, err := parser.Parse(lexer.NewStream(toks), &parser.Options{MaxBlockNesting: 100, MaxTestNesting: 100})
	if err != nil {
		return sv, fmt.Errorf("parse: %w", err)
	}
	for _, c := range cmds {
		id := strings.ToLower(c.Id)
		if id == "test_config_set" && sv.cutKey == "" && len(c.Args) > 0 {
			if k, ok := c.Args[0].(parser.StringArg); ok && !slices.Contains(runnerConfig, k.Value) {
				sv.cutKey, sv.cutLine = k.Value, c.Line
			}
		}
		if id != "test" || len(c.Args) == 0 {
			continue
		}
		if s, ok := c.Args[0].(parser.StringArg); ok {
			if sv.cutKey != "" {
				sv.unrun = append(sv.unrun, s.Value)
			} else {
				sv.names = append(sv.names, s.Value)
			}
		}
	}
	return sv, nil
}

// truncatedCopy copies the directory of path (the scripts the file
// compiles are relative to it) into a temporary directory, with the file
// cut before line, and returns the copy's path.
func truncatedCopy(t *testing.T, path string, line int) string {
	t.Helper()
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(filepath.Dir(path))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	cut := filepath.Join(tmp, filepath.Base(path))
	if err := os.WriteFile(cut, []byte(strings.Join(lines[:line-1], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return cut
}

type countRow struct {
	ext                string
	files, filesPassed int
	subtests, passed   int
	known              int // sub-tests listed as known failures (not run)
}

// countTable sums rows per extension, in order of first appearance.
func countTable(rows []countRow) string {
	var order []string
	sum := map[string]*countRow{}
	var total countRow
	for _, r := range rows {
		s := sum[r.ext]
		if s == nil {
			s = &countRow{ext: r.ext}
			sum[r.ext] = s
			order = append(order, r.ext)
		}
		for _, d := range []*countRow{s, &total} {
			d.files += r.files
			d.filesPassed += r.filesPassed
			d.subtests += r.subtests
			d.passed += r.passed
			d.known += r.known
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %11s %17s %13s\n", "extension", "files ok/all", "subtests ok/all", "known-failing")
	line := func(r *countRow) {
		fmt.Fprintf(&b, "%-18s %5d/%-6d %8d/%-8d %13d\n", r.ext, r.filesPassed, r.files, r.passed, r.subtests, r.known)
	}
	for _, e := range order {
		line(sum[e])
	}
	total.ext = "total"
	line(&total)
	b.WriteString("(sub-tests count as ok only in files that pass as a whole; known-failing ones are not run)\n")
	return b.String()
}
