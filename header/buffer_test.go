package header

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestBufferFor(t *testing.T) {
	big := strings.Repeat("x", ChunkSize+10)
	for _, c := range []struct {
		name string
		r    io.Reader
		want int
	}{
		{"small bytes.Reader", bytes.NewReader([]byte("From: a\n\n" + strings.Repeat("body\n", 10))), 60},
		{"empty", strings.NewReader(""), 16},
		{"large", strings.NewReader(big), ChunkSize},
		{"section", io.NewSectionReader(strings.NewReader(big), 0, 100), 101},
		{"limited below the reader", io.LimitReader(strings.NewReader(big), 10), 16},
		{"limited above the reader", io.LimitReader(strings.NewReader(strings.Repeat("a", 99)), 1000), 100},
		{"limited, the reader unknown", io.LimitReader(io.MultiReader(strings.NewReader("abc")), 50), 51},
		{"unknown", io.MultiReader(strings.NewReader("abc")), ChunkSize},
	} {
		if got := BufferFor(c.r); got != c.want {
			t.Errorf("%s: BufferFor = %d, want %d", c.name, got, c.want)
		}
	}
}

// A buffer of BufferFor's size sees every line whole, as ChunkSize does:
// the header rules see the same first chunk of every line.
func TestBufferForKeepsLinesWhole(t *testing.T) {
	msg := "X-" + strings.Repeat("Long-Name-", 100) + ": v\nSubject: s\n\n" + strings.Repeat("body line\n", 50)
	r := strings.NewReader(msg)
	br := bufio.NewReaderSize(r, BufferFor(r))
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			t.Fatalf("a line was cut: %.40q...", line)
		}
		if err != nil {
			break
		}
	}
}
