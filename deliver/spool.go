package deliver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"letterbox/header"
	"letterbox/mbox"
)

// spoolBuf is the size of the read and write buffers of NewSpool: the memory
// a spool uses beyond memMax, whatever the size of the message.
const spoolBuf = 64 << 10

// minSpoolBuf is the size those buffers start at.
const minSpoolBuf = 4 << 10

// maxFromLine bounds how much of a leading From_ line is kept to find its
// sender; the rest of the line is read and dropped. An address is at most
// MaxAddressLen bytes, so a longer sender is refused anyway.
const maxFromLine = 4 << 10

// Spool is one message read to EOF and normalised: no leading From_ line,
// LF line ends, a final newline. It is in memory when small and in an
// unlinked temporary file otherwise. A Spool is not safe for concurrent
// use, but the readers Open returns may be used concurrently.
type Spool struct {
	mem  []byte   // the message, when f is nil
	f    *os.File // the unlinked temporary file, or nil
	size int64

	sender  string // the sender token of the stripped From_ line
	hasFrom bool
}

// NewSpool reads r to EOF and normalises the message on the way:
//
//   - A leading "From " line (the one Postfix's mailbox_command and pipe
//     flag F send) is removed, and its sender token is kept for FromSender.
//     Only the first line is looked at; ">From " and a later "From " are
//     message content.
//   - Every run of CRs directly before an LF is removed, so the result has
//     no CR LF line ends; a CR anywhere else is kept. A run of CRs at the
//     very end is taken for the line end of an incomplete last line.
//   - An incomplete last line gets a newline.
//
// An empty message (or one that was only a From_ line) is not an error: its
// Size is 0, and the caller decides whether to deliver it (Postfix does).
//
// Up to memMax bytes of the normalised message are held in memory; a larger
// message goes to an unlinked temporary file in dir (os.TempDir() if dir is
// ""), created with O_TMPFILE where the filesystem supports it and by create
// and unlink elsewhere. Memory use does not grow with the message. On error
// nothing is left on disk. The caller owes a Close on success.
func NewSpool(r io.Reader, dir string, memMax int) (*Spool, error) {
	return newSpool(r, dir, memMax, 0)
}

// ErrTooLarge reports a message that grew past the most a spool may hold.
var ErrTooLarge = errors.New("message too large")

// newSpool is NewSpool that stops reading, with an error wrapping
// ErrTooLarge, once the normalised message exceeds max bytes (max > 0): a
// message that cannot be delivered is not first written to the temporary
// directory to its end, which a large one would fill.
func newSpool(r io.Reader, dir string, memMax int, max int64) (*Spool, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	s := &Spool{}
	w := &spoolWriter{s: s, dir: dir, memMax: memMax, max: max}
	// The buffers start small and double as the message proves large,
	// up to spoolBuf: most messages are a few KiB, and a delivery that
	// allocates 128 KiB for each of them keeps the collector busy (the LMTP
	// server's throughput).
	n := normalizer{w: w, out: make([]byte, 0, minSpoolBuf)}
	n.lf = header.LFWriter{W: outWriter{&n}, CRs: header.CRRun}
	buf := make([]byte, minSpoolBuf)
	for {
		k, rerr := r.Read(buf)
		if err := n.write(buf[:k]); err != nil {
			s.Close()
			return nil, fmt.Errorf("spool message: %w", err)
		}
		if k == len(buf) && k < spoolBuf {
			buf = make([]byte, min(2*k, spoolBuf)) // a fresh one: nothing holds the old
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.Close()
			return nil, fmt.Errorf("spool message: read: %w", rerr)
		}
	}
	if err := n.finish(); err != nil {
		s.Close()
		return nil, fmt.Errorf("spool message: %w", err)
	}
	s.sender, s.hasFrom = n.sender, n.hasFrom
	return s, nil
}

// Size is the number of bytes of the normalised message.
func (s *Spool) Size() int64 { return s.size }

// FromSender is the sender token of the leading From_ line that NewSpool
// removed, as written there (a quoted local part keeps its quotes and
// spaces), and whether there was one. The caller maps "MAILER-DAEMON", ""
// and "<>" to the null sender; Resolve does.
func (s *Spool) FromSender() (sender string, ok bool) { return s.sender, s.hasFrom }

// Open returns a new reader of the normalised message from its start. Each
// call gives an independent reader. It must not be used after Close.
func (s *Spool) Open() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// Close releases the memory and the temporary file. The file was unlinked
// when it was created, so closing it frees its blocks.
func (s *Spool) Close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// spoolWriter appends to the spool's memory until memMax, then moves
// everything to a temporary file and appends there.
type spoolWriter struct {
	s      *Spool
	dir    string
	memMax int
	max    int64 // refuse more than this; 0: no limit
}

func (w *spoolWriter) Write(p []byte) (int, error) {
	s := w.s
	if w.max > 0 && s.size+int64(len(p)) > w.max {
		return 0, fmt.Errorf("more than %d bytes: %w", w.max, ErrTooLarge)
	}
	if s.f == nil && len(s.mem)+len(p) <= w.memMax {
		s.mem = append(s.mem, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	if s.f == nil {
		f, err := tempFile(w.dir)
		if err != nil {
			return 0, err
		}
		s.f = f
		if _, err := f.Write(s.mem); err != nil {
			return 0, fmt.Errorf("write spool file: %w", err)
		}
		// From here on the file holds the message: let the memory go, so a
		// large message costs no more than the buffers.
		s.mem = nil
	}
	// os.File.Write loops over short writes and reports why one stopped.
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write spool file: %w", err)
	}
	return n, nil
}

// tempFile creates an anonymous file in dir, readable and writable, that
// disappears when closed.
func tempFile(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return f, nil
	}
	// EOPNOTSUPP: the filesystem has no O_TMPFILE (NFS before 4.2, some
	// FUSE). EISDIR: a kernel before 3.11 saw only O_DIRECTORY. EINVAL:
	// the flag combination was refused. Anything else (EACCES, ENOENT,
	// ENOSPC) would fail the fallback as well and is reported as it is.
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	return createUnlinked(dir)
}

// createUnlinked creates a file in dir and unlinks it at once.
func createUnlinked(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".letterbox-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		// A name we cannot unlink would outlive us: give up on it.
		f.Close()
		return nil, fmt.Errorf("unlink spool file: %w", err)
	}
	return f, nil
}

// normalizer states: the first line is held until it is known whether it is
// a From_ line.
const (
	inFirstLine = iota // the first bytes of the message, all matching "From "
	inFromLine         // the rest of a leading From_ line, dropped
	inBody             // everything else, normalised and written
)

// normalizer turns the input into the normalised message and writes it to
// w in chunks of at most spoolBuf bytes. Its state is O(1) in the input: a
// CR count (in lf), the start of the first line (at most maxFromLine bytes)
// and the output buffer.
type normalizer struct {
	w     io.Writer
	out   []byte // pending output, flushed when full
	state int
	line  []byte          // the first line, while state is inFirstLine or inFromLine
	lf    header.LFWriter // normalises line ends, writing to out

	sender  string
	hasFrom bool
}

func (n *normalizer) write(p []byte) error {
	for len(n.line) < len(mbox.FromPrefix) && n.state == inFirstLine && len(p) > 0 {
		c := p[0]
		if c != mbox.FromPrefix[len(n.line)] {
			// Not a From_ line: the held bytes are ordinary content.
			n.state = inBody
			if err := n.body(n.line); err != nil {
				return err
			}
			n.line = nil
			break
		}
		n.line = append(n.line, c)
		p = p[1:]
		if len(n.line) == len(mbox.FromPrefix) {
			n.state = inFromLine
		}
	}
	if n.state == inFromLine {
		i := bytes.IndexByte(p, '\n')
		rest := p
		if i >= 0 {
			rest = p[:i]
		}
		if k := min(len(rest), maxFromLine-len(n.line)); k > 0 {
			n.line = append(n.line, rest[:k]...)
		}
		if i < 0 {
			return nil
		}
		n.sender, n.hasFrom = fromSender(n.line), true
		n.line = nil
		n.state = inBody
		p = p[i+1:]
	}
	if n.state == inFirstLine {
		return nil // all of p matched the start of "From "
	}
	return n.body(p)
}

// body normalises p, which follows what was already written.
func (n *normalizer) body(p []byte) error {
	_, err := n.lf.Write(p)
	return err
}

// outWriter is the normalizer's output buffer as the io.Writer of its
// LFWriter.
type outWriter struct{ n *normalizer }

func (o outWriter) Write(p []byte) (int, error) { return len(p), o.n.put(p) }

// put appends p to the output buffer, flushing it whenever it fills.
func (n *normalizer) put(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	for len(p) > 0 {
		k := copy(n.out[len(n.out):cap(n.out)], p)
		n.out = n.out[:len(n.out)+k]
		p = p[k:]
		if len(n.out) == cap(n.out) {
			if err := n.flush(); err != nil {
				return err
			}
			// A message that fills the buffer may be large: batch more.
			if c := cap(n.out); c < spoolBuf {
				n.out = make([]byte, 0, min(2*c, spoolBuf))
			}
		}
	}
	return nil
}

func (n *normalizer) flush() error {
	if len(n.out) == 0 {
		return nil
	}
	_, err := n.w.Write(n.out)
	n.out = n.out[:0]
	return err
}

// finish ends the input: it completes an incomplete last line and writes
// what is buffered.
func (n *normalizer) finish() error {
	switch n.state {
	case inFirstLine:
		// The whole input was a prefix of "From " (or empty): content.
		n.state = inBody
		if err := n.body(n.line); err != nil {
			return err
		}
		n.line = nil
	case inFromLine:
		// A From_ line without a newline, and nothing after it.
		n.sender, n.hasFrom = fromSender(n.line), true
		n.line = nil
		n.state = inBody
	}
	// "text\r" at EOF is "text\n": header.CRRun.
	if err := n.lf.Close(); err != nil {
		return err
	}
	return n.flush()
}

// fromSender returns the sender token of a From_ line ("From " and the
// rest, without the newline) as mbox.SenderFirstToken finds it: Postfix
// writes `From "john doe"@example.org  Sun Nov 22 ...`. CRs at the end (a
// From_ line that came with CR LF) are the line end's, as in the body.
func fromSender(line []byte) string {
	rest := bytes.TrimRight(line[len(mbox.FromPrefix):], "\r")
	sender, _, _ := mbox.ParseFromLine(string(rest), mbox.SenderFirstToken)
	return sender
}
