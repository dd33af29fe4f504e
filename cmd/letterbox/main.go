package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"letterbox/internal/status"
	"letterbox/internal/syslog"
)

// version is set by the linker (-X main.version=...) for releases.
var version = "0.1.0-dev"

// command is one subcommand.
type command struct {
	name  string
	args  string // synopsis after the name
	short string
	run   func(e *env, args []string) error
}

// commands is the command table; help and the dispatcher read it.
var commands []command

func init() {
	commands = []command{
		{"deliver", "[-f SENDER] [-a ADDR] [-r ADDR] [-d USER] [-c FILE] [-p FILE] [MAILBOX]", "deliver one message from standard input to an mbox", runDeliver},
		{"lock", "[-c FILE] [--timeout DUR] [--locks LIST] MAILBOX -- COMMAND [ARG...]", "run COMMAND while holding the mailbox lock", runLock},
		{"lmtp", "[-c FILE] [--listen ADDR]...", "serve LMTP: deliver each recipient's mail as deliver does", runLMTP},
		{"config", "check [-c FILE]", "check the configuration file and print the effective configuration", runConfig},
		{"convert", "[-c FILE] [--to maildir|mbox] [--quoting VARIANT] [--verify=false] SOURCE DEST", "convert a mailbox between mbox and Maildir (also whole folder trees)", runConvert},
		{"check", "[-c FILE] [--json] MAILBOX", "check an mbox or a Maildir for defects", runCheck},
		{"version", "", "print the version", runVersion},
		{"help", "[COMMAND]", "show usage", runHelp},
	}
}

func main() {
	// letterbox runs once per message and does one thing at a time. With one
	// P the runtime does not wake idle threads for every goroutine and timer,
	// which costs about half a millisecond per run (bench/lock.sh).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(run(os.Args[1:]))
}

// run dispatches args and turns the result into the exit code, writing the
// one status line on failure.
func run(args []string) (code int) {
	e := &env{}
	defer func() {
		// A bug must never bounce mail: report it as a temporary failure
		// (docs/design.md §2.1, "a bug (panic)").
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "4.3.0 internal error: %v\n%s", r, debug.Stack())
			code = status.TempFail
		}
		e.flush()
	}()
	if len(args) == 0 {
		usage(os.Stderr)
		return status.Usage
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "5.3.0 unknown command %q; see \"letterbox help\"\n", args[0])
	return status.Usage
}

// env is what a command gets besides its arguments.
type env struct {
	// stderrLog holds log lines bound for standard error until the status
	// line is written: an MTA reads the first line of a failed delivery's
	// output as its RFC 3463 status, so no log line may come before it.
	stderrLog bytes.Buffer
	mu        sync.Mutex
}

// maxStderrLog bounds what is held back.
const maxStderrLog = 64 << 10

func (e *env) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stderrLog.Len()+len(p) <= maxStderrLog {
		e.stderrLog.Write(p)
	}
	return len(p), nil
}

// flush writes the held-back log lines to standard error.
func (e *env) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	os.Stderr.Write(e.stderrLog.Bytes())
	e.stderrLog.Reset()
}

// exitCode writes err's status line and returns its code. A *status.Error
// carries both; a bare error is temporary.
func exitCode(err error) int {
	if err == nil {
		return status.OK
	}
	var x exitStatus
	if errors.As(err, &x) {
		return int(x)
	}
	var se *status.Error
	if !errors.As(err, &se) {
		se = status.Temp("4.3.0", err)
	}
	fmt.Fprintln(os.Stderr, se.Line())
	return se.Code
}

// exitStatus is an exit code passed through unchanged, such as the status of
// the command "letterbox lock" ran.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is a bad command line: 5.3.0 and EX_USAGE.
func usageError(format string, args ...any) error {
	return status.Perm("5.3.0", status.Usage, fmt.Errorf(format, args...))
}

// newFlags returns an empty flag set for command name that prints nothing,
// and bad, which makes the command's usage errors: "NAME: WHAT (usage:
// SYNOPSIS)".
func newFlags(name, synopsis string) (*flag.FlagSet, func(format string, args ...any) error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bad := func(format string, args ...any) error {
		return usageError("%s: %s (usage: %s)", name, fmt.Sprintf(format, args...), synopsis)
	}
	return fs, bad
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: letterbox COMMAND [ARG...]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  letterbox %s %s\n      %s\n", c.name, c.args, c.short)
	}
}

func runHelp(e *env, args []string) error {
	if len(args) == 1 {
		for _, c := range commands {
			if c.name == args[0] {
				fmt.Printf("usage: letterbox %s %s\n\n%s\n", c.name, c.args, c.short)
				return nil
			}
		}
		return usageError("unknown command %q", args[0])
	}
	if len(args) > 1 {
		return usageError("help takes at most one command")
	}
	usage(os.Stdout)
	return nil
}

func runVersion(e *env, args []string) error {
	if len(args) != 0 {
		return usageError("version takes no arguments")
	}
	fmt.Println("letterbox", version)
	return nil
}

// logger returns the logger the config's "log" key asks for: "syslog" (the
// mail facility; when no syslog daemon listens, warnings go to standard
// error instead so that they are not silently lost), "stderr" (every line,
// one per delivery included) or "none". Lines for standard error are
// held back until the status line is out. The destination is opened on the
// first message: most runs log nothing but their result, and every process
// start counts.
func (e *env) logger(kind string) *slog.Logger {
	if kind == "none" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(&lazyHandler{open: func() slog.Handler {
		opts := &slog.HandlerOptions{
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.Attr{} // syslog and the MTA's log stamp the time
				}
				return a
			},
		}
		if kind == "syslog" {
			if w, err := syslog.Dial("letterbox", syslog.Info); err == nil {
				return slog.NewTextHandler(w, opts)
			}
			// No daemon: warnings and errors still reach the MTA's
			// log through standard error; the routine line of every
			// delivery would only clutter it.
			opts.Level = slog.LevelWarn
		}
		return slog.NewTextHandler(e, opts)
	}})
}

// lazyHandler opens its destination on first use.
type lazyHandler struct {
	once sync.Once
	open func() slog.Handler
	h    slog.Handler
}

func (l *lazyHandler) handler() slog.Handler {
	l.once.Do(func() { l.h = l.open() })
	return l.h
}

func (l *lazyHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= slog.LevelInfo && l.handler().Enabled(ctx, lv)
}
func (l *lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	return l.handler().Handle(ctx, r)
}
func (l *lazyHandler) WithAttrs(as []slog.Attr) slog.Handler { return l.handler().WithAttrs(as) }
func (l *lazyHandler) WithGroup(g string) slog.Handler       { return l.handler().WithGroup(g) }
