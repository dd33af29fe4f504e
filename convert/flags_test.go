package convert

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestMboxState(t *testing.T) {
	tests := []struct {
		status, xstatus, keywords string
		want                      state
	}{
		{"", "", "", state{"", false}},
		{"O", "", "", state{"", true}},
		{"RO", "", "", state{"S", true}},
		{"R", "", "", state{"S", true}},
		{"RO", "AFDT", "", state{"DFRST", true}},
		{"", "F", "", state{"F", true}}, // a flag puts it in cur/: new/ names carry none
		{"O", "", "$Forwarded Junk", state{"P", true}},
		{"O", "", "junk, $forwarded", state{"P", true}},
		{"O", "", "NonJunk", state{"", true}},
		{" U", "", "", state{"", false}},
	}
	for _, tc := range tests {
		if got := mboxState([]byte(tc.status), []byte(tc.xstatus), []byte(tc.keywords)); got != tc.want {
			t.Errorf("Status %q X-Status %q X-Keywords %q: %+v, want %+v", tc.status, tc.xstatus, tc.keywords, got, tc.want)
		}
	}
}

// Every state a Maildir can hold survives the trip to mbox lines and back.
func TestStateRoundTrip(t *testing.T) {
	letters := "DFPRST"
	for mask := 0; mask < 1<<len(letters); mask++ {
		var fl []byte
		for i := range letters {
			if mask&(1<<i) != 0 {
				fl = append(fl, letters[i])
			}
		}
		for _, cur := range []bool{false, true} {
			if !cur && len(fl) > 0 {
				continue // new/ holds no flags
			}
			s := maildirState(cur, string(fl)+"ab") // Dovecot keyword letters are not carried
			msg := "Subject: x\n" + string(s.mboxLines()) + "\nbody\n"
			h, err := rewrite{}.copy(io.Discard, bufio.NewReader(strings.NewReader(msg)))
			if err != nil {
				t.Fatal(err)
			}
			if got := mboxState(h.status, h.xstatus, h.keywords); got != s {
				t.Errorf("%+v -> %q -> %+v", s, s.mboxLines(), got)
			}
		}
	}
}
