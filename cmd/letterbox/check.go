package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/mailcheck"
)

// checkFlags are the flags of "letterbox check".
type checkFlags struct {
	*cli.Flags
	cfgPath string
	asJSON  bool
}

func newCheckFlags() *checkFlags {
	f := &checkFlags{Flags: cli.NewFlags("check", "letterbox check [-c FILE] [--json] MAILBOX",
		"Read an mbox or a Maildir and report its format and mbox variant, the message count, and each defect: "+
			"unescaped From_ lines a reader would split on, Content-Length mismatches, a truncated last message, "+
			"data that is no message, CRLF line ends, stale files in tmp/, ,S= sizes that lie, and the dot-lock "+
			"with whether it is stale. It writes nothing and takes no lock. "+
			"Exit status: 0 sound, 1 problems found, 2 the mailbox could not be read, 64 bad usage.")}
	f.ConfigVar(&f.cfgPath, "for the lock's stale ages")
	f.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	return f
}

// runCheck is "letterbox check": reads an mbox or a Maildir and reports
// what is wrong with it (docs/design.md §2.4). Exit status: 0 sound, 1 problems
// found, 2 the mailbox could not be read, 64 bad usage.
func runCheck(e *cli.Env, args []string) error {
	fs := newCheckFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad, cfgPath, asJSON := fs.Bad, &fs.cfgPath, &fs.asJSON
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return bad("want one MAILBOX")
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	r, err := mailcheck.Check(fs.Arg(0), mailcheck.Options{
		Sys:  sys.Real{},
		Lock: cfg.LockPolicy().Options(sys.Real{}, nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "letterbox check: %v\n", err)
		return cli.ExitStatus(2)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printReport(os.Stdout, r)
	}
	if !r.Sound() {
		return cli.ExitStatus(1)
	}
	return nil
}

// printReport writes r for a person: a summary line, then one line a
// finding.
func printReport(w io.Writer, r *mailcheck.Report) {
	verdict := "sound"
	if !r.Sound() {
		verdict = fmt.Sprintf("%d problem(s)", len(r.Problems))
	}
	kind := r.Format
	if r.Variant != "" {
		kind += " (" + r.Variant + ")"
	}
	in := ""
	if len(r.Folders) > 1 {
		in = fmt.Sprintf(" in %d folders", len(r.Folders))
	}
	fmt.Fprintf(w, "%s: %s, %d messages%s: %s\n", r.Mailbox, kind, r.Messages, in, verdict)
	if len(r.Folders) > 1 {
		for _, f := range r.Folders {
			fmt.Fprintf(w, "folder %s: %d messages\n", f.Name, f.Messages)
		}
	}
	line := func(tag string, f mailcheck.Finding) {
		where := ""
		switch {
		case f.Path != "":
			where = f.Path + ": "
		case f.Offset >= 0 && f.Message > 0:
			where = fmt.Sprintf("message %d at offset %d: ", f.Message, f.Offset)
		case f.Offset >= 0:
			where = fmt.Sprintf("offset %d: ", f.Offset)
		}
		fmt.Fprintf(w, "%s %s: %s%s\n", tag, f.Kind, where, f.Detail)
		if f.More > 0 {
			fmt.Fprintf(w, "%s %s: %d more like it\n", tag, f.Kind, f.More)
		}
	}
	for _, f := range r.Problems {
		line("problem", f)
	}
	for _, f := range r.Notes {
		line("note", f)
	}
}
