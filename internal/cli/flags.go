package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Flags is a command's flag set together with what its help says. The
// usage errors and the --help text are made from the very flags that parse
// the command line, so the help cannot drift from what is accepted.
type Flags struct {
	*flag.FlagSet
	// Synopsis is the usage line: "letterbox deliver [-f SENDER] ... [MAILBOX]".
	Synopsis string
	// About says what the command does, for --help and the man page: plain
	// sentences, wrapped when printed.
	About string
}

// NewFlags returns an empty flag set for command name ("deliver", "sieve
// test") that prints nothing by itself: Parse prints the help, and usage
// errors are status lines (Bad).
//
// The usage of a flag that takes a value names the value in backquotes, as
// flag.PrintDefaults expects ("read the message from `FILE`"); the help
// prints "-p FILE".
func NewFlags(name, synopsis, about string) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &Flags{FlagSet: fs, Synopsis: synopsis, About: about}
}

// ConfigVar defines -c FILE, the configuration file, into p: the same flag,
// and the same words for config.Find's rule, in every command. what, if
// not empty, says what the command reads from it.
func (f *Flags) ConfigVar(p *string, what string) {
	if what != "" {
		what = ", " + what
	}
	f.StringVar(p, "c", "", "configuration `FILE`"+what+" (default: $LETTERBOX_CONFIG, else /etc/letterbox.toml if it exists)")
}

// Parse parses args. -h or --help prints the help to standard output and
// returns ExitStatus(0): the command ends there, successfully and without
// a status line, as an operator asking for help expects. Any other error
// is a usage error (Bad).
func (f *Flags) Parse(args []string) error {
	err := f.FlagSet.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		f.Help(os.Stdout)
		return ExitStatus(0)
	}
	if err != nil {
		return f.Bad("%v", err)
	}
	return nil
}

// Bad is a usage error of the command: "5.3.0 NAME: WHAT (usage:
// SYNOPSIS)", exit 64.
func (f *Flags) Bad(format string, args ...any) error {
	return UsageError("%s: %s (usage: %s)", f.Name(), fmt.Sprintf(format, args...), f.Synopsis)
}

// helpWidth is where the help text is wrapped.
const helpWidth = 79

// Help writes the usage line, what the command does, and every flag with
// its description and default.
func (f *Flags) Help(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", f.Synopsis)
	if f.About != "" {
		fmt.Fprintln(w)
		fmt.Fprint(w, Wrap(f.About, "", helpWidth))
	}
	fl := f.List()
	if len(fl) == 0 {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	col := 0
	for _, d := range fl {
		if n := len(d.Term); n <= 22 {
			col = max(col, n)
		}
	}
	indent := strings.Repeat(" ", 2+col+2)
	for _, d := range fl {
		text := Wrap(d.Text, indent, helpWidth)
		if len(d.Term) > col {
			fmt.Fprintf(w, "  %s\n%s", d.Term, text)
			continue
		}
		fmt.Fprintf(w, "  %-*s  %s", col, d.Term, strings.TrimPrefix(text, indent))
	}
}

// FlagDoc is one flag as the help and the man page describe it.
type FlagDoc struct {
	Name string // "p", "format"
	Term string // "-p FILE", "--format mbox|maildir", "-e"
	Arg  string // "FILE"; "" for a boolean flag
	Text string // the description, with the default appended
}

// List returns the flags in lexical order, as Help prints them. A name of
// one letter is written with one dash, a longer one with two (both are
// accepted).
func (f *Flags) List() []FlagDoc {
	var l []FlagDoc
	f.VisitAll(func(fl *flag.Flag) {
		arg, text := flag.UnquoteUsage(fl)
		if isBool(fl) {
			arg = ""
		}
		term := "-" + fl.Name
		if len(fl.Name) > 1 {
			term = "-" + term
		}
		if arg != "" {
			term += " " + arg
		}
		switch fl.DefValue {
		case "", "false", "0", "[]":
		default:
			text += fmt.Sprintf(" (default: %s)", fl.DefValue)
		}
		l = append(l, FlagDoc{Name: fl.Name, Term: term, Arg: arg, Text: text})
	})
	return l
}

// isBool reports whether fl is a boolean flag, one given without a value.
func isBool(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Wrap fills text into lines of at most width bytes (a longer word gets a
// line of its own), each starting with indent and ending in a newline.
func Wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
	return b.String()
}
