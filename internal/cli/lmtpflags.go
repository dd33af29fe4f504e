package cli

import "strings"

// LMTPArgs are the flags of "letterbox lmtp". They live here because two
// binaries parse them: letterbox, which answers --help and usage errors
// itself before it runs the server, and letterbox-lmtp, the server.
type LMTPArgs struct {
	*Flags
	Config string
	Listen ListFlag
}

// LMTPFlags returns the flag set of "letterbox lmtp".
func LMTPFlags() *LMTPArgs {
	a := &LMTPArgs{Flags: NewFlags("lmtp", "letterbox lmtp [-c FILE] [--listen ADDR]...",
		"Serve LMTP: deliver each recipient's mail as deliver does, in groups under one lock and fsync per mbox. "+
			"It listens on the sockets systemd passes, else on --listen, else on [lmtp] listen. "+
			"SIGTERM stops it gracefully, SIGHUP reloads the configuration file. "+
			"The server is the program letterbox-lmtp, found beside letterbox or in $PATH.")}
	a.ConfigVar(&a.Config, "")
	a.Var(&a.Listen, "listen", "listen on `ADDR`: unix:/PATH or HOST:PORT; repeatable (default: [lmtp] listen)")
	return a
}

// ListFlag is a flag that may be given many times.
type ListFlag []string

func (l *ListFlag) String() string     { return strings.Join(*l, ",") }
func (l *ListFlag) Set(s string) error { *l = append(*l, s); return nil }
