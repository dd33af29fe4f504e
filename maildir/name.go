package maildir

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Name returns a unique file name for a message of size bytes delivered at
// t by process pid on host: <sec>.M<usec>P<pid>R<random>.<host>,S=<size>.
// The 64 random bits make it unique even when the clock stands still and
// pids repeat across hosts and containers; ",S=" lets readers (Dovecot,
// Courier) know the size without a stat. '/' and ':' in the host are
// written as \057 and \072, which the Maildir spec asks for, and other bytes
// that would break a name are dropped. No DNS is asked.
func Name(t time.Time, pid int, host string, size int64) (string, error) {
	var rnd [8]byte
	if _, err := unix.Getrandom(rnd[:], 0); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return fmt.Sprintf("%d.M%dP%dR%s.%s,S=%d", t.Unix(), t.Nanosecond()/1000, pid, hex.EncodeToString(rnd[:]), escapeHost(host), size), nil
}

func escapeHost(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '/':
			b.WriteString(`\057`)
		case c == ':':
			b.WriteString(`\072`)
		case c == '\\':
			b.WriteString(`\134`)
		case c <= ' ' || c == 0x7f || c == ',':
			// Control bytes and ',' (which starts ",S=" fields) are
			// escaped too, so the name stays parseable.
			b.WriteString(`\` + strconv.FormatInt(int64(c), 8))
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "localhost"
	}
	return b.String()
}
