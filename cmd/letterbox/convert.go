package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/convert"
	"letterbox/internal/cli"
	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/mbox"
)

// convertFlags are the flags of "letterbox convert".
type convertFlags struct {
	*cli.Flags
	cfgPath, to, quoting string
	verify               bool
}

func newConvertFlags() *convertFlags {
	f := &convertFlags{Flags: cli.NewFlags("convert",
		"letterbox convert [-c FILE] [--to maildir|mbox] [--quoting mboxrd|mboxo|mboxcl2] [--verify=false] SOURCE DEST",
		"Convert an mbox to a Maildir and back, or a Maildir++ tree to a directory of mbox files and back, "+
			"carrying flags, dates and the envelope sender. DEST ending in / or naming an existing Maildir is a "+
			"Maildir; otherwise DEST has the other format of SOURCE. Each mbox is locked as deliver locks it; the "+
			"source is never written. Killed and run again, it goes on where it stopped and stores every message "+
			"exactly once. Exit status: 0 converted (and verified), 1 failed (what was written stays; a re-run goes "+
			"on), 64 bad usage, 75 a lock was busy or the run was interrupted.")}
	f.ConfigVar(&f.cfgPath, "")
	f.StringVar(&f.to, "to", "", "write DEST as `maildir|mbox` (default: by DEST and SOURCE)")
	f.StringVar(&f.quoting, "quoting", "", "read an mbox SOURCE as this `VARIANT`: mboxrd, mboxo or mboxcl2 (default: detected)")
	f.BoolVar(&f.verify, "verify", true, "read both sides again at the end and compare every message; --verify=false skips it")
	return f
}

// runConvert is "letterbox convert": a mailbox migration (docs/design.md §2.3).
// Exit status: 0 converted (and verified), 1 failed (what was written
// stays, and a re-run goes on from there), 64 bad usage, 75 an mbox's lock
// could not be had or the run was interrupted.
func runConvert(e *cli.Env, args []string) error {
	fs := newConvertFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad, cfgPath, to, quoting, verify := fs.Bad, &fs.cfgPath, &fs.to, &fs.quoting, &fs.verify
	if fs.NArg() != 2 || fs.Arg(0) == "" || fs.Arg(1) == "" {
		return bad("want SOURCE and DEST")
	}
	var o convert.Options
	switch *to {
	case "":
	case "maildir":
		o.To = convert.Maildir
	case "mbox":
		o.To = convert.Mbox
	default:
		return bad("--to %q: want maildir or mbox", *to)
	}
	if *quoting != "" {
		q, ok := mbox.ParseQuoting(*quoting)
		if !ok {
			return bad("--quoting %q: want mboxrd, mboxo or mboxcl2", *quoting)
		}
		o.Quoting = &q
	}
	cfg, err := config.Load(config.Find(*cfgPath))
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	o.Sys, o.Verify, o.Fsync, o.StrictOwnership = sys.Real{}, *verify, cfg.Fsync, cfg.StrictOwnership
	pol := cfg.LockPolicy()
	o.Locks, o.Lock = pol.Methods, pol.Options(o.Sys, e.Logger(cfg.Log))

	// SIGINT, SIGTERM and SIGHUP end the run between messages; an mbox
	// append under way is rolled back.
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer stop()
	var bar *progressBar
	if isTerminal(os.Stderr) {
		bar = &progressBar{w: os.Stderr, start: time.Now()}
		o.Progress = bar.update
	}
	start := time.Now()
	res, err := convert.Run(ctx, fs.Arg(0), fs.Arg(1), o)
	bar.clear()
	for _, f := range res.Folders {
		for _, fe := range f.Skipped {
			// Not a message, so not converted: the operator must know.
			fmt.Fprintf(os.Stderr, "letterbox convert: %s: %v; not converted\n", f.Source, &fe)
		}
	}
	var pe *convert.PlanError
	var le *convert.LockError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		return bad("%v", pe)
	case errors.As(err, &le):
		return status.Of(le.Err, le.Mailbox, cfg.QuotaTempfail)
	case ctx.Err() != nil:
		return status.Temp("4.3.0", fmt.Errorf("convert interrupted: %w; run it again to go on", err))
	default:
		fmt.Fprintf(os.Stderr, "letterbox convert: %v\n", err)
		return cli.ExitStatus(1)
	}
	if bar != nil {
		fmt.Fprintln(os.Stderr, summary(res, time.Since(start), *verify))
	}
	return nil
}

// summary is the one line a terminal gets at the end.
func summary(res convert.Result, took time.Duration, verified bool) string {
	conv, present := res.Messages()
	var bytes int64
	variants := map[string]bool{}
	for _, f := range res.Folders {
		bytes += f.Bytes
		variants[f.Variant] = true
	}
	var vs []string
	for v := range variants {
		vs = append(vs, v)
	}
	s := fmt.Sprintf("converted %d messages (%s) in %d folder(s) in %s, %s/s", conv, sizeString(bytes), len(res.Folders), took.Round(time.Millisecond), sizeString(int64(float64(bytes)/max(took.Seconds(), 1e-3))))
	if present > 0 {
		s += fmt.Sprintf("; %d were there already", present)
	}
	s += "; mbox read/written as " + strings.Join(vs, ", ")
	if verified {
		s += "; verified"
	}
	return s
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progressBar draws one line of progress, redrawn at most 5 times a second.
type progressBar struct {
	w     io.Writer
	start time.Time
	last  time.Time
	drawn bool
}

func (b *progressBar) update(p convert.Progress) {
	now := time.Now()
	if now.Sub(b.last) < 200*time.Millisecond {
		return
	}
	b.last = now
	el := now.Sub(b.start).Seconds()
	rate := float64(p.Bytes) / max(el, 1e-3)
	eta := "?"
	if rate > 0 && p.Total >= p.Bytes {
		eta = time.Duration(float64(p.Total-p.Bytes) / rate * float64(time.Second)).Round(time.Second).String()
	}
	folder := ""
	if p.Folder != "" {
		folder = p.Folder + ": "
	}
	fmt.Fprintf(b.w, "\r\x1b[K%s%d messages, %s of %s, %s/s, ETA %s", folder, p.Messages, sizeString(p.Bytes), sizeString(p.Total), sizeString(int64(rate)), eta)
	b.drawn = true
}

// clear removes the progress line; a nil bar does nothing.
func (b *progressBar) clear() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}
