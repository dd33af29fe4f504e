package sieveext

import (
	"strings"
	"testing"
)

func TestRegex(t *testing.T) {
	hdr := header(
		"Subject: [list] Hello World",
		"From: Sirius <sirius+sieve@friep.example.com>",
	)
	for _, tc := range []struct {
		test    string
		want    bool
		loadErr string
	}{
		{`header :regex "subject" "^\\[list\\]"`, true, ""},
		{`header :regex "subject" "hello"`, true, ""}, // ascii-casemap: case-insensitive
		{`header :regex :comparator "i;octet" "subject" "hello"`, false, ""},
		{`header :regex :comparator "i;octet" "subject" "Hello"`, true, ""},
		{`header :regex "subject" ["nope", "wor.d$"]`, true, ""},
		{`header :regex "x-missing" ".*"`, false, ""},
		{`address :regex "from" "^sirius\\+.*@friep"`, true, ""},
		{`address :regex :localpart "from" "^sirius\\+sieve$"`, true, ""},
		{`address :regex :domain "from" "^friep\\.example\\.com$"`, true, ""},
		{`address :regex :user "from" "^sirius$"`, true, ""},
		{`address :regex :detail "from" "^sieve$"`, true, ""},
		{`envelope :regex "from" "^sender\\+list@"`, true, ""},
		{`envelope :regex :detail "to" "^box$"`, true, ""},
		{`string :regex "abc" "^a(b)c$"`, true, ""},
		{`string :regex "${undefined}" "^$"`, true, ""},
		{`header :regex :comparator "i;ascii-numeric" "subject" "1"`, false, "comparator"},
		{`header :regex :contains "subject" "x"`, false, "match-types"},
		{`header :regex "subject" "a[b"`, false, "regex"},
		{`envelope :regex "frop" "x"`, false, "envelope-part"}, // run-time error
	} {
		s, err := compile(`require ["regex", "envelope", "subaddress", "variables", "comparator-i;ascii-numeric"]; if ` + tc.test + ` { keep; }`)
		if tc.loadErr != "" && err != nil {
			if !strings.Contains(err.Error(), tc.loadErr) {
				t.Errorf("%s: compile error %v, want one containing %q", tc.test, err, tc.loadErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.test, err)
			continue
		}
		d, err := execute(t, s, &Run{}, hdr)
		if tc.loadErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.test, err, tc.loadErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.test, err)
			continue
		}
		if fired(d) != tc.want {
			t.Errorf("%s = %v, want %v", tc.test, fired(d), tc.want)
		}
	}
	if _, err := compile(`if header :regex "subject" "x" { keep; }`); err == nil || !strings.Contains(err.Error(), "regex") {
		t.Errorf(":regex without require: %v", err)
	}
}

func TestRegexMatchVariables(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   []string // ${0}, ${1}, ...
	}{
		{`if header :regex "subject" "^\\[([a-z]+)\\] (.*)$" {}`, []string{"[list] Hello World", "list", "Hello World"}},
		// POSIX leftmost-longest: the alternation takes the longer branch.
		{`if string :regex "ab" "a|ab" {}`, []string{"ab"}},
		// A variable key is compiled at run time.
		{`set "re" "W(or)ld"; if header :regex "subject" "${re}" {}`, []string{"World", "or"}},
	} {
		s := mustCompile(t, `require ["regex", "variables"]; `+tc.script)
		d, err := execute(t, s, &Run{}, header("Subject: [list] Hello World"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(d.MatchVariables, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: match variables %q, want %q", tc.script, d.MatchVariables, tc.want)
		}
	}
	// Without "variables", match variables are left alone.
	s := mustCompile(t, `require "regex"; if header :regex "subject" "(list)" { keep; }`)
	d, err := execute(t, s, &Run{}, header("Subject: [list]"))
	if err != nil || !fired(d) || len(d.MatchVariables) != 0 {
		t.Errorf("without variables: err %v, fired %v, match variables %q", err, fired(d), d.MatchVariables)
	}
}
