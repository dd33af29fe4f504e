package deliver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/sys"
)

// rules50 is the 50-rule script of bench/sieve.sh: header, address,
// envelope, exists, size and :matches tests, none of which matches, so every
// rule runs and the message is kept.
func rules50() string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "envelope", "imap4flags"];` + "\n")
	for i := range 50 {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "if header :contains \"subject\" \"nomatch-%d\" { fileinto \"F%d\"; stop; }\n", i, i)
		case 1:
			fmt.Fprintf(&b, "if address :is :domain \"from\" \"nomatch%d.example\" { fileinto \"F%d\"; stop; }\n", i, i)
		case 2:
			fmt.Fprintf(&b, "if envelope :is \"from\" \"nomatch%d@example.org\" { fileinto \"F%d\"; stop; }\n", i, i)
		case 3:
			fmt.Fprintf(&b, "if exists \"X-Nomatch-%d\" { addflag \"\\\\Flagged\"; fileinto \"F%d\"; stop; }\n", i, i)
		case 4:
			fmt.Fprintf(&b, "if allof (size :over 100M, header :contains \"to\" \"nomatch%d\") { discard; stop; }\n", i)
		case 5:
			fmt.Fprintf(&b, "if header :matches \"list-id\" \"*nomatch-%d.*\" { fileinto \"F%d\"; stop; }\n", i, i)
		}
	}
	return b.String()
}

// BenchmarkSieve is the in-process cost of the 50-rule script against none,
// for one delivery into an mbox (fsync on), the message already read.
func BenchmarkSieve(b *testing.B) {
	msg := "From: Ann <ann@example.org>\nTo: c@d\nSubject: message 1\nMessage-ID: <1@bench>\n\n" + strings.Repeat("the quick brown fox jumps over the lazy dog, again and again and again.\n", 150)
	for _, script := range []string{"", rules50()} {
		name := "none"
		if script != "" {
			name = "rules50"
		}
		b.Run(name, func(b *testing.B) {
			s := &sieveSetup{home: b.TempDir()}
			if script != "" {
				if err := os.WriteFile(filepath.Join(s.home, ".dovecot.sieve"), []byte(script), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			r := s.request(b, sys.Real{}, "", "ann@example.org", false)
			m, err := ReadMessage(strings.NewReader(msg), s.home, r.Config)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			b.ResetTimer()
			for range b.N {
				if _, err := DeliverMessage(context.Background(), m, r); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n := mboxCount(b, filepath.Join(s.home, "mbox")); n != b.N {
				b.Fatalf("mbox holds %d, want %d", n, b.N)
			}
		})
	}
}
