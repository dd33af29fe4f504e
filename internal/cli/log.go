package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
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
//
// Each record is one flat line: its message, then its attributes as
// key=value pairs (slog's text form), without time or level. In syslog the
// level is the severity: Info and above info, Warn and above warning,
// Error and above err. On standard error a line of Warn or Error starts
// with "warning: " or "error: ", as Postfix's own lines do.
func (e *Env) Logger(kind string) *slog.Logger {
	if kind == "none" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(&lazyHandler{open: func() (slog.Handler, bool) {
		if kind == "syslog" {
			addr := e.SyslogAddr
			if addr == "" {
				addr = syslog.Path
			}
			if w, err := syslog.Dial(addr, "letterbox"); err == nil {
				return newLineHandler(slog.LevelInfo, func(lv slog.Level, line string) error {
					return w.Log(severity(lv), line)
				}), false
			}
			// No daemon: warnings and errors still reach the MTA's
			// log through standard error; the routine line of every
			// delivery would only clutter it.
			return newLineHandler(slog.LevelWarn, writeTo(e)), true
		}
		return newLineHandler(slog.LevelInfo, writeTo(e)), false
	}})
}

// ResultLogger returns the logger for the one line of a delivery, given
// the command's Logger: the same, except that when log = "syslog" finds no
// daemon it drops the line whatever its outcome. Standard error then
// already holds the status line, which says the same to the MTA; a copy
// would only be appended to the reason the MTA records for a deferral or
// bounce.
func ResultLogger(log *slog.Logger) *slog.Logger {
	if l, ok := log.Handler().(*lazyHandler); ok {
		return slog.New(resultHandler{l})
	}
	return log
}

// resultHandler is a lazyHandler that is off when its destination is the
// fallback to standard error.
type resultHandler struct{ *lazyHandler }

func (r resultHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return r.lazyHandler.Enabled(ctx, lv) && !r.fallback
}

// StderrLogger is the "stderr" form of Logger written to standard error at
// once, for a daemon: it has no status line to hold its log back for.
func StderrLogger() *slog.Logger {
	return slog.New(newLineHandler(slog.LevelInfo, writeTo(os.Stderr)))
}

// severity is the syslog severity of a slog level.
func severity(lv slog.Level) syslog.Severity {
	switch {
	case lv >= slog.LevelError:
		return syslog.Err
	case lv >= slog.LevelWarn:
		return syslog.Warning
	case lv >= slog.LevelInfo:
		return syslog.Info
	}
	return syslog.Debug
}

// writeTo writes each line to w, with a prefix that names a level above
// Info, since no priority carries it there.
func writeTo(w io.Writer) func(slog.Level, string) error {
	return func(lv slog.Level, line string) error {
		prefix := ""
		switch {
		case lv >= slog.LevelError:
			prefix = "error: "
		case lv >= slog.LevelWarn:
			prefix = "warning: "
		case lv < slog.LevelInfo:
			prefix = "debug: "
		}
		_, err := io.WriteString(w, prefix+line+"\n")
		return err
	}
}

// lineHandler makes each record one line: the message, then the
// attributes as slog's TextHandler writes them (quoted where needed,
// groups as "group.key"), and hands it to emit with the record's level.
// Time and level are left to the destination: syslog stamps the time and
// its priority carries the level.
type lineHandler struct {
	min  slog.Level
	text slog.Handler // writes the attributes of a record into out.buf
	out  *lineOut
}

// lineOut is what a lineHandler and those derived from it (WithAttrs,
// WithGroup) share.
type lineOut struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(slog.Level, string) error
}

func newLineHandler(min slog.Level, emit func(slog.Level, string) error) *lineHandler {
	out := &lineOut{emit: emit}
	text := slog.NewTextHandler(&out.buf, &slog.HandlerOptions{
		Level: min,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 {
				switch a.Key {
				case slog.TimeKey, slog.LevelKey, slog.MessageKey:
					return slog.Attr{} // the line's own; see lineHandler
				}
			}
			return a
		},
	})
	return &lineHandler{min: min, text: text, out: out}
}

func (h *lineHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= h.min }

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	// A line break in the message would start a line that is none of
	// ours; the attributes' values are quoted by the text handler.
	line := strings.Map(func(c rune) rune {
		if c == '\n' || c == '\r' {
			return ' '
		}
		return c
	}, r.Message)
	if attrs := strings.TrimSpace(h.out.buf.String()); attrs != "" {
		line += " " + attrs
	}
	if err := h.out.emit(r.Level, line); err != nil {
		return fmt.Errorf("log: %w", err)
	}
	return nil
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &lineHandler{min: h.min, text: h.text.WithAttrs(as), out: h.out}
}

func (h *lineHandler) WithGroup(g string) slog.Handler {
	return &lineHandler{min: h.min, text: h.text.WithGroup(g), out: h.out}
}

// lazyHandler opens its destination on first use.
type lazyHandler struct {
	once     sync.Once
	open     func() (h slog.Handler, fallback bool)
	h        slog.Handler
	fallback bool // h is standard error for want of a syslog daemon
}

func (l *lazyHandler) handler() slog.Handler {
	l.once.Do(func() { l.h, l.fallback = l.open() })
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
