package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"letterbox/internal/cli"
	"letterbox/internal/status"
)

// version is set by the linker (-X main.version=...) for releases; without
// it the version comes from the build information (versionString).
var version = ""

// command is one subcommand, or a group of them (config, sieve).
type command struct {
	name  string // "deliver"; "sieve test" for a subcommand
	short string // one line for the overview
	// flags returns the command's flag set as run parses it, with its
	// synopsis and description: --help, "help COMMAND" and the man page
	// are made from it.
	flags func() *cli.Flags
	run   func(e *cli.Env, args []string) error // nil for a group
	sub   []command                             // a group's subcommands
}

// commands is the command table; help, the dispatcher and the man page
// read it.
var commands []command

func init() {
	commands = []command{
		{name: "deliver", short: "deliver one message from standard input to an mbox or a Maildir",
			flags: func() *cli.Flags { return newDeliverFlags().Flags }, run: runDeliver},
		{name: "lmtp", short: "serve LMTP: deliver each recipient's mail as deliver does",
			flags: func() *cli.Flags { return cli.LMTPFlags().Flags }, run: runLMTP},
		{name: "lock", short: "run COMMAND while holding the mailbox lock deliveries take",
			flags: func() *cli.Flags { return newLockFlags().Flags }, run: runLock},
		{name: "convert", short: "convert a mailbox between mbox and Maildir (also whole folder trees)",
			flags: func() *cli.Flags { return newConvertFlags().Flags }, run: runConvert},
		{name: "check", short: "check an mbox or a Maildir for defects",
			flags: func() *cli.Flags { return newCheckFlags().Flags }, run: runCheck},
		{name: "config", short: "check the configuration file and print the effective configuration",
			flags: configGroupFlags, sub: []command{
				{name: "config check", short: "check the configuration file and print the effective configuration",
					flags: func() *cli.Flags { return newConfigCheckFlags().Flags }, run: runConfigCheck},
			}},
		{name: "sieve", short: "compile Sieve scripts, or show what a script does with a message",
			flags: sieveGroupFlags, sub: []command{
				{name: "sieve check", short: "compile Sieve scripts and report their errors",
					flags: newSieveCheckFlags, run: runSieveCheck},
				{name: "sieve test", short: "show what a Sieve script does with a message (a dry run)",
					flags: func() *cli.Flags { return newSieveTestFlags().Flags }, run: runSieveTest},
			}},
		{name: "version", short: "print the version",
			flags: newVersionFlags, run: runVersion},
		{name: "help", short: "describe letterbox or a command and its flags",
			flags: newHelpFlags, run: runHelp},
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
	switch args[0] {
	case "-h", "-help", "--help":
		usage(os.Stdout)
		return status.OK
	case "-version", "--version":
		args[0] = "version"
	}
	c := lookup(commands, args[0])
	if c == nil {
		fmt.Fprintf(os.Stderr, "5.3.0 unknown command %q; see \"letterbox help\"\n", args[0])
		return status.Usage
	}
	return cli.ExitCode(runCommand(e, c, args[1:]))
}

// runCommand runs c, or for a group the subcommand args name: a group
// answers --help itself and takes no other flag.
func runCommand(e *cli.Env, c *command, args []string) error {
	if c.sub == nil {
		return c.run(e, args)
	}
	f := groupFlags(c)
	var names []string
	for _, sc := range c.sub {
		names = append(names, strconv.Quote(strings.TrimPrefix(sc.name, c.name+" ")))
	}
	if len(args) == 0 {
		return f.Bad("want %s", strings.Join(names, " or "))
	}
	switch args[0] {
	case "-h", "-help", "--help":
		groupHelp(os.Stdout, c)
		return nil
	}
	sc := lookup(c.sub, c.name+" "+args[0])
	if sc == nil {
		return f.Bad("unknown subcommand %q; want %s", args[0], strings.Join(names, " or "))
	}
	return sc.run(e, args[1:])
}

// lookup returns the command of cs called name.
func lookup(cs []command, name string) *command {
	for i := range cs {
		if cs[i].name == name {
			return &cs[i]
		}
	}
	return nil
}

// usage writes the overview: every command with one line.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: letterbox COMMAND [ARG...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "letterbox is a mail delivery agent: it appends a message to an mbox under an")
	fmt.Fprintln(w, "NFS-safe lock or drops it into a Maildir, migrates and checks mailboxes, and")
	fmt.Fprintln(w, "lends its mailbox lock to scripts.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"letterbox help COMMAND" or "letterbox COMMAND --help" describes a command and`)
	fmt.Fprintln(w, `its flags; "man letterbox" all of them, the exit statuses and the configuration.`)
}

// groupFlags returns the flag set of group c, whose synopsis is its
// subcommands'.
func groupFlags(c *command) *cli.Flags {
	f := c.flags()
	var syn []string
	for _, sc := range c.sub {
		syn = append(syn, sc.flags().Synopsis)
	}
	f.Synopsis = strings.Join(syn, " | ")
	return f
}

// groupHelp writes the help of a group: the synopsis of each subcommand,
// what the group is for, and each subcommand with one line.
func groupHelp(w io.Writer, c *command) {
	for i, sc := range c.sub {
		prefix := "usage: "
		if i > 0 {
			prefix = "       "
		}
		fmt.Fprintf(w, "%s%s\n", prefix, sc.flags().Synopsis)
	}
	fmt.Fprintf(w, "\n%s\ncommands:\n", cli.Wrap(c.flags().About, "", 79))
	for _, sc := range c.sub {
		fmt.Fprintf(w, "  %-6s  %s\n", strings.TrimPrefix(sc.name, c.name+" "), sc.short)
	}
	fmt.Fprintf(w, "\n\"letterbox help %s\" describes one of them and its flags.\n", c.sub[0].name)
}

func configGroupFlags() *cli.Flags {
	return cli.NewFlags("config", "", "Commands on the configuration file.")
}

func sieveGroupFlags() *cli.Flags {
	return cli.NewFlags("sieve", "",
		"Commands on Sieve scripts, for their authors: compile them, or try one on a message.")
}

func newHelpFlags() *cli.Flags {
	return cli.NewFlags("help", "letterbox help [COMMAND [SUBCOMMAND]]",
		`Describe letterbox and its commands; with COMMAND, that command and every flag it takes, as "letterbox COMMAND --help" does.`)
}

// runHelp is "letterbox help [COMMAND [SUBCOMMAND]]".
func runHelp(e *cli.Env, args []string) error {
	f := newHelpFlags()
	if err := f.Parse(args); err != nil {
		return err
	}
	args = f.Args()
	switch len(args) {
	case 0:
		usage(os.Stdout)
		return nil
	case 1, 2:
	default:
		return cli.UsageError("help takes at most one command")
	}
	c := lookup(commands, args[0])
	if c == nil {
		return cli.UsageError("unknown command %q", args[0])
	}
	if len(args) == 2 {
		if c.sub == nil {
			return cli.UsageError("help takes at most one command")
		}
		if c = lookup(c.sub, c.name+" "+args[1]); c == nil {
			return cli.UsageError("unknown command %q", args[0]+" "+args[1])
		}
	}
	if c.sub != nil {
		groupHelp(os.Stdout, c)
	} else {
		c.flags().Help(os.Stdout)
	}
	return nil
}

func newVersionFlags() *cli.Flags {
	return cli.NewFlags("version", "letterbox version",
		"Print the version of letterbox (the module version, or the source revision it was built from, with -dirty for uncommitted changes) and of the Go toolchain that built it.")
}

// runVersion is "letterbox version" and "letterbox --version".
func runVersion(e *cli.Env, args []string) error {
	f := newVersionFlags()
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return cli.UsageError("version takes no arguments")
	}
	bi := buildInfo()
	fmt.Println("letterbox", versionString(bi), goVersion(bi))
	return nil
}

// versionString is letterbox's version: the one the linker set, else the
// module's (a tagged "go install letterbox/cmd/letterbox@v1.2.3"), else
// the VCS revision the binary was built from, marked -dirty when the work
// tree had changes, else "devel".
func versionString(bi *debug.BuildInfo) string {
	if version != "" {
		return version
	}
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// buildInfo is the binary's build information, nil if it has none.
func buildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// goVersion is the Go toolchain that built the binary.
func goVersion(bi *debug.BuildInfo) string {
	if bi != nil && bi.GoVersion != "" {
		return bi.GoVersion
	}
	return runtime.Version()
}
