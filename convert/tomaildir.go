package convert

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/maildir"
	"letterbox/mailflag"
	"letterbox/mbox"
)

// memMessage is the size up to which a message is held in memory between
// reading it and writing it: it is read once, hashed for its name, and
// written in one write. A larger one is hashed first and read again from
// the mbox to be written, so memory stays bounded by this whatever the
// message size.
const memMessage = 1 << 20

// syncEvery is how much is written between two syncs of the destination
// filesystem; a message is durable at the sync after it, and a re-run
// after a crash finds what was lost since by its size.
const (
	syncEveryMessages = 4096
	syncEveryBytes    = 256 << 20
)

// nameHost is the host part of the names convert gives: fixed, so that a
// re-run on another host of a shared Maildir finds the same names.
const nameHost = "convert"

// messageName is the Maildir name (without the ":2," info) of the message
// at index i of its mbox, dated t, whose stored bytes have hash sum and
// size bytes:
//
//	<sec>.L<index>H<first 16 hex digits of the SHA-256>.convert,S=<size>
//
// It depends on nothing but the source, so a re-run gives every message
// the name it got before and finds it there (docs/design.md §2.3: re-runnable,
// every message once). Two messages share a name only if they are the same
// bytes at the same position of mailboxes with the same date.
func messageName(t time.Time, i int64, sum []byte, size int64) string {
	return fmt.Sprintf("%d.L%dH%s.%s,S=%d", t.Unix(), i, hex.EncodeToString(sum[:8]), nameHost, size)
}

// toMaildir converts the mbox at src into the Maildir dst (created if
// missing) and verifies the result if o.Verify. It holds the mbox's lock
// throughout.
func (c *converter) toMaildir(ctx context.Context, src, dst string, res *Folder) error {
	lk, err := c.lock(ctx, src, false)
	if err != nil {
		return err
	}
	defer lk.release(&err)
	ctx, stop := lk.watch(ctx)
	defer stop()

	if err := maildir.Make(c.s, dst, true); err != nil {
		return err
	}
	st, err := c.s.Fstat(lk.FD())
	if err != nil {
		return fmt.Errorf("fstat %s: %w", src, err)
	}
	q, err := c.quoting(lk.FD(), st.Size, res)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	w := &maildirWriter{s: c.s, root: dst, fsync: c.o.Fsync, fallback: st.Mtime}
	err = c.eachMbox(ctx, lk.FD(), st.Size, q, res, func(m *mboxMessage) error {
		done, err := w.store(m)
		if err != nil {
			return err
		}
		res.Bytes += m.size
		if done {
			res.Converted++
		} else {
			res.Present++
		}
		c.progress(res, m.entry.Offset+m.entry.Length)
		if (res.Converted+res.Present)%syncEveryMessages == 0 {
			// Lost is watched all along; this also proves the dot-lock
			// is still ours on a filesystem that would not tell.
			return lk.Check()
		}
		return nil
	})
	if err == nil {
		err = w.sync()
	}
	if err == nil {
		err = lk.Check()
	}
	if err != nil {
		return err
	}
	if !c.o.Verify {
		return nil
	}
	return c.verifyMaildir(ctx, lk.FD(), st.Size, q, dst, res)
}

// quoting returns the variant to read the mbox with: the one given, or the
// one detected by reading it whole (mbox.Detect, the verdict "letterbox
// check" reports too).
func (c *converter) quoting(fd int, size int64, res *Folder) (mbox.Quoting, error) {
	if c.o.Quoting != nil {
		res.Variant = c.o.Quoting.String() + " (given)"
		return *c.o.Quoting, nil
	}
	v, err := mbox.Detect(section(c.s, fd, 0, size))
	if err != nil {
		return v.Quoting, err
	}
	res.Variant = v.Name + " (detected)"
	return v.Quoting, nil
}

// mboxMessage is one message of an mbox being converted.
type mboxMessage struct {
	index int64
	entry *mbox.Entry
	date  time.Time // of the From_ line, or the fallback
	state mailflag.State
	sum   []byte // SHA-256 of the rewritten message
	size  int64  // its length
	held  []byte // the rewritten message if it is at most memMessage, else nil
	// again re-reads the message from the mbox, rewritten, into w.
	again func(w io.Writer) error
}

// eachMbox reads the mbox open at fd (size bytes) with quoting q, rewrites
// each message for a Maildir, and calls fn with it, in order.
func (c *converter) eachMbox(ctx context.Context, fd int, size int64, q mbox.Quoting, res *Folder, fn func(*mboxMessage) error) error {
	r := mbox.NewReader(section(c.s, fd, 0, size), q)
	br := bufio.NewReaderSize(nil, lineBuf)
	buf := &capped{max: memMessage}
	h := sha256.New()
	for i := int64(0); ; {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		e, err := r.Next()
		var fe *mbox.FormatError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &fe):
			res.Skipped = append(res.Skipped, *fe)
			continue
		case err != nil:
			return err
		}
		x := rewrite{returnPath: returnPathLine(e.Sender)}
		buf.reset()
		h.Reset()
		br.Reset(r)
		hd, err := x.copy(io.MultiWriter(h, buf), br)
		if err != nil {
			return err
		}
		m := &mboxMessage{index: i, entry: e, date: e.Date, state: mailflag.FromMbox(hd.status, hd.xstatus, hd.keywords), sum: h.Sum(nil), size: buf.n}
		if !buf.over {
			m.held = buf.b
		}
		m.again = func(w io.Writer) error {
			r2 := mbox.NewReader(section(c.s, fd, e.Offset, e.Length), q)
			if _, err := r2.Next(); err != nil {
				return fmt.Errorf("read message at offset %d again: %w", e.Offset, err)
			}
			_, err := x.copy(w, bufio.NewReaderSize(r2, lineBuf))
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		i++
	}
}

// returnPathLine is the Return-Path line for the sender of a From_ line.
func returnPathLine(sender string) []byte {
	if sender == mbox.NullSender {
		sender = ""
	}
	return []byte("Return-Path: <" + sender + ">\n")
}

// capped is an io.Writer that keeps the first max bytes written to it and
// counts them all.
type capped struct {
	b    []byte
	max  int
	n    int64
	over bool
}

func (c *capped) reset() { c.b, c.n, c.over = c.b[:0], 0, false }

func (c *capped) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if !c.over {
		if len(c.b)+len(p) > c.max {
			c.over = true
		} else {
			c.b = append(c.b, p...)
		}
	}
	return len(p), nil
}

// maildirWriter stores converted messages in a Maildir under names that
// depend only on the source (messageName), so a re-run stores each one once.
type maildirWriter struct {
	s        sys.Sys
	root     string
	fsync    bool
	fallback time.Time // the date of a message whose From_ line has none
	// noTmpfile: the filesystem cannot make unnamed files; write via tmp/.
	noTmpfile bool

	unsynced, unsyncedBytes int
}

// path returns where m goes: new/NAME, or cur/NAME:2,FLAGS.
func (w *maildirWriter) path(m *mboxMessage) (name, path string) {
	name = messageName(m.dateOr(w.fallback), m.index, m.sum, m.size)
	if m.state.Cur {
		return name, filepath.Join(w.root, "cur", name+":2,"+m.state.Flags)
	}
	return name, filepath.Join(w.root, "new", name)
}

func (m *mboxMessage) dateOr(fallback time.Time) time.Time {
	if m.date.IsZero() {
		return fallback
	}
	return m.date
}

// store writes m unless it is there already (a re-run), and reports
// whether it wrote it. The file is written unnamed (storeUnnamed) or in
// tmp/ under its final name (storeViaTmp), dated, and linked into place:
// link never replaces, and a file linked is complete. A file found at the
// name with another size is what a crash left before the sync that would
// have made it durable: it is replaced.
func (w *maildirWriter) store(m *mboxMessage) (bool, error) {
	name, dst := w.path(m)
	tmp := filepath.Join(w.root, "tmp", name)
	if st, err := w.s.Lstat(dst); err == nil {
		if st.Size == m.size {
			// Stored by an earlier run, which may have died before it
			// removed its tmp file.
			if err := w.s.Unlink(tmp); err != nil && !errors.Is(err, unix.ENOENT) {
				return false, fmt.Errorf("unlink %s: %w", tmp, err)
			}
			return false, nil
		}
		if err := w.s.Unlink(dst); err != nil {
			return false, fmt.Errorf("unlink %s (%d bytes, want %d): %w", dst, st.Size, m.size, err)
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("lstat %s: %w", dst, err)
	}

	var err error
	if !w.noTmpfile {
		err = w.storeUnnamed(m, dst)
		if errors.Is(err, errNoTmpfile) {
			w.noTmpfile = true
		}
	}
	if w.noTmpfile {
		err = w.storeViaTmp(m, tmp, dst)
	}
	if err != nil {
		return false, err
	}
	// What a run that died in storeViaTmp left; usually nothing.
	if err := w.s.Unlink(tmp); err != nil && !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("unlink %s: %w", tmp, err)
	}
	w.unsynced++
	w.unsyncedBytes += int(m.size)
	if w.unsynced >= syncEveryMessages || w.unsyncedBytes >= syncEveryBytes {
		return true, w.sync()
	}
	return true, nil
}

// errNoTmpfile is storeUnnamed's answer where the filesystem (NFS, an old
// kernel) or a missing /proc cannot make and name an unnamed file.
var errNoTmpfile = errors.New("O_TMPFILE not supported")

// storeUnnamed writes m into an unnamed file of dst's directory
// (O_TMPFILE) and names it dst once it is complete: no reader ever sees a
// part of it, a run that dies leaves nothing behind, and it costs one
// directory change where tmp/ and link cost three.
func (w *maildirWriter) storeUnnamed(m *mboxMessage, dst string) error {
	dir := filepath.Dir(dst)
	fd, err := w.s.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		return errNoTmpfile
	}
	if err != nil {
		return fmt.Errorf("create a file in %s: %w", dir, err)
	}
	defer w.s.Close(fd)
	if err := w.fillAndDate(fd, m); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	err = w.s.LinkFD(fd, dst)
	if errors.Is(err, unix.ENOENT) && w.unsynced == 0 {
		return errNoTmpfile // no /proc: only the first store can tell
	}
	if err != nil {
		return fmt.Errorf("link %s: %w", dst, err)
	}
	return nil
}

// storeViaTmp writes m as tmp, then links it to dst, as deliveries do.
func (w *maildirWriter) storeViaTmp(m *mboxMessage, tmp, dst string) error {
	fd, err := w.s.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EEXIST) {
		// The same name is the same message: a leftover of a run that
		// died while writing it (the mbox lock keeps two runs apart).
		if err := w.s.Unlink(tmp); err != nil {
			return fmt.Errorf("unlink %s: %w", tmp, err)
		}
		fd, err = w.s.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = w.fillAndDate(fd, m)
	if cerr := w.s.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		w.s.Unlink(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.s.Link(tmp, dst); err != nil {
		return fmt.Errorf("link %s to %s: %w", tmp, dst, err)
	}
	return nil
}

// fillAndDate writes m to fd and dates it with its From_ line.
func (w *maildirWriter) fillAndDate(fd int, m *mboxMessage) error {
	if err := w.fill(fd, m); err != nil {
		return err
	}
	date := m.dateOr(w.fallback)
	if err := w.s.SetTimes(fd, date, date); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fill writes m's bytes to fd: from memory, or read again from the mbox
// and checked against the hash its name was made from.
func (w *maildirWriter) fill(fd int, m *mboxMessage) error {
	fw := &fdWriter{s: w.s, fd: fd}
	if m.held != nil {
		return fw.writeAll(m.held)
	}
	bw := bufio.NewWriterSize(fw, 256<<10)
	h := sha256.New()
	n := &counter{}
	if err := m.again(io.MultiWriter(bw, h, n)); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if n.n != m.size || !bytes.Equal(h.Sum(nil), m.sum) {
		// The mbox is locked, so this is a bug or a foreign writer.
		return fmt.Errorf("message at offset %d changed while being converted", m.entry.Offset)
	}
	return nil
}

// sync makes everything stored so far durable: one syncfs for the batch,
// where an fsync per file and per directory would cost a disk flush each.
func (w *maildirWriter) sync() error {
	if !w.fsync || w.unsynced == 0 {
		return nil
	}
	dir := filepath.Join(w.root, "cur")
	fd, err := w.s.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer w.s.Close(fd)
	if err := w.s.Syncfs(fd); err != nil {
		return fmt.Errorf("sync the filesystem of %s: %w", w.root, err)
	}
	w.unsynced, w.unsyncedBytes = 0, 0
	return nil
}

// fdWriter writes to a descriptor through the seam, handling short writes.
type fdWriter struct {
	s  sys.Sys
	fd int
}

func (f *fdWriter) Write(p []byte) (int, error) {
	if err := f.writeAll(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *fdWriter) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := f.s.Write(f.fd, p)
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.EIO // a write that writes nothing would loop forever
		}
		p = p[n:]
	}
	return nil
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// verifyMaildir reads the mbox again and checks that every message is in
// the Maildir under its name, with the bytes its hash says.
func (c *converter) verifyMaildir(ctx context.Context, fd int, size int64, q mbox.Quoting, root string, res *Folder) error {
	w := &maildirWriter{s: c.s, root: root}
	st, err := c.s.Fstat(fd)
	if err != nil {
		return err
	}
	w.fallback = st.Mtime
	buf := make([]byte, 256<<10)
	h := sha256.New()
	n := int64(0)
	err = c.eachMbox(ctx, fd, size, q, &Folder{}, func(m *mboxMessage) error {
		_, p := w.path(m)
		got, err := hashFile(c.s, p, h, buf)
		if err != nil {
			return fmt.Errorf("verify message %d (offset %d): %w", m.index, m.entry.Offset, err)
		}
		if !bytes.Equal(got, m.sum) {
			return fmt.Errorf("verify message %d (offset %d): %s holds other bytes than the mbox", m.index, m.entry.Offset, p)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if want := int64(res.Converted + res.Present); n != want {
		return fmt.Errorf("verify: the mbox holds %d messages now, %d were converted", n, want)
	}
	res.Verified = true
	return nil
}

// hashFile returns the SHA-256 of the file at path, read through the seam.
func hashFile(s sys.Sys, path string, h hash.Hash, buf []byte) ([]byte, error) {
	fd, err := s.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer s.Close(fd)
	h.Reset()
	for {
		n, err := s.Read(fd, buf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			return h.Sum(nil), nil
		}
		h.Write(buf[:n])
	}
}
