package deliver

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestScanHeader(t *testing.T) {
	postfix := "Return-Path: <alice@example.org>\nX-Original-To: bob\nDelivered-To: bob@vm\n"
	long := strings.Repeat("x", 100<<10)
	tests := []struct {
		name string
		in   string
		max  int64
		want Scan
	}{
		{name: "empty", in: "", want: Scan{}},
		{name: "only empty line", in: "\nbody\n", want: Scan{HeaderLen: 1, HasBody: true}},
		{name: "no block", in: "Subject: a\n\nb\n", want: Scan{HeaderLen: 12, HasBody: true}},
		{name: "postfix block", in: postfix + "Received: x\nSubject: a\n\nDelivered-To: bob@vm\n",
			want: Scan{
				BlockLen:   int64(len(postfix)),
				ReturnPath: "alice@example.org", HasReturnPath: true,
				OriginalTo: "bob", HasOriginalTo: true,
				DeliveredTo: "bob@vm", HasDeliveredTo: true,
				HeaderLen: int64(len(postfix)) + 24, HasBody: true,
			}},
		{name: "null return path", in: "Return-Path: <>\nX: y\n\n",
			want: Scan{BlockLen: 16, HasReturnPath: true, HeaderLen: 22, HasBody: true}},
		{name: "block in other order, case", in: "delivered-to: A@B\nRETURN-PATH:<s@x>\nX: y\n",
			want: Scan{BlockLen: 36, ReturnPath: "s@x", HasReturnPath: true, DeliveredTo: "A@B", HasDeliveredTo: true, HeaderLen: 41}},
		{name: "block only", in: "Delivered-To: a@b\n",
			want: Scan{BlockLen: 18, DeliveredTo: "a@b", HasDeliveredTo: true, HeaderLen: 18}},
		{name: "block then empty line", in: "Delivered-To: a@b\n\nbody\n",
			want: Scan{BlockLen: 18, DeliveredTo: "a@b", HasDeliveredTo: true, HeaderLen: 19, HasBody: true}},
		{name: "folded block field", in: "Delivered-To:\n  a@b \nX: y\n",
			want: Scan{BlockLen: 21, DeliveredTo: "a@b", HasDeliveredTo: true, HeaderLen: 26}},
		{name: "repeated name ends the block", in: postfix + "X-Original-To: bob\nDelivered-To: Bob@VM\n\n",
			want: Scan{
				BlockLen:   int64(len(postfix)),
				ReturnPath: "alice@example.org", HasReturnPath: true,
				OriginalTo: "bob", HasOriginalTo: true,
				DeliveredTo: "bob@vm", HasDeliveredTo: true,
				DeliveredTos: []string{"bob@vm"},
				HeaderLen:    int64(len(postfix)) + 19 + 21 + 1, HasBody: true,
			}},
		{name: "block must lead", in: "Received: x\nDelivered-To: a@b\n\n",
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 31, HasBody: true}},
		{name: "x-delivered-to is not delivered-to", in: "X: y\nX-Delivered-To: a@b\n\n",
			want: Scan{HeaderLen: 26, HasBody: true}},
		{name: "unfolded, trimmed, lowercased", in: "X: y\nDelivered-To: \t Alice\n\t@Example.ORG  \n\n",
			want: Scan{DeliveredTos: []string{"alice\t@example.org"}, HeaderLen: 44, HasBody: true}},
		{name: "obsolete space before colon", in: "X: y\nDelivered-To : a@b\n\n",
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 25, HasBody: true}},
		{name: "body not scanned", in: "X: y\n\nDelivered-To: a@b\n", want: Scan{HeaderLen: 6, HasBody: true}},
		{name: "malformed line ends header", in: "X: y\nnot a header\nDelivered-To: a@b\n",
			want: Scan{HeaderLen: 5, Malformed: true}},
		{name: "from line in header ends it", in: "X: y\nFrom a@b Sun\nDelivered-To: a@b\n",
			want: Scan{HeaderLen: 5, Malformed: true}},
		{name: "leading continuation", in: " x\nDelivered-To: a@b\n", want: Scan{Malformed: true}},
		{name: "colon first", in: ": x\n\n", want: Scan{Malformed: true}},
		{name: "no newline at end", in: "X: y\nDelivered-To: a@b", want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 22}},
		{name: "long header before", in: "Received: " + long + "\n" + "Delivered-To: a@b\n\n",
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: int64(10 + len(long) + 1 + 18 + 1), HasBody: true}},
		{name: "long folded header before", in: "Received: x\n" + strings.Repeat(" "+long[:100]+"\n", 2000) + "Delivered-To: a@b\n\n",
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: int64(12 + 2000*102 + 18 + 1), HasBody: true}},
		{name: "long trailing space", in: "X: y\nDelivered-To: a@b" + strings.Repeat(" ", 100<<10) + "\n\n",
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: int64(5 + 17 + 100<<10 + 1 + 1), HasBody: true}},
		{name: "long delivered-to left out", in: "X: y\nDelivered-To: a@b" + long + "\nDelivered-To: c@d\n\n",
			want: Scan{DeliveredTos: []string{"c@d"}, HeaderLen: int64(5 + 17 + len(long) + 1 + 18 + 1), HasBody: true}},
		{name: "long block value kept too long", in: "Return-Path: <" + long + ">\nX: y\n\n",
			want: Scan{BlockLen: int64(15 + len(long) + 1), ReturnPath: "<" + long[:valueMax-1], HasReturnPath: true,
				HeaderLen: int64(15 + len(long) + 1 + 5 + 1), HasBody: true}},
		{name: "longest address in brackets", in: "Return-Path: <" + long[:MaxAddressLen] + ">\n\n",
			want: Scan{BlockLen: int64(15 + MaxAddressLen + 1), ReturnPath: long[:MaxAddressLen], HasReturnPath: true,
				HeaderLen: int64(15 + MaxAddressLen + 2), HasBody: true}},
		{name: "name longer than the buffer", in: long + ": x\nDelivered-To: a@b\n\n", want: Scan{Malformed: true}},
		{name: "truncated", in: "X: y\nDelivered-To: a@b\nDelivered-To: c@d\n\n", max: 30,
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 23, Truncated: true}},
		{name: "truncated mid field", in: "X: y\nDelivered-To: a@b.example\n\n", max: 25,
			want: Scan{HeaderLen: 5, Truncated: true}},
		{name: "truncated before continuation", in: "X: y\nDelivered-To: a@b\n .example\n\n", max: 23,
			want: Scan{HeaderLen: 23, Truncated: true}},
		{name: "truncated by the empty line", in: "X: y\nDelivered-To: a@b\n\n", max: 23,
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 23, Truncated: true}},
		{name: "exactly the limit", in: "X: y\nDelivered-To: a@b\n\nlong body", max: 24,
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 24, HasBody: true}},
		{name: "all header, exactly the limit", in: "X: y\nDelivered-To: a@b\n", max: 23,
			want: Scan{DeliveredTos: []string{"a@b"}, HeaderLen: 23}},
	}
	for _, tt := range tests {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"onebyte", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
			max := tt.max
			if max == 0 {
				max = 1 << 20
			}
			got, err := ScanHeader(rd.wrap(strings.NewReader(tt.in)), max)
			if err != nil {
				t.Fatalf("%s/%s: %v", tt.name, rd.name, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s/%s:\n got %+v\nwant %+v", tt.name, rd.name, short(got), short(tt.want))
			}
		}
	}
}

func short(s Scan) Scan {
	if len(s.ReturnPath) > 40 {
		s.ReturnPath = s.ReturnPath[:40] + "..."
	}
	return s
}

func TestScanHeaderCap(t *testing.T) {
	var b strings.Builder
	for range maxDeliveredTo + 10 {
		b.WriteString("X: y\nDelivered-To: other@x\n")
	}
	b.WriteString("Delivered-To: last@x\n\n")
	s, err := ScanHeader(strings.NewReader(b.String()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.DeliveredTos) != maxDeliveredTo {
		t.Fatalf("%d values kept, want %d", len(s.DeliveredTos), maxDeliveredTo)
	}
	if !s.HasBody || s.HeaderLen != int64(b.Len()) {
		t.Fatalf("scan stopped early: %d of %d", s.HeaderLen, b.Len())
	}
}

func TestScanHeaderReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("X: y\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := ScanHeader(r, 0); err == nil || !strings.Contains(err.Error(), "scan header") {
		t.Fatalf("err = %v", err)
	}
}

func TestIsLoop(t *testing.T) {
	hdr := "Delivered-To: bob@vm\n" + // the block: never a loop
		"Received: x\n" +
		"Delivered-To: Alice@Example.org\n" +
		"Delivered-To:\n carol@x \n" +
		"X-Delivered-To: dave@x\n" +
		"Delivered-To: erin@x.example.org\n" +
		"\n" +
		"Delivered-To: frank@x\n"
	s, err := ScanHeader(strings.NewReader(hdr), 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rcpt string
		want bool
	}{
		{"alice@example.org", true},
		{"ALICE@EXAMPLE.ORG", true},
		{" alice@example.org\t", true},
		{"carol@x", true},
		{"bob@vm", false},  // the block's own
		{"dave@x", false},  // X-Delivered-To
		{"frank@x", false}, // in the body
		{"erin@x", false},  // a longer address contains it
		{"lice@example.org", false},
		{"alice@example.or", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoop(s, tt.rcpt); got != tt.want {
			t.Errorf("IsLoop(%q) = %v, want %v", tt.rcpt, got, tt.want)
		}
	}
	// Invalid UTF-8 is not folded into U+FFFD.
	s = Scan{DeliveredTos: []string{lowerAddr("\xff@X")}}
	if IsLoop(s, "\xfe@x") || !IsLoop(s, "\xff@x") {
		t.Error("invalid UTF-8 compared wrongly")
	}
}

// TestStripAfterBlock is the pipeline's use: skip the envelope block, then
// strip.
func TestStripAfterBlock(t *testing.T) {
	in := "Return-Path: <a@x>\nDelivered-To: b@y\nStatus: RO\nSubject: s\n\nStatus: body\n"
	s, err := ScanHeader(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader(in)
	if _, err := io.CopyN(io.Discard, r, s.BlockLen); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(stripPrivate(r))
	if want := "Subject: s\n\nStatus: body\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
