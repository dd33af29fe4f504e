package convert

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"letterbox/mailflag"
)

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
			s := mailflag.FromMaildir(cur, string(fl)+"ab") // Dovecot keyword letters are not carried
			msg := "Subject: x\n" + string(s.MboxLines()) + "\nbody\n"
			h, err := rewrite{}.copy(io.Discard, bufio.NewReader(strings.NewReader(msg)))
			if err != nil {
				t.Fatal(err)
			}
			if got := mailflag.FromMbox(h.status, h.xstatus, h.keywords); got != s {
				t.Errorf("%+v -> %q -> %+v", s, s.MboxLines(), got)
			}
		}
	}
}
