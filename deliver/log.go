package deliver

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"letterbox/internal/status"
)

// LogResult logs the one line of a delivery, in the shape Postfix
// operators grep for: from=<...> to=<...> mailbox=... size=... delay=...
// dsn=... status=sent|deferred|bounced. Every front end that delivers
// ("letterbox deliver", the LMTP server) logs through it, so a delivery
// reads the same in the log whichever way it came. It logs at Info, also
// failures: the status line or the protocol reply says the same to the
// MTA.
func LogResult(log *slog.Logger, res Result, err error, start time.Time) {
	dsn, st := "2.0.0", "sent"
	var se *status.Error
	switch {
	case errors.As(err, &se):
		dsn, st = se.DSN, "deferred"
		if se.Code != status.TempFail {
			st = "bounced"
		}
	case err != nil:
		dsn, st = "4.3.0", "deferred"
	}
	line := fmt.Sprintf("from=<%s> to=<%s> mailbox=%s size=%d delay=%.3f dsn=%s status=%s", res.Sender, res.Recipient, res.Mailbox, res.Size, time.Since(start).Seconds(), dsn, st)
	if err != nil {
		log.Info(line, "error", err)
	} else {
		log.Info(line)
	}
}
