package mailflag

import "testing"

func TestMboxState(t *testing.T) {
	tests := []struct {
		status, xstatus, keywords string
		want                      State
	}{
		{"", "", "", State{"", false}},
		{"O", "", "", State{"", true}},
		{"RO", "", "", State{"S", true}},
		{"R", "", "", State{"S", true}},
		{"RO", "AFDT", "", State{"DFRST", true}},
		{"", "F", "", State{"F", true}}, // a flag puts it in cur/: new/ names carry none
		{"O", "", "$Forwarded Junk", State{"P", true}},
		{"O", "", "junk, $forwarded", State{"P", true}},
		{"O", "", "NonJunk", State{"", true}},
		{" U", "", "", State{"", false}},
	}
	for _, tc := range tests {
		if got := FromMbox([]byte(tc.status), []byte(tc.xstatus), []byte(tc.keywords)); got != tc.want {
			t.Errorf("Status %q X-Status %q X-Keywords %q: %+v, want %+v", tc.status, tc.xstatus, tc.keywords, got, tc.want)
		}
	}
}

func TestFromIMAP(t *testing.T) {
	tests := []struct {
		flags []string
		want  State
	}{
		{nil, State{"", false}},
		{[]string{`\Seen`}, State{"S", true}},
		{[]string{`\seen`, `\FLAGGED`, `\Answered`}, State{"FRS", true}},
		{[]string{`\Deleted`, `\Draft`, `$Forwarded`}, State{"DPT", true}},
		{[]string{`Work`, `$Junk`}, State{"", false}}, // keywords without a letter are not carried
		{[]string{`\Seen`, `\Seen`}, State{"S", true}},
	}
	for _, tc := range tests {
		if got := FromIMAP(tc.flags); got != tc.want {
			t.Errorf("FromIMAP(%q) = %+v, want %+v", tc.flags, got, tc.want)
		}
	}
}
