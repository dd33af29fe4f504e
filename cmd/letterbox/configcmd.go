package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/pelletier/go-toml/v2"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/status"
)

// configCheckFlags are the flags of "letterbox config check".
type configCheckFlags struct {
	*cli.Flags
	cfgPath string
}

func newConfigCheckFlags() *configCheckFlags {
	f := &configCheckFlags{Flags: cli.NewFlags("config check", "letterbox config check [-c FILE]",
		"Read the configuration file deliver would read (-c FILE, else $LETTERBOX_CONFIG, else /etc/letterbox.toml "+
			"if it exists) and print the effective configuration, defaults included, as TOML. An invalid file is "+
			"reported with every error on a line of its own, each with the file and line, and exit 78 (EX_CONFIG); deliver, lock and convert treat the same file "+
			"as a temporary failure (4.3.5, exit 75) so that an operator's mistake never bounces mail.")}
	f.ConfigVar(&f.cfgPath, "")
	return f
}

// runConfigCheck is "letterbox config check": it reads the configuration file
// that deliver and lock would read (-c, $LETTERBOX_CONFIG, /etc/letterbox.toml)
// and prints the effective configuration, defaults included, as TOML. An
// invalid file is EX_CONFIG (78) with every error, each with the file and
// line, on a line of its own; deliver treats the same file as a temporary
// failure, so that an operator error never bounces mail.
func runConfigCheck(e *cli.Env, args []string) error {
	fs := newConfigCheckFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	if fs.NArg() != 0 {
		return fs.Bad("unexpected argument %q", fs.Arg(0))
	}
	cfgPath := &fs.cfgPath
	path := config.Find(*cfgPath)
	cfg, err := config.Load(path)
	var errs config.Errors
	if errors.As(err, &errs) && len(errs) > 1 {
		// Every error on a line of its own, as a compiler lists them; the
		// status line (which is one line) counts them.
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, e)
		}
		err = fmt.Errorf("%s: %d errors", path, len(errs))
	}
	if err != nil {
		return &status.Error{DSN: "4.3.5", Code: status.Config, Err: err}
	}
	out, err := toml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("print configuration: %w", err)
	}
	if path == "" {
		fmt.Fprintln(os.Stdout, "# no configuration file: built-in defaults")
	} else {
		fmt.Fprintf(os.Stdout, "# %s: valid\n", path)
	}
	_, err = os.Stdout.Write(out)
	return err
}
