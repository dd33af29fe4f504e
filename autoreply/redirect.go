package autoreply

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// RedirectedFrom is the field a redirect prepends, naming the recipient
// whose script redirected the message (Pigeonhole's name for it).
const RedirectedFrom = "X-Sieve-Redirected-From"

// RedirectLoop reports whether the message with header h was already
// redirected by recipient's script, or already delivered to recipient
// (Delivered-To): redirecting it again would loop (RFC 5228 §4.2).
func RedirectLoop(h Header, recipient string) bool {
	r := bare(recipient)
	if r == "" {
		return false
	}
	for _, f := range []string{RedirectedFrom, "Delivered-To"} {
		for _, v := range h.Get(f) {
			if strings.EqualFold(bare(oneLine(v)), r) {
				return true
			}
		}
	}
	return false
}

// WriteRedirect writes to w the message read from msg as a redirect by
// recipient's script sends it: "X-Sieve-Redirected-From: RECIPIENT" on
// top, then the message unchanged. Its envelope sender is the original's
// (the package comment says why).
func WriteRedirect(w io.Writer, msg io.Reader, recipient string) error {
	r := bare(recipient)
	if !plainAddr(r) {
		return fmt.Errorf("redirect: bad recipient %q", recipient)
	}
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "%s: %s\n", RedirectedFrom, r)
	if _, err := io.Copy(b, msg); err != nil {
		return fmt.Errorf("redirect: copy message: %w", err)
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("redirect: write: %w", err)
	}
	return nil
}
