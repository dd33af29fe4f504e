package sieveext

import (
	"strings"
	"testing"
	"time"
)

func TestDatePart(t *testing.T) {
	tm := time.Date(2009, 7, 20, 21, 44, 43, 0, time.FixedZone("", 3*3600))
	for part, want := range map[string]string{
		"year": "2009", "month": "07", "day": "20", "date": "2009-07-20",
		"julian": "55032", "hour": "21", "minute": "44", "second": "43",
		"time": "21:44:43", "iso8601": "2009-07-20T21:44:43+03:00",
		"std11": "Mon, 20 Jul 2009 21:44:43 +0300", "zone": "+0300", "weekday": "1",
	} {
		got, ok := datePart(tm, part)
		if !ok || got != want {
			t.Errorf("datePart %s = %q, %v; want %q", part, got, ok, want)
		}
	}
	if _, ok := datePart(tm, "fortnight"); ok {
		t.Error("unknown date-part accepted")
	}
}

func TestDate(t *testing.T) {
	hdr := header(
		"Date: Mon, 20 Jul 2009 21:44:43 +0300",
		"Received: from a by b; Tue, 21 Jul 2009 01:00:00 +0000",
		"Received: from c by d; Wed, 22 Jul 2009 02:00:00 +0000",
		"X-Bad: Moo, 34 Juul 3060 25:30:42 +6600",
	)
	for _, tc := range []struct {
		test    string
		want    bool
		loadErr string
	}{
		{`date :originalzone "date" "date" "2009-07-20"`, true, ""},
		{`date :zone "+0000" "date" "hour" "18"`, true, ""},
		{`date :zone "-0500" "date" "date" "2009-07-20"`, true, ""},
		{`date :zone "+0600" "date" "date" "2009-07-20"`, false, ""},
		{`date :originalzone :value "ge" "date" "date" "2009-07-01"`, true, ""},
		{`date :originalzone :matches "date" "std11" "Mon, *"`, true, ""},
		{`date :count "eq" "date" "year" "1"`, true, ""},
		{`date :count "eq" "x-missing" "year" "0"`, true, ""},
		{`date :matches "x-bad" "year" "*"`, false, ""},
		{`date :originalzone "received" "date" "2009-07-21"`, true, ""}, // first, date after ";"
		{`date :originalzone :index 2 "received" "date" "2009-07-22"`, true, ""},
		{`date :originalzone :index 1 :last "received" "date" "2009-07-22"`, true, ""},
		{`date :originalzone :regex "date" "std11" "^Mon, [0-9]+ Jul"`, true, ""},
		{`currentdate :zone "+0000" "date" "2020-02-29"`, true, ""},
		{`currentdate :zone "+0100" "iso8601" "2020-02-29T13:00:00+01:00"`, true, ""},
		{`currentdate :originalzone "date" "2020-02-29"`, false, "originalzone"},
		{`date "date" "fortnight" "1"`, false, "date-part"},
		{`date :zone "0100" "date" "year" "2009"`, false, "zone"},
		{`date :zone "+0100" :originalzone "date" "year" "2009"`, false, "exclusive"},
		{`date "date" "year"`, false, "positional"},
	} {
		s, err := compile(`require ["date", "relational", "index", "regex"]; if ` + tc.test + ` { keep; }`)
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
		d, err := execute(t, s, &Run{Now: fixedNow("2020-02-29T12:00:00Z")}, hdr)
		if err != nil {
			t.Errorf("%s: %v", tc.test, err)
			continue
		}
		if fired(d) != tc.want {
			t.Errorf("%s = %v, want %v", tc.test, fired(d), tc.want)
		}
	}
	if _, err := compile(`if date "date" "year" "2009" { keep; }`); err == nil {
		t.Error("date without require compiled")
	}
}

// TestDateMatchVariables checks the overlay leaves the real message in place
// and that :matches sets match variables through the library's matcher.
func TestDateMatchVariables(t *testing.T) {
	s := mustCompile(t, `require ["date", "variables", "fileinto"];
		if date :originalzone :matches "date" "date" "*-*-*" { fileinto "${1}/${2}"; }
		if header :is "subject" "hi" { keep; }`)
	d, err := execute(t, s, &Run{}, header("Date: Mon, 20 Jul 2009 21:44:43 +0300", "Subject: hi"))
	if err != nil {
		t.Fatal(err)
	}
	if !fired(d) {
		t.Error("the real header is not visible after a date test")
	}
	if len(d.Variables) != 0 || d.MatchVariables[1] != "2009" || d.MatchVariables[2] != "07" {
		t.Errorf("match variables %q", d.MatchVariables)
	}
}
