package deliver

import (
	"testing"

	"letterbox/mbox"
)

// Every sender deliver accepts must come back whole from its From_ line:
// mbox.FromLine cuts a sender longer than mbox.MaxSender, and mbox.Reader
// (and so "letterbox check") keeps no more than the longest line FromLine
// writes (mbox/fromline.go states the relation; issue 12, 8).
func TestAddressFitsFromLine(t *testing.T) {
	if MaxAddressLen > mbox.MaxSender {
		t.Fatalf("MaxAddressLen %d > mbox.MaxSender %d: a delivered sender's From_ line would be cut", MaxAddressLen, mbox.MaxSender)
	}
}
