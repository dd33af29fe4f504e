package sieveext

import (
	"strings"
	"testing"
)

func TestIndex(t *testing.T) {
	hdr := header(
		"X-A: one", "X-A: two", "X-A: three",
		"To: a@example.com, b@example.com", "To: c@example.com",
	)
	for _, tc := range []struct {
		test    string
		want    bool
		loadErr string
	}{
		{`header :index 1 "x-a" "one"`, true, ""},
		{`header :index 2 "x-a" "one"`, false, ""},
		{`header :index 2 "x-a" "two"`, true, ""},
		{`header :index 1 :last "x-a" "three"`, true, ""},
		{`header :index 3 :last "x-a" "one"`, true, ""},
		{`header :index 4 "x-a" "one"`, false, ""},
		{`header :index 2 :count "eq" "x-a" "1"`, true, ""},
		{`header :index 2 :regex "x-a" "^t.o$"`, true, ""},
		{`address :index 1 "to" "b@example.com"`, true, ""},
		{`address :index 1 "to" "c@example.com"`, false, ""},
		{`address :index 1 :last :domain "to" "example.com"`, true, ""},
		{`address :index 1 :last "to" "a@example.com"`, false, ""},
		{`header :last "x-a" "one"`, false, ":last requires :index"},
		{`header :index 0 "x-a" "one"`, false, "1 or more"},
		{`header :index "1" "x-a" "one"`, false, "number"},
	} {
		s, err := compile(`require ["index", "relational", "regex"]; if ` + tc.test + ` { keep; }`)
		if tc.loadErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
				t.Errorf("%s: compile error %v, want one containing %q", tc.test, err, tc.loadErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.test, err)
			continue
		}
		d, err := execute(t, s, &Run{}, hdr)
		if err != nil {
			t.Errorf("%s: %v", tc.test, err)
			continue
		}
		if fired(d) != tc.want {
			t.Errorf("%s = %v, want %v", tc.test, fired(d), tc.want)
		}
	}
	if _, err := compile(`if header :index 1 "x-a" "one" { keep; }`); err == nil || !strings.Contains(err.Error(), "index") {
		t.Errorf(":index without require: %v", err)
	}
}
