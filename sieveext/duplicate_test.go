package sieveext

import (
	"reflect"
	"strings"
	"testing"
)

func TestDuplicate(t *testing.T) {
	hdr := header("Message-ID: <m1@x>", "X-Id: xid")
	seen := map[[2]string]bool{{"", "<m1@x>"}: true, {"h", "u1"}: true}
	for _, tc := range []struct {
		name, test  string
		hdrOverride []string
		want        bool
		recorded    []Duplicate
		loadErr     string
	}{
		{name: "seen message-id", test: `duplicate`, want: true},
		{name: "seen with :last refreshes", test: `duplicate :last`, want: true,
			recorded: []Duplicate{{ID: "<m1@x>", Seconds: duplicateDefaultSeconds}}},
		{name: "new header id", test: `duplicate :header "x-id" :seconds 60`, want: false,
			recorded: []Duplicate{{ID: "xid", Seconds: 60}}},
		{name: "uniqueid and handle", test: `duplicate :handle "h" :uniqueid "u1"`, want: true},
		{name: "uniqueid new", test: `duplicate :handle "h" :uniqueid "u2"`, want: false,
			recorded: []Duplicate{{Handle: "h", ID: "u2", Seconds: duplicateDefaultSeconds}}},
		{name: "no message-id", test: `duplicate`, hdrOverride: []string{"Subject: x"}, want: false},
		{name: "header and uniqueid", test: `duplicate :header "x" :uniqueid "y"`, loadErr: "exclusive"},
		{name: "seconds not a number", test: `duplicate :seconds "5"`, loadErr: "number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := compile(`require "duplicate"; if ` + tc.test + ` { keep; }`)
			if tc.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
					t.Fatalf("compile error %v, want one containing %q", err, tc.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := hdr
			if tc.hdrOverride != nil {
				h = header(tc.hdrOverride...)
			}
			r := &Run{Host: &mapHost{seen: seen}}
			d, err := execute(t, s, r, h)
			if err != nil {
				t.Fatal(err)
			}
			if fired(d) != tc.want {
				t.Errorf("duplicate = %v, want %v", fired(d), tc.want)
			}
			if !reflect.DeepEqual(r.Duplicates, tc.recorded) {
				t.Errorf("recorded %+v, want %+v", r.Duplicates, tc.recorded)
			}
		})
	}
	if _, err := compile(`if duplicate { keep; }`); err == nil {
		t.Error("duplicate without require compiled")
	}
}
