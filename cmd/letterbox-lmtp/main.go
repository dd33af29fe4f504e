// Command letterbox-lmtp is letterbox's LMTP server, what "letterbox lmtp"
// runs. It is a binary of its own because the server's dependencies
// (package net, crypto/tls through go-smtp) would add about a millisecond
// to the start of every "letterbox deliver" an MTA runs per message; the
// server starts once. Install it beside letterbox: "letterbox lmtp" looks
// for it there first, then in $PATH.
package main

import (
	"os"

	"letterbox/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run serves and turns the result into the exit code, writing the one
// status line on failure.
func run(args []string) int {
	return cli.Run(func(e *cli.Env) int { return cli.ExitCode(runLMTP(e, args)) })
}
