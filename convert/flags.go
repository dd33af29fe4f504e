package convert

import (
	"bytes"
	"sort"
	"strings"
)

// state is a message's state as both formats keep it: the Maildir flags
// and whether a reader has seen the message (cur/ rather than new/).
//
// The mapping, that of mutt, UW c-client, Dovecot and mb2md:
//
//	mbox                          Maildir
//	Status: R (read)              S (seen)
//	Status: O (old, seen by a reader), or any flag   in cur/ rather than new/
//	X-Status: A (answered)        R (replied)
//	X-Status: F (flagged)         F
//	X-Status: D (deleted)         T (trashed)
//	X-Status: T (draft)           D
//	X-Keywords: $Forwarded        P (passed)
//
// Other keywords have no Maildir letter of their own (Dovecot numbers
// them in a dovecot-keywords file per Maildir) and are not carried.
type state struct {
	flags string // Maildir letters, sorted, each once
	cur   bool
}

// mboxState reads the values of a message's Status, X-Status and
// X-Keywords fields.
func mboxState(status, xstatus, keywords []byte) state {
	var set [128]bool
	seen := false
	for _, c := range status {
		switch c {
		case 'R':
			set['S'], seen = true, true
		case 'O':
			seen = true
		}
	}
	for _, c := range xstatus {
		switch c {
		case 'A':
			set['R'] = true
		case 'F':
			set['F'] = true
		case 'D':
			set['T'] = true
		case 'T':
			set['D'] = true
		}
	}
	for _, k := range bytes.FieldsFunc(keywords, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if bytes.EqualFold(k, []byte("$Forwarded")) {
			set['P'] = true
		}
	}
	var b strings.Builder
	for c := range set {
		if set[c] {
			b.WriteByte(byte(c))
		}
	}
	s := state{flags: b.String()}
	// A Maildir name in new/ carries no flags.
	s.cur = seen || s.flags != ""
	return s
}

// mboxLines returns the Status, X-Status and X-Keywords lines that say s in
// an mbox, in that order, as mutt and Dovecot write them. A message not yet
// seen (new/) gets none.
func (s state) mboxLines() []byte {
	if !s.cur {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("Status: ")
	if strings.IndexByte(s.flags, 'S') >= 0 {
		b.WriteByte('R')
	}
	b.WriteString("O\n")
	var x []byte
	for _, m := range [...]struct{ maildir, mbox byte }{{'R', 'A'}, {'F', 'F'}, {'T', 'D'}, {'D', 'T'}} {
		if strings.IndexByte(s.flags, m.maildir) >= 0 {
			x = append(x, m.mbox)
		}
	}
	if len(x) > 0 {
		b.WriteString("X-Status: ")
		b.Write(x)
		b.WriteByte('\n')
	}
	if strings.IndexByte(s.flags, 'P') >= 0 {
		b.WriteString("X-Keywords: $Forwarded\n")
	}
	return b.Bytes()
}

// maildirState reads the state of a Maildir message from its directory and
// the flags of its name. Letters other than the six of the Maildir spec
// (Dovecot's keyword letters a-z) are not carried.
func maildirState(cur bool, flags string) state {
	var fl []byte
	for _, c := range []byte(flags) {
		if strings.IndexByte("DFPRST", c) >= 0 && bytes.IndexByte(fl, c) < 0 {
			fl = append(fl, c)
		}
	}
	sort.Slice(fl, func(i, j int) bool { return fl[i] < fl[j] })
	return state{flags: string(fl), cur: cur}
}
