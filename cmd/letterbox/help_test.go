package main

import (
	"flag"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpListsEveryFlag walks the command table and, for every command
// and subcommand, builds its flag set and checks that "letterbox help CMD",
// "letterbox CMD --help" and "letterbox CMD -h" print the same text to
// standard output, exit 0, and name every flag with its description.
func TestHelpListsEveryFlag(t *testing.T) {
	lb := letterboxPath(t)
	helpOf := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.Command(lb, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() != 0 {
			t.Fatalf("letterbox %s: %v, stderr %q", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	space := regexp.MustCompile(`\s+`)
	for _, top := range commands {
		for _, c := range append([]command{top}, top.sub...) {
			t.Run(c.name, func(t *testing.T) {
				words := strings.Fields(c.name)
				help := helpOf(t, append([]string{"help"}, words...)...)
				for _, h := range []string{"--help", "-h"} {
					if got := helpOf(t, append(words, h)...); got != help {
						t.Errorf("letterbox %s %s printed\n%s\nwant what help %s printed:\n%s", c.name, h, got, c.name, help)
					}
				}
				f := c.flags()
				if c.sub != nil {
					f = groupFlags(&c)
					if f.NFlag() != 0 || strings.Contains(help, "flags:") {
						t.Errorf("group %s has flags of its own", c.name)
					}
					for _, sc := range c.sub {
						if !strings.Contains(help, sc.flags().Synopsis) {
							t.Errorf("help %s does not show %q", c.name, sc.flags().Synopsis)
						}
					}
					return
				}
				if !strings.HasPrefix(help, "usage: "+f.Synopsis+"\n") {
					t.Errorf("help %s does not start with its synopsis %q:\n%s", c.name, f.Synopsis, help)
				}
				if f.About == "" || !strings.Contains(space.ReplaceAllString(help, " "), f.About) {
					t.Errorf("help %s does not say what the command does (About %q)", c.name, f.About)
				}
				flat := space.ReplaceAllString(help, " ")
				n := 0
				f.VisitAll(func(fl *flag.Flag) {
					n++
					if _, ok := fl.Value.(interface{ IsBoolFlag() bool }); !ok && !strings.Contains(fl.Usage, "`") {
						t.Errorf("%s: flag -%s does not name its value in `backquotes`", c.name, fl.Name)
					}
				})
				docs := f.List()
				if len(docs) != n || n == 0 && c.name != "version" && c.name != "help" && c.name != "sieve check" {
					t.Errorf("%s: %d flags listed of %d", c.name, len(docs), n)
				}
				for _, d := range docs {
					line := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(d.Term) + `( |$)`)
					if !line.MatchString(help) {
						t.Errorf("help %s does not list %q", c.name, d.Term)
					}
					if !strings.Contains(flat, d.Text) {
						t.Errorf("help %s does not describe %s as %q", c.name, d.Term, d.Text)
					}
					// The synopsis names every flag too, so that it
					// cannot fall behind either.
					name := "-" + d.Name
					if len(d.Name) > 1 {
						name = "-" + name
					}
					if !strings.Contains(f.Synopsis, "["+name) {
						t.Errorf("%s: synopsis %q omits %s", c.name, f.Synopsis, name)
					}
				}
			})
		}
	}
}

func TestVersionString(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "9a2f6fcd03e234355fb1c986413ec2e04efc3b3f"
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "devel"},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs(rev, "false")}, "v1.2.3"},
		{"clean checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel-9a2f6fcd03e2"},
		{"uncommitted changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel-9a2f6fcd03e2-dirty"},
		{"-buildvcs=false", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		if got := versionString(tc.bi); got != tc.want {
			t.Errorf("%s: versionString = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := goVersion(&debug.BuildInfo{GoVersion: "go1.26.8"}); got != "go1.26.8" {
		t.Errorf("goVersion = %q", got)
	}
}

func TestSecondsFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the duration, or "error"
	}{
		{"5", "5s"}, {"0", "0s"}, {"2.5", "2.5s"}, {"30s", "30s"}, {"2m", "2m0s"}, {"1h30m", "1h30m0s"},
		{"-1", "-1s"}, // refused later as negative, with its own message
		{"soon", "error"}, {"", "error"}, {"5 s", "error"}, {"NaN", "error"}, {"Inf", "error"}, {"1e10", "error"},
	} {
		var s secondsFlag
		err := s.Set(tc.in)
		got := s.d.String()
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("--timeout %q = %s, want %s (err %v)", tc.in, got, tc.want, err)
		}
		if err == nil && !s.set {
			t.Errorf("--timeout %q: not marked as given", tc.in)
		}
	}
}
