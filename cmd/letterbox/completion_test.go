package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const completionPath = "../../contrib/bash-completion/letterbox"

// complete runs the bash completion on the command line words, the last
// being the word under the cursor, and returns what it offers.
func complete(t *testing.T, bash string, words ...string) []string {
	t.Helper()
	script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _letterbox; printf '%s\n' "${COMPREPLY[@]}"`
	out, err := exec.Command(bash, append([]string{"-c", script, "bash", completionPath}, words...)...).Output()
	if err != nil {
		t.Fatalf("complete %q: %v", words, err)
	}
	return strings.Fields(string(out))
}

// TestBashCompletion checks that contrib/bash-completion/letterbox
// registers itself and offers every command of the table and every flag
// each command parses.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	out, err := exec.Command(bash, "-c", `source "$1" && complete -p letterbox`, "bash", completionPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-F _letterbox letterbox") {
		t.Fatalf("complete -p letterbox: %v: %s", err, out)
	}

	top := complete(t, bash, "letterbox", "")
	for _, c := range commands {
		if !slices.Contains(top, c.name) {
			t.Errorf("letterbox <TAB> offers %q, without %s", top, c.name)
		}
		for _, sc := range c.sub {
			sub := strings.TrimPrefix(sc.name, c.name+" ")
			if got := complete(t, bash, "letterbox", c.name, ""); !slices.Contains(got, sub) {
				t.Errorf("letterbox %s <TAB> offers %q, without %s", c.name, got, sub)
			}
			if got := complete(t, bash, "letterbox", "help", c.name, ""); !slices.Contains(got, sub) {
				t.Errorf("letterbox help %s <TAB> offers %q, without %s", c.name, got, sub)
			}
		}
		for _, leaf := range append([]command{c}, c.sub...) {
			if leaf.sub != nil || leaf.name == "help" {
				continue
			}
			got := complete(t, bash, append(append([]string{"letterbox"}, strings.Fields(leaf.name)...), "-")...)
			for _, d := range leaf.flags().List() {
				name, _, _ := strings.Cut(d.Term, " ")
				if !slices.ContainsFunc(got, func(s string) bool { return s == name || strings.HasPrefix(s, name+"=") }) {
					t.Errorf("letterbox %s -<TAB> offers %q, without %s", leaf.name, got, name)
				}
			}
		}
	}

	// Values of the flags that take a fixed set of them.
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"letterbox", "deliver", "--format", "m"}, "maildir"},
		{[]string{"letterbox", "convert", "--quoting", "mboxc"}, "mboxcl2"},
		{[]string{"letterbox", "lock", "--locks", "fc"}, "fcntl-classic"},
		{[]string{"letterbox", "--v"}, "--version"},
		{[]string{"letterbox", "lock", "M", "--", "tru"}, "true"},
	} {
		if got := complete(t, bash, tc.words...); !slices.Contains(got, tc.want) {
			t.Errorf("complete %q = %q, want %s among them", tc.words, got, tc.want)
		}
	}
}
