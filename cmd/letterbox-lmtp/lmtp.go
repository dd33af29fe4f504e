package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"

	"golang.org/x/sys/unix"

	"letterbox/config"
	"letterbox/internal/cli"
	"letterbox/internal/passwd"
	"letterbox/internal/status"
	"letterbox/lmtp"
)

// letterboxBinary is the letterbox program beside this one, else in $PATH.
func letterboxBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "letterbox")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath("letterbox")
	if err != nil {
		return "", fmt.Errorf("the letterbox binary, which delivers for system users, is not beside letterbox-lmtp or in $PATH: %w", err)
	}
	return p, nil
}

// runLMTP is "letterbox lmtp": the LMTP server (package lmtp) on the
// sockets systemd passed, else on --listen, else on [lmtp] listen. SIGTERM
// and SIGINT stop it gracefully, SIGHUP reloads the configuration file.
func runLMTP(e *cli.Env, args []string) error {
	fs := cli.LMTPFlags()
	if err := fs.Parse(args); err != nil {
		return err // a usage error, or --help printed
	}
	bad, cfgPath, listen := fs.Bad, &fs.Config, []string(fs.Listen)
	if fs.NArg() != 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	for _, a := range listen {
		if err := config.CheckListen(a); err != nil {
			return bad("--listen: %v", err)
		}
	}
	path := config.Find(*cfgPath)
	if path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs // the children run elsewhere
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return status.Temp("4.3.5", err)
	}
	log := lmtpLogger(e, cfg.Log)
	// System users' mail is delivered by "letterbox deliver -d USER" in a
	// child that becomes the user: the letterbox binary beside this one.
	exe, err := letterboxBinary()
	if err != nil && cfg.LMTP.Mailbox == "" {
		return status.Temp("4.3.0", err)
	}
	opts := func(c config.Config) lmtp.Options {
		return lmtp.Options{Config: c, ConfigPath: path, Users: passwd.System(), Log: lmtpLogger(e, c.Log), TempDir: os.TempDir(), Exe: exe}
	}

	ls, err := lmtp.Activated()
	if err != nil {
		return status.Temp("4.3.0", err)
	}
	if len(ls) == 0 {
		if len(listen) == 0 {
			listen = cfg.LMTP.Listen
		}
		if len(listen) == 0 {
			return status.Temp("4.3.5", fmt.Errorf("%s: [lmtp] listen is empty and no --listen or socket activation", path))
		}
		mode, _ := cfg.LMTP.Mode() // valid: Load checked it
		for _, a := range listen {
			l, err := lmtp.Listen(a, mode)
			if err != nil {
				for _, l := range ls {
					l.Close()
				}
				return status.Temp("4.3.0", err)
			}
			ls = append(ls, l)
		}
	}

	signal.Ignore(unix.SIGXFSZ)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer signal.Stop(sigs)

	srv := lmtp.New(opts(cfg))
	served := make(chan error, len(ls))
	for _, l := range ls {
		go func(l net.Listener) { served <- srv.Serve(l) }(l)
		log.Info("lmtp: listening", "addr", l.Addr().String())
	}
	for {
		select {
		case err := <-served:
			if err != nil {
				srv.Close()
				return status.Temp("4.3.0", fmt.Errorf("lmtp: serve: %w", err))
			}
		case sig := <-sigs:
			if sig == unix.SIGHUP {
				c, err := config.Load(path)
				if err != nil {
					log.Error("lmtp: reload failed; keeping the running configuration", "err", err)
					continue
				}
				srv.Reload(opts(c))
				log.Info("lmtp: configuration reloaded", "file", path)
				continue
			}
			// Stop accepting, let the transactions in DATA finish (a
			// delivery waits at most lock_timeout for its lock), then
			// close whatever is left: its appends are rolled back.
			log.Info("lmtp: shutting down", "signal", sig.String())
			ctx, cancel := context.WithTimeout(context.Background(), cfg.LockTimeout.Duration+cfg.LMTP.Timeout.Duration)
			err := srv.Shutdown(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				log.Warn("lmtp: transactions still running at the deadline; closing them")
			}
			srv.Close()
			return nil
		}
	}
}

// lmtpLogger is the daemon's log: "stderr" writes at once (a daemon has
// no status line to wait for), the rest as every command logs.
func lmtpLogger(e *cli.Env, kind string) *slog.Logger {
	if kind == "stderr" {
		return cli.StderrLogger()
	}
	return e.Logger(kind)
}
