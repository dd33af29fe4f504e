package mbox

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func quote(t *testing.T, q Quoting, in string, chunk int) string {
	t.Helper()
	var b bytes.Buffer
	z := newQuoter(&b, q)
	p := []byte(in)
	for len(p) > 0 {
		n := min(chunk, len(p))
		if _, err := z.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if z.n != int64(b.Len()) {
		t.Fatalf("counted %d bytes, wrote %d", z.n, b.Len())
	}
	return b.String()
}

func TestQuoting(t *testing.T) {
	in := "From a\n>From b\n>>From c\n From d\nFrom\te\nFrom\nFro\nfrom f\n\nx From g\n>>x\n>Fro"
	for _, tc := range []struct {
		q    Quoting
		want string
	}{
		{MboxRD, ">From a\n>>From b\n>>>From c\n From d\nFrom\te\nFrom\nFro\nfrom f\n\nx From g\n>>x\n>Fro"},
		{MboxO, ">From a\n>From b\n>>From c\n From d\nFrom\te\nFrom\nFro\nfrom f\n\nx From g\n>>x\n>Fro"},
		{MboxCL2, in},
	} {
		for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
			if got := quote(t, tc.q, in, chunk); got != tc.want {
				t.Errorf("%s, chunks of %d:\n got %q\nwant %q", tc.q, chunk, got, tc.want)
			}
		}
	}
}

// Output must not depend on how the input is cut into writes.
func TestQuotingChunking(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"From ", ">", ">From ", "F", "Fr", "x", "\n", "\n\n", "From", " "}
	for i := 0; i < 300; i++ {
		var sb strings.Builder
		for j := r.IntN(40); j > 0; j-- {
			sb.WriteString(words[r.IntN(len(words))])
		}
		in := sb.String()
		for _, q := range []Quoting{MboxRD, MboxO} {
			want := quote(t, q, in, len(in)+1)
			if got := quote(t, q, in, 1+r.IntN(5)); got != want {
				t.Fatalf("%s %q: chunked %q, whole %q", q, in, got, want)
			}
		}
	}
}

// A line of a million '>' followed by "From " costs no memory and is quoted.
func TestQuotingLongPrefix(t *testing.T) {
	in := strings.Repeat(">", 1<<20) + "From x\n"
	got := quote(t, MboxRD, in, 4096)
	if got != ">"+in {
		t.Fatalf("len %d, want %d", len(got), len(in)+1)
	}
}

func TestQuotedSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		q    Quoting
		want int64
	}{
		{"", MboxO, 0},
		{"From a\n>From b\nx From c\n", MboxO, 25},
		{"From a\n>From b\nx From c\n", MboxRD, 26},
		{"From a\n>From b\nx From c\n", MboxCL2, 24},
		{"From", MboxO, 4},
	} {
		got, err := QuotedSize(strings.NewReader(tc.in), tc.q)
		var b strings.Builder
		z := newQuoter(&b, tc.q)
		z.Write([]byte(tc.in))
		z.Close()
		if err != nil || got != tc.want || got != int64(b.Len()) {
			t.Errorf("QuotedSize(%q, %v) = %d, %v; want %d (written %d)", tc.in, tc.q, got, err, tc.want, b.Len())
		}
	}
}
