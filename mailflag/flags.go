package mailflag

import (
	"bytes"
	"sort"
	"strings"
)

// State is a message's state as both formats keep it: the Maildir flags
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
type State struct {
	Flags string // Maildir letters, sorted, each once
	Cur   bool   // in cur/ rather than new/
}

// FromMbox reads the values of a message's Status, X-Status and
// X-Keywords fields.
func FromMbox(status, xstatus, keywords []byte) State {
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
	s := State{Flags: letters(&set)}
	// A Maildir name in new/ carries no flags.
	s.Cur = seen || s.Flags != ""
	return s
}

// MboxLines returns the Status, X-Status and X-Keywords lines that say s in
// an mbox, in that order, as mutt and Dovecot write them. A message not yet
// seen (new/) gets none.
func (s State) MboxLines() []byte {
	if !s.Cur {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("Status: ")
	if strings.IndexByte(s.Flags, 'S') >= 0 {
		b.WriteByte('R')
	}
	b.WriteString("O\n")
	var x []byte
	for _, m := range [...]struct{ maildir, mbox byte }{{'R', 'A'}, {'F', 'F'}, {'T', 'D'}, {'D', 'T'}} {
		if strings.IndexByte(s.Flags, m.maildir) >= 0 {
			x = append(x, m.mbox)
		}
	}
	if len(x) > 0 {
		b.WriteString("X-Status: ")
		b.Write(x)
		b.WriteByte('\n')
	}
	if strings.IndexByte(s.Flags, 'P') >= 0 {
		b.WriteString("X-Keywords: $Forwarded\n")
	}
	return b.Bytes()
}

// FromMaildir reads the state of a Maildir message from its directory and
// the flags of its name. Letters other than the six of the Maildir spec
// (Dovecot's keyword letters a-z) are not carried.
func FromMaildir(cur bool, flags string) State {
	var fl []byte
	for _, c := range []byte(flags) {
		if strings.IndexByte("DFPRST", c) >= 0 && bytes.IndexByte(fl, c) < 0 {
			fl = append(fl, c)
		}
	}
	sort.Slice(fl, func(i, j int) bool { return fl[i] < fl[j] })
	return State{Flags: string(fl), Cur: cur}
}

// imapLetters maps the IMAP system flags (RFC 3501 §2.3.2) and the
// $Forwarded keyword to their Maildir letters; the letters are those of
// the Maildir spec, the pairs those of Dovecot.
var imapLetters = map[string]byte{
	`\seen`:      'S',
	`\answered`:  'R',
	`\flagged`:   'F',
	`\deleted`:   'T',
	`\draft`:     'D',
	`$forwarded`: 'P',
}

// FromIMAP is the state of a message stored with the IMAP flags flags
// (Sieve's imap4flags, RFC 5232): the system flags and $Forwarded become
// their letters, matched without regard to case (RFC 3501 §2.3.2); other
// keywords are not carried, as FromMbox does not carry them. A message
// stored with any flag goes to cur/ — a name in new/ carries none — and
// one with none to new/, as any delivered message.
func FromIMAP(flags []string) State {
	var set [128]bool
	for _, f := range flags {
		if c, ok := imapLetters[strings.ToLower(f)]; ok {
			set[c] = true
		}
	}
	fl := letters(&set)
	return State{Flags: fl, Cur: fl != ""}
}

// letters is the letters set holds, sorted, each once.
func letters(set *[128]bool) string {
	var b strings.Builder
	for c, on := range set {
		if on {
			b.WriteByte(byte(c))
		}
	}
	return b.String()
}
