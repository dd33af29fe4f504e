package convert

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"letterbox/internal/sys"
	"letterbox/locking"
	"letterbox/mbox"
	"letterbox/safeopen"
)

// Format is a mailbox format.
type Format int

const (
	// Auto chooses the destination format: a DEST ending in "/" or an
	// existing Maildir is a Maildir, anything else is the other format of
	// the source (docs/design.md §9).
	Auto Format = iota
	Maildir
	Mbox
)

func (f Format) String() string {
	switch f {
	case Maildir:
		return "maildir"
	case Mbox:
		return "mbox"
	}
	return "auto"
}

// Options tune Run.
type Options struct {
	Sys sys.Sys // nil: sys.Real
	To  Format
	// Quoting is the variant to read an mbox source with; nil detects it
	// (mbox.Detect), which reads the mbox once more.
	Quoting *mbox.Quoting
	// Verify compares source and destination at the end (docs/design.md §2.3:
	// on by default; the caller sets it).
	Verify bool
	// Fsync makes the destination durable before Run returns. Off only for
	// benchmarks (docs/design.md §7).
	Fsync bool
	// Locks and Lock are the mailbox lock deliveries take
	// (config.Config.LockPolicy).
	Locks locking.Methods
	Lock  locking.Options
	// StrictOwnership refuses an mbox destination that the running user
	// does not own, as deliver does (strict_ownership; safeopen.Owner).
	StrictOwnership bool
	// Progress, if set, is called after each message.
	Progress func(Progress)
}

// Progress is how far a run is.
type Progress struct {
	Folder   string // the folder being converted ("" for a single mailbox)
	Messages int64  // messages done, in all folders
	Bytes    int64  // source bytes done, in all folders
	// Total is the source bytes of all folders, known before the start.
	Total int64
}

// Folder is the outcome for one mailbox of a run.
type Folder struct {
	Name    string // the folder name ("" for a single mailbox, "INBOX" for a tree's root)
	Source  string
	Dest    string
	Variant string // the mbox variant read or written, and how it was chosen

	Converted int // messages written by this run
	Present   int // messages found already there (an earlier run)
	Foreign   int // messages in an mbox destination that are not from the source
	Bytes     int64
	// Skipped is data of an mbox source that is not a message (no From_
	// line): reported, not converted.
	Skipped  []mbox.FormatError
	Verified bool
}

// Result is the outcome of Run.
type Result struct {
	Folders []Folder
}

// Messages returns the messages converted and found present in all folders.
func (r Result) Messages() (converted, present int) {
	for _, f := range r.Folders {
		converted += f.Converted
		present += f.Present
	}
	return
}

// converter is one run.
type converter struct {
	s    sys.Sys
	o    Options
	prog Progress
	base Progress // at the start of the current folder
}

// Run converts the mailbox src into dst (see Format for how dst's format is
// chosen): an mbox file into a Maildir, a Maildir into an mbox file, a
// Maildir++ tree (a Maildir with .folders) into a directory of mbox files,
// a directory of mbox files into a Maildir++ tree. It returns what it did
// for each folder, also on error (the folders done so far and the one that
// failed).
//
// The caller owes Options.Verify = true unless told otherwise, and a ctx
// that ends on SIGINT/SIGTERM: an mbox destination is then rolled back to
// the last whole message.
func Run(ctx context.Context, src, dst string, o Options) (Result, error) {
	c := &converter{s: o.Sys, o: o}
	if c.s == nil {
		c.s = sys.Real{}
	}
	if c.o.Lock.Sys == nil {
		c.o.Lock.Sys = c.s
	}
	plan, err := c.plan(src, dst)
	if err != nil {
		return Result{}, err
	}
	for _, p := range plan {
		c.prog.Total += p.size
	}
	var res Result
	for _, p := range plan {
		res.Folders = append(res.Folders, Folder{Name: p.name, Source: p.src, Dest: p.dst})
		f := &res.Folders[len(res.Folders)-1]
		c.prog.Folder, c.base = p.name, c.prog
		if p.toMbox {
			err = c.toMbox(ctx, p, f)
		} else {
			err = c.toMaildir(ctx, p.src, p.dst, f)
		}
		if err != nil {
			if p.name != "" {
				err = fmt.Errorf("folder %s: %w", p.name, err)
			}
			return res, err
		}
		c.prog.Bytes = c.base.Bytes + p.size
		c.prog.Messages = c.base.Messages + int64(f.Converted+f.Present)
	}
	return res, nil
}

// progress reports that the current folder is done up to n bytes.
func (c *converter) progress(f *Folder, n int64) {
	c.prog.Bytes = c.base.Bytes + n
	c.prog.Messages = c.base.Messages + int64(f.Converted+f.Present)
	if c.o.Progress != nil {
		c.o.Progress(c.prog)
	}
}

// heldLock is an mbox under its delivery lock.
type heldLock struct {
	*locking.Lock
	path string
}

// lock takes the delivery lock of the mbox at path and opens it (appending
// and creating it if dst).
func (c *converter) lock(ctx context.Context, path string, dst bool) (*heldLock, error) {
	// The source is only read; the destination is written as deliver
	// writes a mailbox, so it must pass deliver's ownership rule too.
	open := &safeopen.Options{Mode: safeopen.Read, Owner: -1}
	if dst {
		open = &safeopen.Options{Mode: safeopen.Append, Owner: safeopen.Owner(c.o.StrictOwnership)}
	}
	// The kernel lock needs the descriptor, and so does the conversion:
	// with no kernel lock configured, Acquire is given none, and the
	// mbox is opened here under the dot-lock alone.
	m := c.o.Locks
	lk, err := locking.Acquire(ctx, path, m, c.o.Lock, open)
	if err != nil {
		return nil, &LockError{Mailbox: path, Err: err}
	}
	if lk.FD() < 0 {
		lk.Release()
		return nil, fmt.Errorf("%s: no descriptor from the lock", path)
	}
	return &heldLock{Lock: lk, path: path}, nil
}

// LockError is a failure to take an mbox's delivery lock: busy past the
// timeout (a *locking.BusyError inside), or impossible here.
type LockError struct {
	Mailbox string
	Err     error
}

func (e *LockError) Error() string { return fmt.Sprintf("lock %s: %v", e.Mailbox, e.Err) }
func (e *LockError) Unwrap() error { return e.Err }

// watch returns a context that ends when the lock is found lost.
func (l *heldLock) watch(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-l.Lost():
			cancel(fmt.Errorf("%s: %w", l.path, l.Check()))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// release gives the lock up; a release error becomes *err if there is none.
func (l *heldLock) release(err *error) {
	if rerr := l.Release(); *err == nil && rerr != nil {
		*err = fmt.Errorf("release the lock of %s: %w", l.path, rerr)
	}
}

// resolve returns path with symbolic links resolved if it exists, so that a
// link to a mailbox (~/Maildir -> /srv/mail/...) names what it points to.
func resolve(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// section returns a reader of the bytes [off, off+n) of fd.
func section(s sys.Sys, fd int, off, n int64) *io.SectionReader {
	return io.NewSectionReader(sys.ReaderAt{Sys: s, FD: fd}, off, n)
}
