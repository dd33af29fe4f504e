package sievetest

import (
	"slices"
	"strconv"
	"strings"
)

// The comparison form of a result: one line per action, sorted, less
// strict than sieve.Dump's text where Pigeonhole's sieve-test cannot say
// more (a vacation is "vacation": sent or not; the handle, interval and
// texts are not compared):
//
//	keep [flags=F...]              keep, or fileinto "INBOX" (RFC 5228 §4.3)
//	fileinto "M" [flags=F...] [copy] [create]
//	discard
//	redirect "A" [copy]
//	reject "R" / ereject "R"
//	vacation
//	implicit keep [flags=F...]
//	error                          a run-time error; the message is kept
//	compile error
//
// Flags are sorted; system flags spelt as RFC 3501 §2.3.2 does (\Seen),
// keywords in lower case (IMAP compares them without case).

// PigeonholeLines reduces the standard output of sieve-test and its exit
// status to the comparison form.
func PigeonholeLines(out string, status int) []string {
	switch status {
	case 0:
	case 1: // "final result: failed; resolved with successful implicit keep"
		return []string{"error", "implicit keep"}
	default: // 89 (EX_CONFIG) when the script does not compile
		return []string{"compile error"}
	}
	var (
		lines    []string
		section  string
		cur      *pgAction
		inMsg    bool
		implicit bool
	)
	flush := func() {
		if cur != nil {
			if l := cur.line(implicit); l != "" {
				lines = append(lines, l)
			}
			cur = nil
		}
	}
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case inMsg:
			inMsg = t != "END MESSAGE"
		case t == "START MESSAGE":
			inMsg = true
		case t == "Performed actions:":
			flush()
			section, implicit = "actions", false
		case t == "Implicit keep:":
			flush()
			section, implicit = "keep", true
		case section == "":
		case strings.HasPrefix(t, "* "):
			flush()
			cur = &pgAction{what: strings.TrimPrefix(t, "* ")}
		case strings.HasPrefix(t, "+ ") && cur != nil:
			cur.opts = append(cur.opts, strings.TrimPrefix(t, "+ "))
		}
	}
	flush()
	slices.Sort(lines)
	return lines
}

type pgAction struct {
	what string
	opts []string // the "+ ..." lines below it
}

func (a *pgAction) line(implicit bool) string {
	var flags []string
	var copy, create bool
	for _, o := range a.opts {
		switch {
		case o == "preserve implicit keep":
			copy = true
		case o == "create mailbox if it does not exist":
			create = true
		case strings.HasPrefix(o, "add IMAP flags: "):
			flags = append(flags, strings.Fields(strings.TrimPrefix(o, "add IMAP flags: "))...)
		}
	}
	switch {
	case strings.HasPrefix(a.what, "store message in folder: "):
		return storeLine(strings.TrimPrefix(a.what, "store message in folder: "), flags, copy, create, implicit)
	case a.what == "discard":
		return "discard"
	case strings.HasPrefix(a.what, "redirect message to: "):
		addr := strings.TrimPrefix(a.what, "redirect message to: ")
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
		return "redirect " + strconv.Quote(addr) + opt(copy, " copy")
	case strings.HasPrefix(a.what, "reject message with reason: "):
		return "reject " + strconv.Quote(strings.TrimPrefix(a.what, "reject message with reason: "))
	case strings.HasPrefix(a.what, "send vacation message"):
		return "vacation"
	case strings.HasPrefix(a.what, "track duplicate"):
		// Bookkeeping of the duplicate test (RFC 7352), not a delivery;
		// sieve.Result carries it apart from the actions.
		return ""
	}
	return "unknown " + strconv.Quote(a.what)
}

// storeLine is the comparison form of storing into mailbox.
func storeLine(mailbox string, flags []string, copy, create, implicit bool) string {
	if implicit {
		return "implicit keep" + flagsText(flags)
	}
	if strings.EqualFold(mailbox, "INBOX") {
		return "keep" + flagsText(flags)
	}
	return "fileinto " + strconv.Quote(mailbox) + flagsText(flags) + opt(copy, " copy") + opt(create, " create")
}

func opt(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

var systemFlags = map[string]string{
	`\seen`: `\Seen`, `\answered`: `\Answered`, `\flagged`: `\Flagged`,
	`\deleted`: `\Deleted`, `\draft`: `\Draft`, `\recent`: `\Recent`,
}

func flagsText(flags []string) string {
	var out []string
	for _, f := range flags {
		l := strings.ToLower(f)
		if s, ok := systemFlags[l]; ok {
			l = s
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return ""
	}
	slices.Sort(out)
	return " flags=" + strings.Join(out, " ")
}

// DumpLines reduces sieve.Dump's text to the comparison form.
func DumpLines(dump string) []string {
	var lines []string
	for _, l := range strings.Split(dump, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		verb, rest, _ := strings.Cut(l, " ")
		switch verb {
		case "keep":
			lines = append(lines, storeLine("INBOX", dumpFlags(rest), false, false, false))
		case "implicit":
			lines = append(lines, storeLine("INBOX", dumpFlags(strings.TrimPrefix(rest, "keep")), false, false, true))
		case "fileinto":
			mailbox, rest := dumpString(rest)
			words := strings.Fields(rest)
			lines = append(lines, storeLine(mailbox, dumpFlags(rest), slices.Contains(words, "copy"), slices.Contains(words, "create"), false))
		case "redirect":
			addr, rest := dumpString(rest)
			lines = append(lines, "redirect "+strconv.Quote(addr)+opt(strings.Contains(rest, "copy"), " copy"))
		case "reject", "ereject":
			reason, _ := dumpString(rest)
			lines = append(lines, verb+" "+strconv.Quote(reason))
		case "vacation":
			lines = append(lines, "vacation")
		default: // discard, error, compile error
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// dumpString takes the quoted string sieve.Dump writes (\\, \", \r, \n
// escaped) from the front of s.
func dumpString(s string) (string, string) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		return "", s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:]
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// dumpFlags returns the flags of a " flags=A B [copy] [create]" tail.
func dumpFlags(s string) []string {
	_, f, ok := strings.Cut(s, "flags=")
	if !ok {
		return nil
	}
	var flags []string
	for _, w := range strings.Fields(f) {
		if w == "copy" || w == "create" {
			break
		}
		flags = append(flags, w)
	}
	return flags
}
