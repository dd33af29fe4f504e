package status

import "unicode/utf8"

// OneLine makes s the text of one line that another program reads: the
// line on standard error that Postfix logs and bounces with, an LMTP reply,
// a syslog record. Line breaks and tabs become spaces, so the text can
// neither be read as two lines (go-smtp would split a reply at LF into a
// multi-line one) nor forge a record; other control bytes (C0 and DEL)
// become '?', as Postfix's printable() writes them, so no terminal escape
// reaches whoever reads the log. With limit > 0 the text is cut to at most
// limit bytes, at a character boundary, ending in "..." to show the cut.
//
// Every such line in letterbox goes through here, so a message refused for
// a hostile byte looks the same in the exit line, the reply and the log.
func OneLine(s string, limit int) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			b[i] = ' '
		case c < 0x20 || c == 0x7f:
			b[i] = '?'
		}
	}
	if limit > 0 && len(b) > limit {
		mark := "..."
		if limit <= len(mark) {
			mark = ""
		}
		cut := limit - len(mark)
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = append(b[:cut], mark...)
	}
	return string(b)
}
