package header

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestStripPrivate(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	tests := []struct{ name, in, want string }{
		{"none", "Subject: a\n\nbody\n", "Subject: a\n\nbody\n"},
		{"all names, any case",
			"X-UID: 1\nx-imap: 2\nX-IMAPbase: 3\nX-Keywords: a\nX-STATUS: F\nstatus: RO\nContent-Length: 9\nX-Delivery-ID: z\nSubject: a\n\nb\n",
			"Subject: a\n\nb\n"},
		{"continuations go with it", "Status: R\n O\n\tmore\nSubject: a\n  folded\n\nb\n", "Subject: a\n  folded\n\nb\n"},
		{"obsolete space before colon", "Status : R\nX: y\n\n", "X: y\n\n"},
		{"similar names kept", "X-UIDs: 1\nStatusx: 2\nX-Status-Old: 3\nContent-Length-X: 4\n\n",
			"X-UIDs: 1\nStatusx: 2\nX-Status-Old: 3\nContent-Length-X: 4\n\n"},
		{"body untouched", "X: y\n\nStatus: RO\nX-UID: 1\n", "X: y\n\nStatus: RO\nX-UID: 1\n"},
		{"after a malformed line untouched", "X: y\nStatus of things\nStatus: RO\n", "X: y\nStatus of things\nStatus: RO\n"},
		{"leading continuation is body", " Status: RO\n", " Status: RO\n"},
		{"no empty line", "Status: RO\nX: y\n", "X: y\n"},
		{"no final newline", "X: y\nStatus: RO", "X: y\n"},
		{"only private", "Status: RO\n", ""},
		{"empty", "", ""},
		{"long private header", "Status: " + long + "\n " + long + "\nX: y\n\n", "X: y\n\n"},
		{"long kept header", "Received: " + long + "\nStatus: RO\n\n" + long, "Received: " + long + "\n\n" + long},
		{"long body", "Status: RO\n\n" + long + "\nStatus: RO\n", "\n" + long + "\nStatus: RO\n"},
	}
	for _, tt := range tests {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"onebyte", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
			r := StripPrivate(rd.wrap(strings.NewReader(tt.in)))
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s/%s: %v", tt.name, rd.name, err)
			}
			if string(got) != tt.want {
				t.Errorf("%s/%s: got %.80q, want %.80q", tt.name, rd.name, got, tt.want)
			}
		}
		// Small reads from the filter itself.
		got, err := io.ReadAll(iotest.OneByteReader(StripPrivate(strings.NewReader(tt.in))))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s/small reads: got %.80q, %v", tt.name, got, err)
		}
	}
	if err := iotest.TestReader(StripPrivate(strings.NewReader("Status: RO\nX: y\n\nbody\n")), []byte("X: y\n\nbody\n")); err != nil {
		t.Error(err)
	}
}
