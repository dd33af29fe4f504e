package convert

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/maildir"
	"letterbox/mailflag"
	"letterbox/mbox"
)

// A Maildir is converted to an mbox in a fixed order: by the names' unique
// part (which begins with the delivery time), so that a message moved from
// new/ to cur/ or renamed with other flags between an interrupted run and
// its re-run keeps its place.

// mdMessage is one message of a Maildir source.
type mdMessage struct {
	path string
	key  string
	st   mailflag.State
}

// listMaildir returns the messages of the Maildir at root in conversion
// order. Only their names are held, never their content.
func listMaildir(s sys.Sys, root string) ([]mdMessage, error) {
	var out []mdMessage
	err := maildir.Walk(s, root, func(m maildir.Message) error {
		out = append(out, mdMessage{path: m.Path, key: m.Key, st: mailflag.FromMaildir(!m.New, m.Flags)})
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, err
}

// mdReader reads Maildir messages rewritten for an mbox.
type mdReader struct {
	s   sys.Sys
	br  *bufio.Reader
	buf []byte
}

func newMdReader(s sys.Sys) *mdReader {
	return &mdReader{s: s, br: bufio.NewReaderSize(nil, lineBuf)}
}

// open opens m and returns its From_ line (the sender of its Return-Path,
// the date of its mtime) and a function that writes it rewritten: Status
// lines for its flags at the end of the header, the private fields of the
// file dropped. The caller owes close.
func (r *mdReader) open(m mdMessage) (fromLine []byte, write func(io.Writer) error, close func(), err error) {
	fd, err := r.s.Open(m.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open %s: %w", m.path, err)
	}
	close = func() { r.s.Close(fd) }
	st, err := r.s.Fstat(fd)
	if err != nil {
		close()
		return nil, nil, nil, fmt.Errorf("fstat %s: %w", m.path, err)
	}
	x := rewrite{atEnd: m.st.MboxLines()}
	// The sender is needed before the first byte is written: read the
	// header once for it.
	r.br.Reset(section(r.s, fd, 0, st.Size))
	var h header
	if err := x.header(newLF(io.Discard), r.br, &h); err != nil {
		close()
		return nil, nil, nil, fmt.Errorf("read %s: %w", m.path, err)
	}
	fromLine = mbox.FromLine(h.sender(), st.Mtime.In(time.Local))
	write = func(w io.Writer) error {
		r.br.Reset(section(r.s, fd, 0, st.Size))
		if _, err := x.copy(w, r.br); err != nil {
			return fmt.Errorf("read %s: %w", m.path, err)
		}
		return nil
	}
	return fromLine, write, close, nil
}

// sender returns the envelope sender a Return-Path value names: the
// address in angle brackets, "" for the null sender or none.
func (h header) sender() string {
	v := strings.TrimSpace(string(h.returnPath))
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	return strings.TrimSpace(v)
}

// anchor is what an mbox destination keeps of a run in a file beside it,
// ".NAME.letterbox-convert.SOURCEID": the source and the mbox's size when
// the run began. Everything the run writes lies after that offset, in
// source order, possibly with deliveries in between; a re-run finds there
// what it already wrote.
type anchor struct {
	path  string
	start int64
}

func anchorPath(dst, src string) string {
	sum := sha256.Sum256([]byte(src))
	return filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".letterbox-convert."+hex.EncodeToString(sum[:6]))
}

// readAnchor reads the anchor of a conversion from src into the mbox dst
// of size bytes: start is -1 when there is none, or when it lies past the
// end of the mbox (the mbox was emptied or replaced since).
func readAnchor(s sys.Sys, dst, src string, size int64) (anchor, error) {
	a := anchor{path: anchorPath(dst, src), start: -1}
	fd, err := s.Open(a.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return a, nil
	case err != nil:
		return a, fmt.Errorf("open %s: %w", a.path, err)
	}
	var b [512]byte
	n, rerr := s.Read(fd, b[:])
	s.Close(fd)
	if rerr != nil {
		return a, fmt.Errorf("read %s: %w", a.path, rerr)
	}
	for _, line := range strings.Split(string(b[:n]), "\n") {
		if v, ok := strings.CutPrefix(line, "start "); ok {
			a.start, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if a.start > size {
		a.start = -1
	}
	return a, nil
}

// write makes the anchor durable at start.
func (a *anchor) write(s sys.Sys, src string, start int64) error {
	a.start = start
	content := fmt.Sprintf("letterbox convert\nsource %s\nstart %d\n", src, start)
	return writeAtomic(s, a.path, []byte(content))
}

// writeAtomic replaces path with content: a temporary file, synced, renamed
// over it, and the directory synced.
func writeAtomic(s sys.Sys, path string, content []byte) error {
	tmp := path + ".tmp"
	s.Unlink(tmp) // a leftover of a run that died here; ENOENT is the rule
	fd, err := s.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = (&fdWriter{s: s, fd: fd}).writeAll(content)
	if err == nil {
		err = s.Fsync(fd)
	}
	if cerr := s.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.Rename(tmp, path)
	}
	if err != nil {
		s.Unlink(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return sys.SyncDir(s, filepath.Dir(path))
}

// Checkpoints of a conversion to an mbox: the mbox is fsynced every
// checkpointMessages messages or checkpointBytes bytes, and at the end,
// instead of after every message (3000 messages took 11.0 s with an fsync
// each, 1.8 s with none). A crash of the system loses at most what was
// written since the last checkpoint, possibly with holes (blocks written
// back out of order); a re-run matches what survived within that window
// out of order (scanMbox), so it adds nothing twice and loses nothing.
const (
	checkpointMessages = 1000
	checkpointBytes    = 64 << 20
)

// toMbox converts the Maildir p.src into the mbox p.dst (created if
// missing), held under its delivery lock throughout, written mboxrd.
func (c *converter) toMbox(ctx context.Context, p planItem, res *Folder) (err error) {
	msgs, err := listMaildir(c.s, p.src)
	if err != nil {
		return err
	}
	res.Variant = mbox.MboxRD.String()
	lk, err := c.lock(ctx, p.dst, true)
	if err != nil {
		return err
	}
	defer lk.release(&err)
	ctx, stop := lk.watch(ctx)
	defer stop()
	fd := lk.FD()
	st, err := c.s.Fstat(fd)
	if err != nil {
		return fmt.Errorf("fstat %s: %w", p.dst, err)
	}
	a, err := readAnchor(c.s, p.dst, p.src, st.Size)
	if err != nil {
		return err
	}
	// Without an anchor (a first run, or one after a finished run, which
	// removed it) the whole mbox is compared with the source: a finished
	// conversion run again is found there and adds nothing.
	rd := newMdReader(c.s)
	sc, err := c.scanMbox(fd, max(a.start, 0), st.Size, msgs, rd)
	if err != nil {
		return err
	}
	if sc.tail >= 0 {
		// What the interrupted run was writing when it died; nothing was
		// delivered after it (it is the last message), and the lock is ours.
		if err := c.s.Ftruncate(fd, sc.tail); err != nil {
			return fmt.Errorf("truncate %s to %d: %w", p.dst, sc.tail, err)
		}
		st.Size = sc.tail
	}
	res.Present, res.Foreign = sc.matched, sc.foreign
	if a.start < 0 && sc.matched < len(msgs) {
		// Before the first byte is appended: a re-run starts its
		// comparison here, not at the beginning of a large mbox.
		start := st.Size
		if sc.first >= 0 {
			start = sc.first
		}
		if err := a.write(c.s, p.src, start); err != nil {
			return err
		}
	}
	done := int64(0)
	for i, m := range msgs {
		if sc.present[i] {
			done += sizeHint(m)
		}
	}
	c.progress(res, done)
	unsynced, unsyncedBytes := 0, int64(0)
	checkpoint := func() error {
		if !c.o.Fsync || unsynced == 0 {
			return nil
		}
		if err := c.s.Fsync(fd); err != nil {
			return fmt.Errorf("fsync %s: %w", p.dst, err)
		}
		unsynced, unsyncedBytes = 0, 0
		return nil
	}
	for i, m := range msgs {
		if sc.present[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		n, err := c.appendOne(ctx, fd, m, rd, lk)
		if err != nil {
			return fmt.Errorf("append %s to %s: %w", m.path, p.dst, err)
		}
		res.Converted++
		res.Bytes += n
		done += sizeHint(m)
		c.progress(res, done)
		unsynced++
		unsyncedBytes += n
		if unsynced >= checkpointMessages || unsyncedBytes >= checkpointBytes {
			if err := checkpoint(); err != nil {
				return err
			}
		}
	}
	if err := checkpoint(); err != nil {
		return err
	}
	if c.o.Verify {
		st, err = c.s.Fstat(fd)
		if err != nil {
			return fmt.Errorf("fstat %s: %w", p.dst, err)
		}
		v, err := c.scanMbox(fd, max(a.start, 0), st.Size, msgs, rd)
		switch {
		case err != nil:
			return fmt.Errorf("verify: %w", err)
		case v.matched != len(msgs) || v.tail >= 0:
			return fmt.Errorf("verify: %s holds %d of the %d messages of %s", p.dst, v.matched, len(msgs), p.src)
		}
		res.Verified = true
	}
	// Done (and verified, unless the caller said not to): the anchor has
	// served. Its removal need not be durable: an anchor a crash brings
	// back makes a re-run compare from it, and find everything.
	if err := c.s.Unlink(a.path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", a.path, err)
	}
	return nil
}

// sizeHint is a Maildir message's size as its name says, for progress.
func sizeHint(m mdMessage) int64 {
	_, size, _ := maildir.ParseName(filepath.Base(m.path))
	return max(size, 0)
}

// appendOne appends the Maildir message m to the mbox at fd as one
// transaction (mbox.Append: rolled back on any failure or when ctx ends).
func (c *converter) appendOne(ctx context.Context, fd int, m mdMessage, rd *mdReader, lk *heldLock) (int64, error) {
	fromLine, write, closeFn, err := rd.open(m)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := write(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	// Not synced here: toMbox syncs at its checkpoints.
	n, err := mbox.Append(ctx, c.s, fd, mbox.Message{FromLine: fromLine, Content: pr}, mbox.Options{Quoting: mbox.MboxRD, Check: lk.Check})
	pr.CloseWithError(errors.New("append ended")) // stops the writer if Append did not read to the end
	<-done
	return n, err
}

// scanResult is what an mbox destination holds after a run's start.
type scanResult struct {
	present []bool // per source message: found
	matched int    // source messages found
	first   int64  // offset of the first found, or -1
	foreign int    // messages that are not the source's (deliveries)
	tail    int64  // offset of a partial message an interrupted run left at the end, or -1
}

// scanMbox reads the mbox at fd (size bytes) from start and matches its
// messages with msgs: one whose content equals the next source message
// not yet found (compared by SHA-256 of its rewritten bytes) is that
// message. One that does not may be a later source message written after
// one a system crash lost (writes since the last checkpoint reach the disk
// in any order): it is looked up among the source messages of a
// checkpoint's window ahead. Any other is foreign. A non-matching last
// message whose From_ line and content are the beginning of the source
// message after the last one found is the partial write of an interrupted
// run (its last, unfinished line may differ: a quoted ">From" cut short
// reads back unquoted otherwise).
func (c *converter) scanMbox(fd int, start, size int64, msgs []mdMessage, rd *mdReader) (scanResult, error) {
	res := scanResult{present: make([]bool, len(msgs)), first: -1, tail: -1}
	r := mbox.NewReader(section(c.s, fd, start, size-start), mbox.MboxRD)
	h := sha256.New()
	next := 0       // the first source message not found
	var want []byte // its hash, computed once
	w := window{c: c, msgs: msgs, rd: rd, present: res.present}
	var last *mbox.Entry
	lastMatched, lastIdx := false, -1
	found := func(i int, e *mbox.Entry) {
		res.present[i] = true
		res.matched++
		if res.first < 0 {
			res.first = start + e.Offset
		}
		lastMatched, lastIdx = true, i
		for next < len(msgs) && res.present[next] {
			next, want = next+1, nil
		}
	}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if _, ok := err.(*mbox.FormatError); ok {
			res.foreign++
			continue
		}
		if err != nil {
			return res, err
		}
		h.Reset()
		if _, err := io.Copy(h, r); err != nil {
			return res, err
		}
		got := h.Sum(nil)
		last, lastMatched = e, false
		if next < len(msgs) {
			if want == nil {
				if want, err = c.hashMessage(msgs[next], rd); err != nil {
					return res, err
				}
			}
			if bytes.Equal(got, want) {
				found(next, e)
				continue
			}
			i, err := w.find(next, got)
			if err != nil {
				return res, err
			}
			if i >= 0 {
				found(i, e)
				continue
			}
		}
		res.foreign++
	}
	cand := lastIdx + 1
	for cand < len(msgs) && res.present[cand] {
		cand++
	}
	if last != nil && !lastMatched && cand < len(msgs) {
		partial, err := c.isPartial(fd, start+last.Offset, size, msgs[cand], rd)
		if err != nil {
			return res, err
		}
		if partial {
			res.foreign--
			res.tail = start + last.Offset
		}
	}
	return res, nil
}

// window holds the hashes of the source messages after the next one not
// found, as many as one checkpoint writes, for scanMbox's out-of-order
// matching. Each source message is hashed for it at most once.
type window struct {
	c       *converter
	msgs    []mdMessage
	rd      *mdReader
	present []bool
	end     int                // msgs[:end] are hashed or before the window
	bytes   int64              // bytes of msgs[next+1:end], as last computed
	sizes   map[int]int64      // index -> rewritten size, of those hashed
	byHash  map[[32]byte][]int // hash -> indexes, ascending
}

// find returns the index of a source message after next, within a
// checkpoint's reach, whose hash is got and that is not yet found; or -1.
func (w *window) find(next int, got []byte) (int, error) {
	if w.byHash == nil {
		w.byHash, w.sizes = map[[32]byte][]int{}, map[int]int64{}
	}
	w.end = max(w.end, next+1)
	// What one checkpoint may have left unsynced after next.
	lo, hi := next+1, min(len(w.msgs), next+1+checkpointMessages)
	var reach int64
	for i := lo; i < w.end; i++ {
		reach += w.sizes[i]
	}
	for w.end < hi && reach < checkpointBytes {
		hh := sha256.New()
		_, write, closeFn, err := w.rd.open(w.msgs[w.end])
		if err != nil {
			return -1, err
		}
		cw := &countWriter{w: hh}
		err = write(cw)
		closeFn()
		if err != nil {
			return -1, err
		}
		var k [32]byte
		copy(k[:], hh.Sum(nil))
		w.byHash[k] = append(w.byHash[k], w.end)
		w.sizes[w.end] = cw.n
		reach += cw.n
		w.end++
	}
	var k [32]byte
	copy(k[:], got)
	for _, i := range w.byHash[k] {
		if i >= lo && i < w.end && !w.present[i] {
			return i, nil
		}
	}
	return -1, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// hashMessage returns the SHA-256 of m rewritten for an mbox.
func (c *converter) hashMessage(m mdMessage, rd *mdReader) ([]byte, error) {
	_, write, closeFn, err := rd.open(m)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	hh := sha256.New()
	if err := write(hh); err != nil {
		return nil, err
	}
	return hh.Sum(nil), nil
}

// isPartial reports whether the mbox bytes [off, size) at fd are the
// beginning of m as appendOne writes it.
func (c *converter) isPartial(fd int, off, size int64, m mdMessage, rd *mdReader) (bool, error) {
	fromLine, write, closeFn, err := rd.open(m)
	if err != nil {
		return false, err
	}
	defer closeFn()
	r := mbox.NewReader(section(c.s, fd, off, size-off), mbox.MboxRD)
	e, err := r.Next()
	if err != nil {
		return false, nil
	}
	want := strings.TrimSuffix(strings.TrimPrefix(string(fromLine), mbox.FromPrefix), "\n")
	if !strings.HasPrefix(want, e.FromLine) {
		return false, nil
	}
	if len(e.FromLine) < len(want) {
		return true, nil // cut in the From_ line itself
	}
	pw := &prefixWriter{r: r}
	if err := write(pw); err != nil {
		return false, err
	}
	return pw.prefix()
}

// prefixWriter compares what is written to it with what r holds, to tell
// whether r is a beginning of it.
type prefixWriter struct {
	r        io.Reader
	buf      []byte
	diverged bool // r differs from what was written
	lineEnd  bool // r has a line end after the point where it differs
	ended    bool // r ended
	err      error
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 && !p.diverged && !p.ended {
		if p.buf == nil {
			p.buf = make([]byte, 64<<10)
		}
		n, err := io.ReadFull(p.r, p.buf[:min(len(b), len(p.buf))])
		for i := 0; i < n; i++ {
			if p.buf[i] != b[i] {
				p.diverged = true
				p.lineEnd = bytes.IndexByte(p.buf[i:n], '\n') >= 0
				return total, nil
			}
		}
		b = b[n:]
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			p.ended = true
		case err != nil:
			p.err = err
			return 0, err
		}
	}
	return total, nil
}

// prefix reports the verdict once everything was written: r ended within
// it, or r differs only in its last line, which has no line end (a line
// cut short).
func (p *prefixWriter) prefix() (bool, error) {
	switch {
	case p.err != nil:
		return false, p.err
	case p.ended:
		return true, nil
	case !p.diverged:
		// All was written and r goes on: r is longer, not a beginning.
		n, _ := p.r.Read(make([]byte, 1))
		return n == 0, nil
	case p.lineEnd:
		return false, nil
	}
	rest, err := io.ReadAll(io.LimitReader(p.r, lineBuf))
	if err != nil {
		return false, err
	}
	return bytes.IndexByte(rest, '\n') < 0 && len(rest) < lineBuf, nil
}
