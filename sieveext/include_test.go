package sieveext

import (
	"strings"
	"testing"

	"github.com/foxcpp/go-sieve/interp"
)

func TestInclude(t *testing.T) {
	scripts := map[string]string{
		"file":      `require "fileinto"; fileinto "A";`,
		"copy":      `require ["fileinto", "copy"]; fileinto :copy "B";`,
		"local":     `require "variables"; set "x" "inner"; set "y" "inner";`,
		"glob":      `require ["variables", "include"]; global "g"; set "g" "${g}+inner"; set "x" "leaked";`,
		"ret":       `require ["include", "fileinto"]; return; fileinto "never";`,
		"stop":      `require "fileinto"; stop;`,
		"self":      `require "include"; include "self";`,
		"a":         `require "include"; include "b";`,
		"b":         `require "include"; include "a";`,
		"deep":      `require "include"; include "deep2";`,
		"deep2":     `require "include"; include "deep3";`,
		"deep3":     `require "include"; include "deep4";`,
		"deep4":     `require "include"; include "deep5";`,
		"deep5":     `require "include"; include "deep6";`,
		"deep6":     `require "include"; include "deep7";`,
		"deep7":     `require "include"; include "deep8";`,
		"deep8":     `require "include"; include "deep9";`,
		"deep9":     `require "include"; include "deep10";`,
		"deep10":    `require "include"; include "deep11";`,
		"deep11":    `keep;`,
		"count":     `require ["variables", "include"]; global "n"; set "n" "${n}I";`,
		"global/gs": `require "fileinto"; fileinto "Global";`,
	}
	for _, tc := range []struct {
		name, script string
		runErr       string
		want         string // actions, e.g. "fileinto:A keep*" (* = implicit)
		vars         map[string]string
	}{
		{name: "actions accumulate", script: `require ["include", "fileinto"]; include "file"; fileinto "Z";`, want: "fileinto:A fileinto:Z"},
		{name: "implicit keep survives :copy", script: `require "include"; include "copy";`, want: "fileinto:B keep*"},
		{name: "implicit keep cancelled", script: `require "include"; include "file";`, want: "fileinto:A"},
		{name: "variables are local", script: `require ["include", "variables"]; set "x" "outer"; include "local";`,
			want: "keep*", vars: map[string]string{"x": "outer", "y": ""}},
		{name: "global shared", script: `require ["include", "variables"]; global "g"; set "g" "outer"; include "glob"; include "glob";`,
			want: "keep*", vars: map[string]string{"g": "outer+inner+inner", "x": ""}},
		{name: "return", script: `require ["include", "fileinto"]; include "ret"; fileinto "after";`, want: "fileinto:after"},
		// After stop, interp.Script.Execute returns before adding the
		// implicit keep action; d.ImplicitKeep stays true (checked below).
		{name: "return at top is stop", script: `require ["include", "fileinto"]; return; fileinto "never";`, want: ""},
		{name: "stop ends everything", script: `require ["include", "fileinto"]; include "stop"; fileinto "never";`, want: ""},
		{name: "once", script: `require ["include", "variables"]; global "n"; include "count"; include :once "count"; include "count";`,
			want: "keep*", vars: map[string]string{"n": "II"}},
		{name: "global location", script: `require "include"; include :global "gs";`, want: "fileinto:Global"},
		{name: "optional missing", script: `require "include"; include :optional "none";`, want: "keep*"},
		{name: "missing", script: `require "include"; include "none";`, runErr: "none"},
		{name: "self", script: `require "include"; include "self";`, runErr: "circular"},
		{name: "cycle", script: `require "include"; include "a";`, runErr: "circular"},
		{name: "depth", script: `require "include"; include "deep";`, runErr: "deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustCompile(t, tc.script)
			d, err := execute(t, s, &Run{Load: mapLoader(scripts)}, header())
			if tc.runErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.runErr) {
					t.Fatalf("run error %v, want one containing %q", err, tc.runErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := actions(d); got != tc.want {
				t.Errorf("actions %q, want %q", got, tc.want)
			}
			// d.ImplicitKeep must agree with the actions, across includes.
			if wantKeep := tc.want == "" || strings.Contains(tc.want, "keep*"); d.ImplicitKeep != wantKeep {
				t.Errorf("ImplicitKeep %v, want %v", d.ImplicitKeep, wantKeep)
			}
			for k, v := range tc.vars {
				if d.Variables[k] != v {
					t.Errorf("variable %s = %q, want %q", k, d.Variables[k], v)
				}
			}
		})
	}
}

func actions(d *interp.RuntimeData) string {
	var out []string
	for _, a := range d.AppliedActions {
		switch a := a.(type) {
		case interp.ActionFileInto:
			out = append(out, "fileinto:"+a.Mailbox)
		case interp.ActionKeep:
			if a.Implicit {
				out = append(out, "keep*")
			} else {
				out = append(out, "keep")
			}
		default:
			out = append(out, "other")
		}
	}
	return strings.Join(out, " ")
}

func TestIncludeSyntax(t *testing.T) {
	for _, tc := range []struct{ script, err string }{
		{`include "x";`, "require"},
		{`require "include"; include :personal :global "x";`, "exclusive"},
		{`require ["include", "variables"]; include "${x}";`, "variables"},
		{`require "include"; include "../x";`, "'/'"},
		{`require "include"; include "";`, "empty"},
		{`require "include"; global "x";`, "variables"},
		{`require ["include", "variables"]; global "no-dash";`, "invalid"},
		{`return;`, "require"},
	} {
		if _, err := compile(tc.script); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: compile error %v, want one containing %q", tc.script, err, tc.err)
		}
	}
}
