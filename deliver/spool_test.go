package deliver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSpoolNormalise(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	tests := []struct {
		name, in, want string
		sender         string
		hasFrom        bool
	}{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "Subject: a\n\nbody\n", want: "Subject: a\n\nbody\n"},
		{name: "no final newline", in: "Subject: a\n\nbody", want: "Subject: a\n\nbody\n"},
		{name: "crlf", in: "Subject: a\r\n\r\nbody\r\n", want: "Subject: a\n\nbody\n"},
		{name: "crlf no final newline", in: "a\r\nb", want: "a\nb\n"},
		{name: "lone cr kept", in: "a\rb\n", want: "a\rb\n"},
		{name: "cr run before lf", in: "a\r\r\r\nb\n", want: "a\nb\n"},
		{name: "cr run inside", in: "a\r\r\rb\n", want: "a\r\r\rb\n"},
		{name: "cr at eof", in: "a\r", want: "a\n"},
		{name: "only cr", in: "\r", want: "\n"},
		{name: "only lf", in: "\n", want: "\n"},
		{name: "from line", in: "From alice@example.org  Sun Nov 22 00:30:46 2026\nSubject: a\n\nb\n",
			want: "Subject: a\n\nb\n", sender: "alice@example.org", hasFrom: true},
		{name: "from line crlf", in: "From alice@example.org  Sun Nov 22 00:30:46 2026\r\nSubject: a\r\n\r\nb\r\n",
			want: "Subject: a\n\nb\n", sender: "alice@example.org", hasFrom: true},
		{name: "from line with sender only, crlf", in: "From alice@example.org\r\nX: y\r\n",
			want: "X: y\n", sender: "alice@example.org", hasFrom: true},
		{name: "only a from line", in: "From bob@x  Sun Nov 22 00:30:46 2026\n", want: "", sender: "bob@x", hasFrom: true},
		{name: "only a from line, no newline", in: "From bob@x  Sun Nov 22 00:30:46 2026", want: "", sender: "bob@x", hasFrom: true},
		{name: "only a from line, crlf", in: "From bob@x\r\n", want: "", sender: "bob@x", hasFrom: true},
		{name: "only a from line, cr", in: "From bob@x\r", want: "", sender: "bob@x", hasFrom: true},
		{name: "mailer-daemon", in: "From MAILER-DAEMON  Sun Nov 22 00:30:46 2026\nX: y\n",
			want: "X: y\n", sender: "MAILER-DAEMON", hasFrom: true},
		{name: "empty sender", in: "From  Sun Nov 22 00:30:46 2026\nX: y\n", want: "X: y\n", sender: "", hasFrom: true},
		{name: "quoted sender with space", in: "From \"john doe\"@example.org  Sun Nov 22 00:30:46 2026\nX: y\n",
			want: "X: y\n", sender: `"john doe"@example.org`, hasFrom: true},
		{name: "quoted pair", in: "From \"a\\\" b\"@x Sun\n", want: "", sender: `"a\" b"@x`, hasFrom: true},
		{name: "tab after sender", in: "From a@x\tSun\n", want: "", sender: "a@x", hasFrom: true},
		{name: "second from line kept", in: "From a@x Sun\nFrom b@x Mon\n", want: "From b@x Mon\n", sender: "a@x", hasFrom: true},
		{name: "quoted from kept", in: ">From a@x Sun\n", want: ">From a@x Sun\n"},
		{name: "From without space", in: "From:a@x\n\nb\n", want: "From:a@x\n\nb\n"},
		{name: "From with tab", in: "From\ta@x\n", want: "From\ta@x\n"},
		{name: "prefix of From only", in: "Fro", want: "Fro\n"},
		{name: "F then crlf", in: "F\r\n", want: "F\n"},
		{name: "long line", in: long + "\r\n" + long, want: long + "\n" + long + "\n"},
		{name: "long from line", in: "From a@x " + long + "\nX: y\n", want: "X: y\n", sender: "a@x", hasFrom: true},
		{name: "long from sender cut", in: "From " + long + "\n", want: "", sender: long[:maxFromLine-5], hasFrom: true},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"onebyte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"dataerr", iotest.DataErrReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			for _, memMax := range []int{0, 7, 1 << 30} {
				if rd.name == "onebyte" && len(tt.in) > 1<<16 && memMax != 7 {
					continue // the same path again, slowly
				}
				s, err := NewSpool(rd.wrap(strings.NewReader(tt.in)), t.TempDir(), memMax)
				if err != nil {
					t.Fatalf("%s/%s/%d: %v", tt.name, rd.name, memMax, err)
				}
				got, err := io.ReadAll(s.Open())
				if err != nil {
					t.Fatalf("%s/%s/%d: read: %v", tt.name, rd.name, memMax, err)
				}
				if string(got) != tt.want {
					t.Errorf("%s/%s/%d: got %q, want %q", tt.name, rd.name, memMax, trunc(got), trunc([]byte(tt.want)))
				}
				if s.Size() != int64(len(tt.want)) {
					t.Errorf("%s/%s/%d: Size %d, want %d", tt.name, rd.name, memMax, s.Size(), len(tt.want))
				}
				sender, ok := s.FromSender()
				if sender != tt.sender || ok != tt.hasFrom {
					t.Errorf("%s/%s/%d: FromSender %q %v, want %q %v", tt.name, rd.name, memMax, trunc([]byte(sender)), ok, trunc([]byte(tt.sender)), tt.hasFrom)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func trunc(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// chunkReader returns its chunks one per Read, so a test can put a CR at
// the end of one read and its LF at the start of the next.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func TestSpoolCRLFAcrossReads(t *testing.T) {
	a := strings.Repeat("a", spoolBuf-1)
	tests := []struct {
		chunks []string
		want   string
	}{
		{[]string{"x\r", "\ny\n"}, "x\ny\n"},
		{[]string{"x\r", "\r", "\r", "\ny\n"}, "x\ny\n"},
		{[]string{"x\r", "y\n"}, "x\ry\n"},
		{[]string{"x\r", "\r", "y\n"}, "x\r\ry\n"},
		{[]string{"x\r"}, "x\n"},
		{[]string{"Fr", "om a@x\r", "\nb\r", "\n"}, "b\n"},
		{[]string{"From a@x", "\r", "\n", "b"}, "b\n"},
		// At the read buffer's boundary: NewSpool reads spoolBuf bytes.
		{[]string{a + "\r" + "\nb\n"}, a + "\nb\n"},
		{[]string{a + "\r", "\nb\n"}, a + "\nb\n"},
		{[]string{a + "\r" + "xb\r\n"}, a + "\rxb\n"},
		// At the output buffer's boundary: a CR run flushed across it.
		{[]string{a + "\r\r\rx\n"}, a + "\r\r\rx\n"},
	}
	for i, tt := range tests {
		name := strings.Join(tt.chunks, "|")
		s, err := NewSpool(&chunkReader{chunks: append([]string(nil), tt.chunks...)}, t.TempDir(), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(s.Open())
		if string(got) != tt.want {
			t.Errorf("%d %q: got %q, want %q", i, trunc([]byte(name)), trunc(got), trunc([]byte(tt.want)))
		}
		s.Close()
	}
}

func TestSpoolCRRunLong(t *testing.T) {
	in := "x" + strings.Repeat("\r", 3*spoolBuf+5) + "y\n" + strings.Repeat("\r", 2*spoolBuf) + "\n"
	s, err := NewSpool(strings.NewReader(in), t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := "x" + strings.Repeat("\r", 3*spoolBuf+5) + "y\n\n"
	got, _ := io.ReadAll(s.Open())
	if string(got) != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestSpoolOpenTwice(t *testing.T) {
	for _, memMax := range []int{0, 1 << 20} {
		s, err := NewSpool(strings.NewReader("a\nb\n"), t.TempDir(), memMax)
		if err != nil {
			t.Fatal(err)
		}
		r1, r2 := s.Open(), s.Open()
		b1 := make([]byte, 2)
		io.ReadFull(r1, b1)
		all, _ := io.ReadAll(r2)
		rest, _ := io.ReadAll(r1)
		if string(b1) != "a\n" || string(all) != "a\nb\n" || string(rest) != "b\n" {
			t.Fatalf("memMax %d: readers not independent: %q %q %q", memMax, b1, all, rest)
		}
		s.Close()
	}
}

// TestSpoolFileLeavesNothing checks that a spilled message leaves no name
// in the directory, on success and on a read error.
func TestSpoolFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool(strings.NewReader(strings.Repeat("line\n", 1000)), dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if s.f == nil {
		t.Fatal("a message larger than memMax stayed in memory")
	}
	if s.mem != nil {
		t.Fatal("memory kept after spilling to the file")
	}
	assertEmpty(t, dir)
	s.Close()

	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(strings.Repeat("line\n", 1000)), iotest.ErrReader(boom))
	if _, err := NewSpool(r, dir, 100); !errors.Is(err, boom) {
		t.Fatalf("read error: got %v", err)
	}
	assertEmpty(t, dir)
}

func TestSpoolFallbackAndErrors(t *testing.T) {
	// The fallback for filesystems without O_TMPFILE leaves no name.
	dir := t.TempDir()
	f, err := createUnlinked(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, dir)
	f.Close()
	// A directory that does not exist is an error, not a fallback.
	if _, err := NewSpool(strings.NewReader("abc\n"), dir+"/missing", 0); err == nil {
		t.Fatal("spooling into a missing directory succeeded")
	}
	// A small message never touches dir.
	if _, err := NewSpool(strings.NewReader("abc\n"), dir+"/missing", 100); err != nil {
		t.Fatalf("small message: %v", err)
	}
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("left in %s: %v", dir, ents)
	}
}

// bigReader produces n bytes of CRLF lines and samples the heap as it goes.
type bigReader struct {
	n, done  int64
	line     []byte
	off      int
	maxHeap  uint64
	nextPeek int64
}

func (b *bigReader) Read(p []byte) (int, error) {
	if b.done >= b.n {
		return 0, io.EOF
	}
	if b.done >= b.nextPeek {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.maxHeap = max(b.maxHeap, ms.HeapInuse)
		b.nextPeek += 4 << 20
	}
	p = p[:min(int64(len(p)), b.n-b.done)]
	for n := 0; n < len(p); {
		k := copy(p[n:], b.line[b.off:])
		n += k
		b.off = (b.off + k) % len(b.line)
	}
	b.done += int64(len(p))
	return len(p), nil
}

func TestSpoolBigMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB")
	}
	const size = 100 << 20 / 72 * 72 // whole lines of 72 bytes
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	line := []byte(strings.Repeat("0123456789", 7) + "\r\n") // 72 bytes, 71 after
	r := &bigReader{n: size, line: line}
	s, err := NewSpool(r, t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := int64(size / len(line) * (len(line) - 1)); s.Size() != want {
		t.Fatalf("Size %d, want %d", s.Size(), want)
	}
	delta := int64(r.maxHeap) - int64(before.HeapInuse)
	t.Logf("peak heap in use grew by %d KiB", delta>>10)
	if delta > 16<<20 {
		t.Fatalf("heap grew by %d MiB while spooling 100 MB", delta>>20)
	}
	// The content is intact at the end.
	tail := make([]byte, 71)
	if _, err := s.Open().(io.ReaderAt).ReadAt(tail, s.Size()-71); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tail, append(line[:70:70], '\n')) {
		t.Fatalf("tail %q", tail)
	}
}
