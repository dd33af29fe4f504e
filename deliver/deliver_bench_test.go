package deliver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/sys"
)

// BenchmarkReadDeliver is one plain delivery of an 11 KB message into an
// mbox, reading included, fsync off: what the LMTP server does per message
// besides the protocol. Its B/op is what the collector must clean up after
// each message, which bounds the server's throughput (README, Performance).
func BenchmarkReadDeliver(b *testing.B) {
	msg := "From: Ann <ann@example.org>\nTo: c@d\nSubject: message 1\nMessage-ID: <1@bench>\n\n" + strings.Repeat("the quick brown fox jumps over the lazy dog, again and again and again.\n", 150)
	s := &sieveSetup{home: b.TempDir()}
	r := s.request(b, sys.Real{}, "", "ann@example.org", false)
	r.Config.Fsync = false
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := ReadMessage(strings.NewReader(msg), s.home, r.Config)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DeliverMessage(context.Background(), m, r); err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
	b.StopTimer()
	if n := mboxCount(b, filepath.Join(s.home, "mbox")); n != b.N {
		b.Fatalf("mbox holds %d, want %d", n, b.N)
	}
}
