package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"letterbox/internal/status"
)

// LogResult logs the one line of a delivery, flat as Postfix's delivery
// agents write theirs, so that the greps and log summarisers of Postfix
// operators read it:
//
//	from=<a@example.org>, to=<u@example.net>, orig_to=<alias@example.net>, relay=letterbox, delay=0.004, size=2048, dsn=2.0.0, status=sent (delivered to mbox /var/mail/u)
//	from=<a@example.org>, to=<u@example.net>, relay=letterbox, delay=0.012, size=0, dsn=4.2.0, status=deferred (/var/mail/u.lock: lock busy for 300s ...)
//	to=<x@example.net>, relay=letterbox, delay=0.000, size=0, dsn=5.1.1, status=bounced (unknown user "x")
//
// Unlike Postfix's, the line carries the sender (Postfix logs it in a
// separate line of its queue manager, which an MDA has not): from= is left
// out only when the delivery failed before the sender was known. orig_to=
// is there when it differs from to=. delay= is the seconds since start,
// to the millisecond (a delivery takes a few); size= is the bytes stored,
// 0 when nothing was. The parenthesised text is what became of the message
// (Result.Done) or, on a failure, the error of the status line without its
// DSN, after whatever was done before it.
//
// The level says the outcome, and becomes the syslog severity: Info for
// sent, Warn for deferred (the MTA retries), Error for bounced (the sender
// gets the mail back) and for an error that carries no status, a failure
// letterbox did not foresee (deferred as 4.3.0). Every front end that
// delivers ("letterbox deliver", the LMTP server) logs through it, so a
// delivery reads the same in the log whichever way it came.
func LogResult(log *slog.Logger, res Result, err error, start time.Time) {
	dsn, st, level := "2.0.0", "sent", slog.LevelInfo
	text := res.Done
	if err != nil {
		var se *status.Error
		if errors.As(err, &se) {
			dsn, st, level = se.DSN, "deferred", slog.LevelWarn
			if se.Code != status.TempFail {
				st, level = "bounced", slog.LevelError
			}
			err = se.Err
		} else {
			dsn, st, level = "4.3.0", "deferred", slog.LevelError
		}
		if text != "" {
			text += "; "
		}
		text += err.Error()
	}
	var b strings.Builder
	if res.Sender != "" || res.NullSender {
		fmt.Fprintf(&b, "from=<%s>, ", res.Sender)
	}
	fmt.Fprintf(&b, "to=<%s>, ", res.Recipient)
	if res.OriginalRecipient != "" && res.OriginalRecipient != res.Recipient {
		fmt.Fprintf(&b, "orig_to=<%s>, ", res.OriginalRecipient)
	}
	fmt.Fprintf(&b, "relay=letterbox, delay=%.3f, size=%d, dsn=%s, status=%s", time.Since(start).Seconds(), res.Size, dsn, st)
	if text != "" {
		fmt.Fprintf(&b, " (%s)", text)
	}
	// An address refused for a control byte (5.1.3) is still logged, made
	// harmless.
	log.Log(context.Background(), level, status.OneLine(b.String(), 0))
}

// Unresolved is the Result of a delivery that failed before its message
// was read (an unknown user, a mailbox that may not be delivered to), for
// its log line: the envelope as far as the flags and the environment in
// src decide it, which is Resolve without the message. The sender stays
// unknown unless -f or $SENDER gives it: the message's From_ line or
// Return-Path: might name another.
func Unresolved(src Sources) Result {
	src.FromSender, src.HasFrom, src.Scan = "", false, Scan{}
	// On an error env holds the fields decided before it.
	env, _ := Resolve(src)
	res := Result{OriginalRecipient: env.OriginalRecipient, Recipient: env.Recipient}
	hasEnvSender := false
	if src.LookupEnv != nil {
		_, hasEnvSender = src.LookupEnv("SENDER")
	}
	if src.Sender != nil || hasEnvSender {
		res.Sender, res.NullSender = env.Sender, env.NullSender
	}
	return res
}

// toMbox is Result.Done for a message appended to the mbox path.
func toMbox(path string) string { return "delivered to mbox " + path }

// toMaildir is Result.Done for a message stored as file in a Maildir or
// one of its folders: it names the folder's directory, as file is
// DIR/new/NAME.
func toMaildir(file string) string {
	return "delivered to maildir " + filepath.Dir(filepath.Dir(file))
}
