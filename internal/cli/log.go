package cli

import (
	"context"
	"log/slog"
	"sync"

	"letterbox/internal/syslog"
)

// Logger returns the logger the config's "log" key asks for: "syslog" (the
// mail facility; when no syslog daemon listens, warnings go to standard
// error instead so that they are not silently lost), "stderr" (every line,
// one per delivery included) or "none". Lines for standard error are
// held back until the status line is out. The destination is opened on the
// first message: most runs log nothing but their result, and every process
// start counts.
func (e *Env) Logger(kind string) *slog.Logger {
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
