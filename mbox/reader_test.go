package mbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestReaderGolden")

const testFrom = "From s  Sun Nov 22 09:00:00 2026\n"

// writeMbox writes contents as the writer does: the From_ line, the quoted
// content, one empty line.
func writeMbox(t testing.TB, q Quoting, contents ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, c := range contents {
		b.WriteString(testFrom)
		z := newQuoter(&b, q)
		if _, err := io.WriteString(z, c); err != nil {
			t.Fatal(err)
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

type readMsg struct {
	*Entry
	content string
}

// readAll reads every message of r, in reads of chunk bytes.
func readAll(t testing.TB, r *Reader, chunk int) []readMsg {
	t.Helper()
	var out []readMsg
	buf := make([]byte, chunk)
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d messages: %v", len(out), err)
		}
		var c bytes.Buffer
		for {
			n, err := r.Read(buf)
			c.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n == 0 {
				t.Fatal("Read returned 0, nil")
			}
		}
		if n, err := r.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read after the end: %d, %v", n, err)
		}
		out = append(out, readMsg{m, c.String()})
	}
	if m, err := r.Next(); m != nil || err != io.EOF {
		t.Fatalf("Next after io.EOF: %v, %v", m, err)
	}
	return out
}

// checkLayout checks that the messages tile the stream.
func checkLayout(t testing.TB, msgs []readMsg, size int) {
	t.Helper()
	var off int64
	for i, m := range msgs {
		if m.Offset != off {
			t.Fatalf("message %d at offset %d, want %d", i, m.Offset, off)
		}
		off += m.Length
	}
	if off != int64(size) {
		t.Fatalf("messages cover %d bytes of %d", off, size)
	}
}

// inputs are the ways a stream reaches the reader.
var inputs = []struct {
	name string
	wrap func([]byte) io.Reader
	size int // of the buffer, 0 for the default
}{
	{"bytes.Reader", func(b []byte) io.Reader { return bytes.NewReader(b) }, 0},
	{"pipe", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }, 0},
	{"one byte reads", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }, 0},
	{"half reads", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }, 0},
	{"data with EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }, 0},
	{"small buffer", func(b []byte) io.Reader { return bytes.NewReader(b) }, 64},
	{"small buffer, pipe", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }, 64},
}

func newTestReader(b []byte, q Quoting, in int) *Reader {
	r := inputs[in].wrap(b)
	if inputs[in].size > 0 {
		return newReaderSize(r, q, inputs[in].size)
	}
	return NewReader(r, q)
}

// contents are message contents that are awkward for an mbox.
var contents = []string{
	"",
	"\n",
	"\n\n\n",
	"Subject: x\n\nbody\n",
	"Subject: header only\n",
	"From the first line\n",
	"Subject: x\n\nFrom here\n>From there\n>>From x\n>>>>>>>>From y\n From indented\nFrom\ttab\nFrom\nFro\n>Fro\n>\n>>\n",
	"Subject: x\n\nFrom alice@example.org  Sun Nov 22 09:00:00 2026\nafter a From_ line in the body\n",
	"\n\nempty lines at the start\n",
	"empty lines at the end\n\n\n",
	"Subject: x\n\n\nFrom s  Sun Nov 22 09:00:00 2026\n\n",
	"8-bit \xff\xfe\x80 and NUL \x00\x00 bytes\n\x00From x\n",
	"Subject: long\n\n" + strings.Repeat("x", 1<<20) + "\n",
	"Subject: long quoted\n\n" + strings.Repeat(">", 100000) + "From x\n" + strings.Repeat(">", 70000) + "\n",
	"crlf line ends\r\n\r\nFrom x\r\n\r\n",
	">From\n>From \n",
}

// lossyO is what an mboxo reader returns for content written by an mboxo
// writer: lines that began with ">From " lose their '>'.
func lossyO(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ">From ") {
			lines[i] = l[1:]
		}
	}
	return strings.Join(lines, "")
}

func TestReaderRoundTrip(t *testing.T) {
	for _, q := range []Quoting{MboxRD, MboxO} {
		file := writeMbox(t, q, contents...)
		for in := range inputs {
			for _, chunk := range []int{1, 7, 4096, 1 << 20} {
				if chunk == 1 && in > 0 {
					continue // slow, and not more telling
				}
				t.Run(fmt.Sprintf("%s/%s/%d", q, inputs[in].name, chunk), func(t *testing.T) {
					msgs := readAll(t, newTestReader(file, q, in), chunk)
					if len(msgs) != len(contents) {
						t.Fatalf("%d messages, want %d", len(msgs), len(contents))
					}
					for i, m := range msgs {
						want := contents[i]
						if q == MboxO {
							want = lossyO(want)
						}
						if m.content != want {
							t.Errorf("message %d:\n got %.200q\nwant %.200q", i, m.content, want)
						}
						if m.Truncated || m.Sender != "s" || m.FromLine != testFrom[5:len(testFrom)-1] {
							t.Errorf("message %d: %+v", i, *m.Entry)
						}
					}
					checkLayout(t, msgs, len(file))
				})
			}
		}
	}
}

// withCL puts a Content-Length header for body before it.
func withCL(body string) string {
	return fmt.Sprintf("Content-Length: %d\n\n%s", len(body), body)
}

// mboxcl2 bodies are not quoted; Content-Length keeps "From " lines after
// empty lines in the body.
func TestReaderCL2(t *testing.T) {
	var cs []string
	for _, c := range contents {
		_, body, ok := strings.Cut(c, "\n\n")
		if !ok || len(body) > 50000 {
			body = c
		}
		cs = append(cs, fmt.Sprintf("Content-Length: %d\nSubject: y\n\n%s", len(body), body))
	}
	cs = append(cs, "Content-Length: 0\n\n", "Content-Length: 6\nContent-Length: 6\n\nFrom \n")
	big := withCL(strings.Repeat("From me\n\n", 20000) + "\n")
	unchecked := cs // where a big body cannot be checked
	cs = append(cs, big)
	file := writeMbox(t, MboxCL2, cs...)
	for in := range inputs {
		_, seekable := inputs[in].wrap(nil).(io.Seeker)
		if inputs[in].size > 0 && !seekable {
			continue // most bodies cannot be checked: TestReaderFromRule
		}
		t.Run(inputs[in].name, func(t *testing.T) {
			msgs := readAll(t, newTestReader(file, MboxCL2, in), 4096)
			checkLayout(t, msgs, len(file))
			want := cs
			if !seekable {
				// The big body is split at each From_ line after an
				// empty line: a header-only message and 20000 more.
				want = unchecked
				if len(msgs) != len(cs)+20000 {
					t.Fatalf("%d messages, want %d", len(msgs), len(cs)+20000)
				}
				msgs = msgs[:len(unchecked)]
			}
			if len(msgs) != len(want) {
				t.Fatalf("%d messages, want %d", len(msgs), len(want))
			}
			for i, m := range msgs {
				if m.content != want[i] {
					t.Errorf("message %d:\n got %.200q\nwant %.200q", i, m.content, want[i])
				}
				if m.Truncated {
					t.Errorf("message %d truncated", i)
				}
			}
		})
	}
}

// A file read from an offset: Content-Length of a large body is checked
// with ReadAt relative to where reading started.
func TestReaderCL2File(t *testing.T) {
	big := withCL(strings.Repeat("From me\n\n", 20000))
	prefix := "not read by the Reader\n"
	path := filepath.Join(t.TempDir(), "mbox")
	if err := os.WriteFile(path, append([]byte(prefix), writeMbox(t, MboxCL2, big, "S: x\n\nsmall\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(int64(len(prefix)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, NewReader(f, MboxCL2), 1000)
	if len(msgs) != 2 || msgs[0].content != big || msgs[1].content != "S: x\n\nsmall\n" || msgs[0].Truncated || msgs[1].Truncated {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[0].Offset != 0 {
		t.Fatalf("offset %d: offsets count from where reading started", msgs[0].Offset)
	}
}

func TestReaderGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		q    Quoting
	}{
		{"mboxo.mbox", MboxO},
		{"mboxo.mbox", MboxRD},
		{"crlf.mbox", MboxRD},
		{"cl2.mbox", MboxCL2},
	} {
		t.Run(tc.file+"/"+tc.q.String(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(tc.file, ".mbox")+"."+tc.q.String()+".golden")
			var out strings.Builder
			for in := range inputs {
				if _, seekable := inputs[in].wrap(nil).(io.Seeker); tc.q == MboxCL2 && inputs[in].size > 0 && !seekable {
					continue // the bodies are too large to be checked
				}
				msgs := readAll(t, newTestReader(data, tc.q, in), 5)
				checkLayout(t, msgs, len(data))
				var b strings.Builder
				for _, m := range msgs {
					fmt.Fprintf(&b, "== offset %d length %d truncated %v\nfrom %q\nsender %q\ndate %s\n%q\n",
						m.Offset, m.Length, m.Truncated, m.FromLine, m.Sender, m.Date.Format(time.DateTime), m.content)
				}
				if in == 0 {
					out.WriteString(b.String())
				} else if b.String() != out.String() {
					t.Fatalf("%s reads differently:\n%s\nwant\n%s", inputs[in].name, b.String(), out.String())
				}
			}
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}

// What splits a message and what does not.
func TestReaderFromRule(t *testing.T) {
	const real = "From bob  Sun Nov 22 09:00:00 2026\n"
	for _, tc := range []struct {
		name string
		q    Quoting
		file string
		want []string // contents; a trailing "!" marks a truncated message
	}{
		{"cl2 with Content-Length: a From_ line after text is content", MboxCL2,
			testFrom + withCL("text\n"+real+"more\n") + "\n",
			[]string{withCL("text\n" + real + "more\n")}},
		{"cl2 with Content-Length: a From_ line after an empty line is content", MboxCL2,
			testFrom + withCL("text\n\n"+real+"more\n") + "\n",
			[]string{withCL("text\n\n" + real + "more\n")}},
		{"cl2 with Content-Length: the body begins with a From_ line", MboxCL2,
			testFrom + withCL(real) + "\n",
			[]string{withCL(real)}},
		{"cl2 without Content-Length: only the strict rule", MboxCL2,
			testFrom + "S: x\n\ntext\n" + real + "more\n\n" + real + "next\n\n",
			[]string{"S: x\n\ntext\n" + real + "more\n", "next\n"}},
		{"cl2: a Content-Length that is too short", MboxCL2,
			testFrom + "Content-Length: 3\n\ntext\n\n" + real + "\n",
			[]string{"Content-Length: 3\n\ntext\n", ""}},
		{"cl2: a Content-Length that is too long", MboxCL2,
			testFrom + "Content-Length: 99\n\ntext\n\n" + real + "\n",
			[]string{"Content-Length: 99\n\ntext\n", ""}},
		{"cl2: Content-Length headers that disagree", MboxCL2,
			testFrom + "Content-Length: 13\nContent-Length: 12\n\ntext\n\nFrom y\n\n",
			[]string{"Content-Length: 13\nContent-Length: 12\n\ntext\n", ""}},
		{"cl2: a Content-Length that is not a number", MboxCL2,
			testFrom + "Content-Length: +6\n\ntext\n\nFrom y\n\n",
			[]string{"Content-Length: +6\n\ntext\n", ""}},
		{"cl2: a huge Content-Length", MboxCL2,
			testFrom + "Content-Length: 9223372036854775807\n\ntext\n\n",
			[]string{"Content-Length: 9223372036854775807\n\ntext\n"}},
		{"cl2: a Content-Length beyond int64", MboxCL2,
			testFrom + "Content-Length: 99999999999999999999\n\ntext\n\n",
			[]string{"Content-Length: 99999999999999999999\n\ntext\n"}},
		{"cl2: Content-Length in the body is not used", MboxCL2,
			testFrom + "S: x\n\nContent-Length: 0\n\nFrom y\n\n",
			[]string{"S: x\n\nContent-Length: 0\n", ""}},
		{"cl2: the separator may be missing at the end", MboxCL2,
			testFrom + "Content-Length: 7\n\nFrom x\n",
			[]string{"Content-Length: 7\n\nFrom x\n!"}},
		{"rd: a From line after text that is not a From_ line", MboxRD,
			testFrom + "text\nFrom here on\nFrom bob  Sun Nov 22 09:00:00 2026 and more\nFrom bob\n\n",
			[]string{"text\nFrom here on\nFrom bob  Sun Nov 22 09:00:00 2026 and more\nFrom bob\n"}},
		{"rd: a real From_ line after text", MboxRD,
			testFrom + "text\n" + real + "next\n\n",
			[]string{"text\n!", "next\n"}},
		{"o: a real From_ line after text", MboxO,
			testFrom + "text\n" + real + "next\n\n",
			[]string{"text\n!", "next\n"}},
		{"rd: a real From_ line right after the From_ line", MboxRD,
			testFrom + real + "next\n\n",
			[]string{"!", "next\n"}},
		{"rd: a From_ line too long to be real", MboxRD,
			testFrom + "text\nFrom bob  Sun Nov 22 09:00:00 2026 remote from " + strings.Repeat("x", 1000) + "\n\n",
			[]string{"text\nFrom bob  Sun Nov 22 09:00:00 2026 remote from " + strings.Repeat("x", 1000) + "\n"}},
		{"rd: after an empty line any From line splits", MboxRD,
			testFrom + "text\n\nFrom here\n\n",
			[]string{"text\n", ""}},
		{"two empty lines before a From_ line", MboxRD,
			testFrom + "text\n\n\n" + real + "\n",
			[]string{"text\n\n", ""}},
		{"crlf empty line separates", MboxRD,
			testFrom + "text\r\n\r\nFrom x\r\n\r\n",
			[]string{"text\r\n", ""}},
		{"a lone CR is not an empty line", MboxRD,
			testFrom + "text\n\r\nFrom x\n\r\r\nFrom y\n\n",
			[]string{"text\n", "\r\r\nFrom y\n"}},
		{"truncated in the middle of a line", MboxRD,
			testFrom + "S: x\n\nbod",
			[]string{"S: x\n\nbod!"}},
		{"truncated after a line", MboxRD,
			testFrom + "S: x\n\nbody\n",
			[]string{"S: x\n\nbody\n!"}},
		{"truncated after a quoting '>'", MboxRD,
			testFrom + "S: x\n\n>>",
			[]string{"S: x\n\n>>!"}},
		{"truncated in a quoted From", MboxRD,
			testFrom + "S: x\n\n>>From",
			[]string{"S: x\n\n>>From!"}},
		{"truncated after a quoted From", MboxRD,
			testFrom + "S: x\n\n>>From ",
			[]string{"S: x\n\n>From !"}},
		{"nothing after the From_ line", MboxRD,
			testFrom,
			[]string{"!"}},
		{"no newline after the From_ line", MboxRD,
			testFrom[:len(testFrom)-1],
			[]string{"!"}},
		{"empty message", MboxRD,
			testFrom + "\n",
			[]string{""}},
		{"leading empty lines", MboxRD,
			"\n\r\n\n" + testFrom + "x\n\n",
			[]string{"x\n"}},
		{"empty", MboxRD, "", nil},
		{"only empty lines", MboxRD, "\n\n", nil},
	} {
		for in := range inputs {
			t.Run(tc.name+"/"+inputs[in].name, func(t *testing.T) {
				var got []string
				for _, m := range readAll(t, newTestReader([]byte(tc.file), tc.q, in), 3) {
					if m.Truncated {
						m.content += "!"
					}
					got = append(got, m.content)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
					t.Fatalf("got  %q\nwant %q", got, tc.want)
				}
			})
		}
	}
}

// Offsets and lengths tile the file, whatever ends the messages.
func TestReaderLayout(t *testing.T) {
	file := "\n\n" + testFrom + "a\n\n" + testFrom + "b\nFrom x  Sun Nov 22 09:00:00 2026\nc\n\n\n" + testFrom + "d"
	msgs := readAll(t, NewReader(strings.NewReader(file), MboxRD), 100)
	if len(msgs) != 4 {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[0].Offset != 2 {
		t.Fatalf("first message at %d", msgs[0].Offset)
	}
	msgs[0].Offset, msgs[0].Length = 0, msgs[0].Length+2
	checkLayout(t, msgs, len(file))
	for i, want := range []bool{false, true, false, true} {
		if msgs[i].Truncated != want {
			t.Errorf("message %d truncated %v", i, msgs[i].Truncated)
		}
	}
}

// Data before the first From_ line is reported, skipped, and reading goes on.
func TestReaderFormatError(t *testing.T) {
	file := "x\n\n" + testFrom + "a\n\n"
	r := NewReader(strings.NewReader(file), MboxRD)
	_, err := r.Next()
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 0 || fe.Length != 3 {
		t.Fatalf("got %v", err)
	}
	msgs := readAll(t, r, 10)
	if len(msgs) != 1 || msgs[0].content != "a\n" || msgs[0].Offset != 3 {
		t.Fatalf("got %+v", msgs)
	}
}

// Next skips what was not read; Read outside a message says io.EOF.
func TestReaderSkip(t *testing.T) {
	file := writeMbox(t, MboxRD, "S: a\n\n"+strings.Repeat("From x\n", 10000), "S: b\n\nb\n", "S: c\n")
	r := NewReader(bytes.NewReader(file), MboxRD)
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read before Next: %d, %v", n, err)
	}
	a, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	if n, err := io.ReadFull(r, buf); err != nil || string(buf[:n]) != "S: a\n\nFro" {
		t.Fatalf("%q, %v", buf[:n], err)
	}
	if a.Length != 0 {
		t.Fatal("Length set before the end")
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if a.Length != b.Offset || a.Truncated {
		t.Fatalf("first message: %+v, second at %d", *a, b.Offset)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatal(err)
	}
}

// An error of the underlying reader is returned, and stays.
func TestReaderError(t *testing.T) {
	file := writeMbox(t, MboxRD, "S: a\n\n"+strings.Repeat("line\n", 1000), "S: b\n")
	boom := errors.New("boom")
	for _, cut := range []int{0, 3, len(testFrom) + 1, 2000, len(file) - 2} {
		r := NewReader(io.MultiReader(bytes.NewReader(file[:cut]), iotest.ErrReader(boom)), MboxRD)
		var err error
		for err == nil {
			_, err = r.Next()
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
		}
		if !errors.Is(err, boom) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Fatalf("cut at %d: then %v", cut, err)
		}
		if _, err := r.Read(make([]byte, 1)); !errors.Is(err, boom) {
			t.Fatalf("cut at %d: then %v", cut, err)
		}
	}
}

// gen streams parts without holding them: each part is s repeated n times.
type gen struct {
	parts []part
	off   int
}

type part struct {
	s string
	n int
}

func (g *gen) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && len(g.parts) > 0 {
		pt := &g.parts[0]
		k := copy(p, pt.s[g.off:])
		p, total, g.off = p[k:], total+k, g.off+k
		if g.off == len(pt.s) {
			g.off = 0
			if pt.n--; pt.n == 0 {
				g.parts = g.parts[1:]
			}
		}
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

func crc(t testing.TB, r io.Reader) (uint32, int64) {
	h := crc32.NewIEEE()
	n, err := io.CopyBuffer(h, r, make([]byte, 32<<10))
	if err != nil {
		t.Fatal(err)
	}
	return h.Sum32(), n
}

// Huge messages, lines and runs of '>' stream in constant memory.
func TestReaderLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	line := "From a line of the body, quoted in the file, and long enough to be quick\n"
	for _, tc := range []struct {
		name       string
		file, want []part
	}{
		{"50 MB message",
			[]part{{testFrom + "S: x\n\n", 1}, {">" + line + "text\n", 50 << 20 / (len(line) + 6)}, {"\n", 1}},
			[]part{{"S: x\n\n", 1}, {line + "text\n", 50 << 20 / (len(line) + 6)}}},
		{"100 MB line",
			[]part{{testFrom, 1}, {strings.Repeat("y", 1<<20), 100}, {"\n\n", 1}},
			[]part{{strings.Repeat("y", 1<<20), 100}, {"\n", 1}}},
		{"10 MB of '>' before From",
			[]part{{testFrom, 1}, {strings.Repeat(">", 1<<20), 10}, {"From x\n\n", 1}},
			[]part{{strings.Repeat(">", 1<<20), 9}, {strings.Repeat(">", 1<<20-1), 1}, {"From x\n", 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantSum, wantN := crc(t, &gen{parts: tc.want})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := NewReader(&gen{parts: tc.file}, MboxRD)
			m, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			sum, n := crc(t, r)
			runtime.ReadMemStats(&after)
			if sum != wantSum || n != wantN {
				t.Fatalf("read %d bytes, want %d; checksums differ: %v", n, wantN, sum != wantSum)
			}
			if _, err := r.Next(); err != io.EOF || m.Truncated {
				t.Fatalf("%v, %+v", err, *m)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
				t.Fatalf("allocated %d bytes", alloc)
			} else {
				t.Logf("allocated %d bytes", alloc)
			}
		})
	}
}

// Python's mailbox.mbox, an independent reader, finds the same messages.
// It splits at every "From " line and does not un-quote, so it gets the
// quoted content of an mboxrd file.
func TestReaderPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	if err := exec.Command(py, "-c", "import mailbox").Run(); err != nil {
		t.Skipf("python3 cannot import mailbox: %v", err)
	}
	var cs []string
	for _, c := range contents {
		if !strings.Contains(c, "\r") { // Python's readline keeps a lone CR; fine, but keep it simple
			cs = append(cs, c)
		}
	}
	file := writeMbox(t, MboxRD, cs...)
	path := filepath.Join(t.TempDir(), "mbox")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
import base64, json, mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
out = []
for key in box.keys():
    out.append({"from": box.get_message(key).get_from(),
                "body": base64.b64encode(box.get_bytes(key)).decode()})
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script, path)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var got []struct{ From, Body string }
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, NewReader(bytes.NewReader(file), MboxRD), 4096)
	if len(got) != len(msgs) || len(msgs) != len(cs) {
		t.Fatalf("python3 found %d messages, we %d, written %d", len(got), len(msgs), len(cs))
	}
	for i, m := range msgs {
		body, _ := base64.StdEncoding.DecodeString(got[i].Body)
		var quoted bytes.Buffer
		z := newQuoter(&quoted, MboxRD)
		io.WriteString(z, m.content)
		z.Close()
		if string(body) != quoted.String() {
			t.Errorf("message %d: python3 %.100q, we (quoted) %.100q", i, body, quoted.String())
		}
		if got[i].From != m.FromLine {
			t.Errorf("message %d: python3 From %q, we %q", i, got[i].From, m.FromLine)
		}
	}
}

func TestDetectQuoting(t *testing.T) {
	cl2 := testFrom + withCL("From x\n\nFrom y\n") + "\n" + testFrom + "S: header only\n\n" + testFrom + withCL("") + "\n" + testFrom + withCL("abc\n") + "\n"
	bad := cl2 + testFrom + "Content-Length: 1\n\nab\n\n"
	// The body claimed by Content-Length starts with an unquoted From line,
	// which ends the message at its header: the length is wrong all the same.
	badFrom := cl2 + testFrom + "Content-Length: 3\n\nFrom x\nmore\n\n"
	for _, tc := range []struct {
		name string
		r    io.Reader
		want Quoting
	}{
		{"empty", strings.NewReader(""), MboxRD},
		{"mboxrd", bytes.NewReader(writeMbox(t, MboxRD, contents...)), MboxRD},
		{"mboxo", bytes.NewReader(writeMbox(t, MboxO, contents...)), MboxRD},
		{"mboxcl2", strings.NewReader(cl2), MboxCL2},
		{"a wrong Content-Length", strings.NewReader(bad), MboxRD},
		{"a wrong Content-Length before a From line", strings.NewReader(badFrom), MboxRD},
		{"a prefix cutting a body", io.LimitReader(strings.NewReader(cl2), int64(len(cl2)-3)), MboxCL2},
		{"large, seekable", bytes.NewReader(writeMbox(t, MboxCL2, withCL(strings.Repeat("From me\n\n", 20000)))), MboxCL2},
		{"large, a pipe", struct{ io.Reader }{bytes.NewReader(writeMbox(t, MboxCL2, withCL(strings.Repeat("From me\n\n", 20000))))}, MboxRD},
	} {
		got, err := DetectQuoting(tc.r)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// Any content the writer can write (ending in a newline) reads back.
func FuzzReaderRoundTrip(f *testing.F) {
	f.Add("From x\n\n>From y\n", "\n", uint8(0))
	f.Add("a\r\n\r\n", ">>From \n", uint8(1))
	f.Add("", "From s  Sun Nov 22 09:00:00 2026\n", uint8(2))
	f.Add("x\n\nFrom s  Sun Nov 22 09:00:00 2026\n\n", "\r\n", uint8(2))
	f.Fuzz(func(t *testing.T, a, b string, v uint8) {
		if a != "" && !strings.HasSuffix(a, "\n") {
			a += "\n"
		}
		if b != "" && !strings.HasSuffix(b, "\n") {
			b += "\n"
		}
		q := Quoting(v % 3)
		in := []string{a, b}
		if q == MboxCL2 {
			for i, c := range in {
				in[i] = fmt.Sprintf("Content-Length: %d\n\n%s", len(c), c)
			}
		}
		file := writeMbox(t, q, in...)
		msgs := readAll(t, NewReader(bytes.NewReader(file), q), 3)
		checkLayout(t, msgs, len(file))
		if len(msgs) != 2 {
			t.Fatalf("%d messages", len(msgs))
		}
		for i, m := range msgs {
			want := in[i]
			if q == MboxO {
				want = lossyO(want)
			}
			if m.content != want || m.Truncated {
				t.Fatalf("message %d: got %q, want %q (truncated %v)", i, m.content, want, m.Truncated)
			}
		}
	})
}

func BenchmarkReader(b *testing.B) {
	msg := "Return-Path: <a@b>\nSubject: x\n\n" + strings.Repeat("a line of text in the body of a message, 72 bytes long.............\n", 200) + "From here\n"
	var cs []string
	for range 1000 {
		cs = append(cs, msg)
	}
	file := writeMbox(b, MboxRD, cs...)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(file), MboxRD)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
	}
}
