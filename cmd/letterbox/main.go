package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"letterbox/internal/cli"
	"letterbox/internal/status"
)

// version is set by the linker (-X main.version=...) for releases.
var version = "0.1.0-dev"

// command is one subcommand.
type command struct {
	name  string
	args  string // synopsis after the name
	short string
	run   func(e *cli.Env, args []string) error
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
		{"sieve", "check FILE... | test [-f SENDER] [-r RCPT] [-a ORIG_RCPT] [-m MAILBOX]... [-c FILE] SCRIPT < MESSAGE", "compile Sieve scripts, or show what a script does with a message (a dry run)", runSieve},
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
func run(args []string) int {
	return cli.Run(func(e *cli.Env) int { return dispatch(e, args) })
}

// dispatch runs the command args name.
func dispatch(e *cli.Env, args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return status.Usage
	}
	for _, c := range commands {
		if c.name == args[0] {
			return cli.ExitCode(c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "5.3.0 unknown command %q; see \"letterbox help\"\n", args[0])
	return status.Usage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: letterbox COMMAND [ARG...]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  letterbox %s %s\n      %s\n", c.name, c.args, c.short)
	}
}

func runHelp(e *cli.Env, args []string) error {
	if len(args) == 1 {
		for _, c := range commands {
			if c.name == args[0] {
				fmt.Printf("usage: letterbox %s %s\n\n%s\n", c.name, c.args, c.short)
				return nil
			}
		}
		return cli.UsageError("unknown command %q", args[0])
	}
	if len(args) > 1 {
		return cli.UsageError("help takes at most one command")
	}
	usage(os.Stdout)
	return nil
}

func runVersion(e *cli.Env, args []string) error {
	if len(args) != 0 {
		return cli.UsageError("version takes no arguments")
	}
	fmt.Println("letterbox", version)
	return nil
}
