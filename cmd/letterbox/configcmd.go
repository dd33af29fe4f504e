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

const configSynopsis = "letterbox config check [-c FILE]"

// runConfig is "letterbox config check": it reads the configuration file
// that deliver and lock would read (-c, $LETTERBOX_CONFIG, /etc/letterbox.toml)
// and prints the effective configuration, defaults included, as TOML. An
// invalid file is EX_CONFIG (78) with every error, each with the file and
// line, on a line of its own; deliver treats the same file as a temporary
// failure, so that an operator error never bounces mail.
func runConfig(e *cli.Env, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return cli.UsageError("config: want \"check\" (usage: %s)", configSynopsis)
	}
	fs, bad := cli.NewFlags("config check", configSynopsis)
	cfgPath := fs.String("c", "", "config file")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return bad("bad arguments")
	}
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
