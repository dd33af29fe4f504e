package sieve

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Dump writes the canonical text of r, one action per line, in order:
//
//	keep [flags=F...]
//	fileinto "MAILBOX" [flags=F...] [copy] [create]
//	discard
//	redirect "ADDRESS" [copy]
//	reject "REASON"
//	ereject "REASON"
//	vacation [handle="H"] [seconds=N] [from="F"] [subject="S"] [mime]
//	implicit keep [flags=F...]
//
// Flags are sorted and separated by spaces. Strings are quoted, with \ and
// " escaped by a backslash, and line ends written as \r and \n so that an
// action stays on its line. "implicit keep" is the last line when
// r.ImplicitKeep. "letterbox sieve test" prints this, and the differential
// test against Pigeonhole compares it.
func Dump(w io.Writer, r Result) error {
	var b strings.Builder
	for _, a := range r.Actions {
		switch a := a.(type) {
		case Keep:
			b.WriteString("keep" + flagsText(a.Flags))
		case FileInto:
			b.WriteString("fileinto " + quote(a.Mailbox) + flagsText(a.Flags))
			if a.Copy {
				b.WriteString(" copy")
			}
			if a.Create {
				b.WriteString(" create")
			}
		case Discard:
			b.WriteString("discard")
		case Redirect:
			b.WriteString("redirect " + quote(a.Address))
			if a.Copy {
				b.WriteString(" copy")
			}
		case Reject:
			if a.Extended {
				b.WriteString("ereject " + quote(a.Reason))
			} else {
				b.WriteString("reject " + quote(a.Reason))
			}
		case Vacation:
			b.WriteString("vacation")
			if a.Handle != "" {
				b.WriteString(" handle=" + quote(a.Handle))
			}
			if a.Seconds != 0 {
				fmt.Fprintf(&b, " seconds=%d", a.Seconds)
			}
			if a.From != "" {
				b.WriteString(" from=" + quote(a.From))
			}
			if a.Subject != "" {
				b.WriteString(" subject=" + quote(a.Subject))
			}
			if a.Mime {
				b.WriteString(" mime")
			}
		default:
			fmt.Fprintf(&b, "unknown action %T", a)
		}
		b.WriteByte('\n')
	}
	if r.ImplicitKeep {
		b.WriteString("implicit keep" + flagsText(r.KeepFlags) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func flagsText(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	s := slices.Clone(flags)
	slices.Sort(s)
	return " flags=" + strings.Join(s, " ")
}

var quoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`, "\n", `\n`)

func quote(s string) string { return `"` + quoter.Replace(s) + `"` }
