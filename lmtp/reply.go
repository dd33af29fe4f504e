package lmtp

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"

	"letterbox/internal/status"
)

// permanent are the DSNs the server answers with a 5xx, and the reply code
// of each. Any other 5.x.x (a usage error of ours, for instance) is not
// certainly the message's fault and is answered 451 4.3.0 instead: a
// bounce cannot be taken back (docs/design.md §2.1).
var permanent = map[string]int{
	"5.1.1": 550, // unknown user
	"5.1.3": 553, // bad recipient address (local part not a safe name)
	"5.1.7": 553, // bad sender address
	"5.2.2": 552, // size limit with quota_tempfail = false
	"5.3.4": 552, // message too big for the server
	"5.4.6": 550, // Delivered-To: loop
	"5.6.0": 554, // message has a line over max_line_length
	"5.7.1": 550, // refused by the recipient's Sieve reject (RFC 5429 §2.2)
}

// maxText bounds the text of a reply.
const maxText = 400

// Reply is the LMTP reply for the outcome of one recipient's delivery: nil
// for success (go-smtp's 250 2.0.0), else an *smtp.SMTPError carrying our
// RFC 3463 code. An *smtp.SMTPError anywhere in err's chain is used as it
// is (go-smtp's own, such as 552 5.3.4 for a message over the size
// limit); a *status.Error gives its DSN, 4.2.2 and 4.3.1 with 452
// (storage), other 4.x.x with 451, and only the permanent DSNs listed
// above a 5xx; anything else is 451 4.3.0.
func Reply(err error) *smtp.SMTPError {
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	var st *status.Error
	if !errors.As(err, &st) {
		return mk(451, "4.3.0", err.Error())
	}
	text := st.Err.Error()
	switch {
	case strings.HasPrefix(st.DSN, "4.2.2"), strings.HasPrefix(st.DSN, "4.3.1"):
		return mk(452, st.DSN, text)
	case strings.HasPrefix(st.DSN, "4."):
		return mk(451, st.DSN, text)
	}
	if code, ok := permanent[st.DSN]; ok {
		return mk(code, st.DSN, text)
	}
	return mk(451, "4.3.0", st.DSN+" "+text)
}

// mk makes a reply; dsn must be "C.S.D".
func mk(code int, dsn, text string) *smtp.SMTPError {
	var ec smtp.EnhancedCode
	parts := strings.SplitN(dsn, ".", 3)
	for i := range ec {
		if i < len(parts) {
			ec[i], _ = strconv.Atoi(parts[i])
		}
	}
	if ec[0] != code/100 {
		ec = smtp.EnhancedCode{code / 100, 0, 0}
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: status.OneLine(text, maxText)}
}
