package nfstest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Op names a non-idempotent request whose reply can be lost.
type Op string

const (
	Link   Op = "link"
	Unlink Op = "unlink"
	Rename Op = "rename"
	Create Op = "create" // O_EXCL create
	Mkdir  Op = "mkdir"
)

// AllOps are every Op.
var AllOps = []Op{Link, Unlink, Rename, Create, Mkdir}

// Faults configures what the server does wrong. It is shared by every host
// mounted from a Server. Set the fields before mounting; ClockOffset may
// change during a run.
type Faults struct {
	// LoseRate is the probability that the reply to one of LoseOps is
	// lost: the operation is carried out, and the client gets the error a
	// retransmission finds (EEXIST for link, create and mkdir; ENOENT for
	// unlink and rename), as when the server's duplicate request cache
	// misses.
	LoseRate float64
	LoseOps  []Op // nil: AllOps

	// ReplayEvery makes every ReplayEvery-th release of a lock (an unlink
	// or rename whose source name ends in ".lock") run a second time after
	// a random delay of up to ReplayDelay: a retransmission that the server
	// executes late, after the lock may have been taken by someone else.
	ReplayEvery int
	ReplayDelay time.Duration

	// WriteFault, if set, is asked before every write to a file; a
	// non-zero errno fails the write without writing (EIO, ENOSPC).
	WriteFault func(path string, off int64, n int) syscall.Errno

	clockOffset atomic.Int64 // server clock minus real clock, ns

	mu       sync.Mutex
	rng      *rand.Rand
	lost     map[Op]int
	releases int
	due      int
	replayed int
	writeErr int
}

// SetClockOffset moves the server's clock: every timestamp it reports is
// shifted by d, every explicit timestamp a client sets is taken as server
// time, and "set to now" is the server's now.
func (f *Faults) SetClockOffset(d time.Duration) { f.clockOffset.Store(int64(d)) }

// Stats is what a Faults did.
type Stats struct {
	Lost        map[Op]int
	Releases    int // lock releases seen
	ReplaysDue  int // releases executed a second time
	Replayed    int // of those, the ones that found a name to act on
	WriteFaults int
}

// Stats returns the counts so far.
func (f *Faults) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{Lost: map[Op]int{}, Releases: f.releases, ReplaysDue: f.due, Replayed: f.replayed, WriteFaults: f.writeErr}
	for k, v := range f.lost {
		s.Lost[k] = v
	}
	return s
}

// lose decides whether the reply to op is lost, and counts it.
func (f *Faults) lose(op Op) bool {
	if f.LoseRate <= 0 {
		return false
	}
	ops := f.LoseOps
	if ops == nil {
		ops = AllOps
	}
	if !slices.Contains(ops, op) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.LoseRate {
		return false
	}
	f.lost[op]++
	return true
}

// released counts a lock release and schedules its replay when due.
func (f *Faults) released(replay func() error) {
	f.mu.Lock()
	f.releases++
	due := f.ReplayEvery > 0 && f.releases%f.ReplayEvery == 0
	if due {
		f.due++
	}
	delay := time.Duration(0)
	if f.ReplayDelay > 0 {
		delay = time.Duration(f.rng.Int64N(int64(f.ReplayDelay)))
	}
	f.mu.Unlock()
	if !due {
		return
	}
	time.AfterFunc(delay, func() {
		if replay() == nil {
			f.mu.Lock()
			f.replayed++
			f.mu.Unlock()
		}
	})
}

// Server is the backing directory with its faults: the NFS server that all
// hosts share.
type Server struct {
	Backing string
	Faults  *Faults
}

// NewServer serves backing with faults (nil: none), seeded for
// reproducible runs.
func NewServer(backing string, faults *Faults, seed uint64) *Server {
	if faults == nil {
		faults = &Faults{}
	}
	faults.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	faults.lost = map[Op]int{}
	return &Server{Backing: backing, Faults: faults}
}

// Caching is what a host's client caches, as NFS's ac* and lookupcache
// mount options do.
type Caching struct {
	Entry    time.Duration // name -> inode (0: every path walk asks the server)
	Attr     time.Duration // attributes
	Negative time.Duration // "no such name" (0: lookupcache=positive)
	// CloseToOpen invalidates a file's cached attributes and data when it
	// is opened, as NFS's default cto does, so an O_APPEND writer starts
	// from the server's size.
	CloseToOpen bool
}

// Mount mounts the server at dir for one host with its own caches. The
// caller owes Unmount on the returned server. It needs root (a direct mount,
// no fusermount).
func (s *Server) Mount(dir string, c Caching) (*fuse.Server, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(s.Backing, &st); err != nil {
		return nil, err
	}
	rd := &fs.LoopbackRoot{Path: s.Backing, Dev: uint64(st.Dev)}
	//lint:ignore SA1019 NewNode is the hook that gives every node our type.
	rd.NewNode = func(rd *fs.LoopbackRoot, parent *fs.Inode, name string, st *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: rd}, srv: s, cto: c.CloseToOpen}
	}
	root := rd.NewNode(rd, nil, "", &st)
	rd.RootNode = root
	entry, attr, neg := c.Entry, c.Attr, c.Negative
	return fs.Mount(dir, root, &fs.Options{
		EntryTimeout:    &entry,
		AttrTimeout:     &attr,
		NegativeTimeout: &neg,
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			AllowOther:        true,
			// Locks go to the server, as NFSv4's do; the loopback
			// takes them as OFD locks on the backing files, so they
			// conflict across hosts.
			EnableLocks: true,
			FsName:      "nfstest",
			Name:        "nfstest",
		},
	})
}

// node is a loopback node with the server's faults.
type node struct {
	fs.LoopbackNode
	srv *Server
	cto bool
}

func (n *node) faults() *Faults { return n.srv.Faults }

// path is n's path on the backing directory, by the name the loopback
// knows it by.
func (n *node) path() string { return filepath.Join(n.RootData.Path, n.Path(n.Root())) }

// backing is the backing path of name in directory n.
func (n *node) backing(name string) string { return filepath.Join(n.path(), name) }

// shift moves the times of a reply from real time to server time.
func (f *Faults) shift(a *fuse.Attr) {
	d := f.clockOffset.Load()
	if d == 0 {
		return
	}
	add := func(sec *uint64, nsec *uint32) {
		t := time.Unix(int64(*sec), int64(*nsec)).Add(time.Duration(d))
		*sec, *nsec = uint64(t.Unix()), uint32(t.Nanosecond())
	}
	add(&a.Atime, &a.Atimensec)
	add(&a.Mtime, &a.Mtimensec)
	add(&a.Ctime, &a.Ctimensec)
}

// ensurePath makes the loopback's path for n lead to n's inode again. The
// loopback reaches an inode through one of the names it has seen for it, but
// a name may since have been removed or renamed on the backing directory (by
// another host, or a replay) while the inode lives on under another name. An
// NFS file handle does not depend on names; this keeps the imitation from
// acting on the wrong file, or failing, where NFS would not.
func (n *node) ensurePath() {
	if &n.Inode == n.Root() {
		return
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(n.path(), &st); err == nil && st.Ino == n.StableAttr().Ino {
		return
	}
	_, parent := n.Parent()
	if parent == nil {
		return
	}
	dir := filepath.Join(n.RootData.Path, parent.Path(n.Root()))
	for name, ch := range parent.Children() {
		if ch != &n.Inode {
			continue
		}
		if err := syscall.Lstat(filepath.Join(dir, name), &st); err != nil || st.Ino != n.StableAttr().Ino {
			parent.RmChild(name)
		}
	}
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	n.faults().shift(&out.Attr)
	return ch, errno
}

// Getattr answers for the inode the client holds, as an NFS file handle
// does: the loopback finds files by name, so when the name is gone or now
// leads to another inode (removed, renamed or replaced by another host), the
// answer is ESTALE, on which the client's VFS looks the name up again
// (LOOKUP_REVAL), as it does on NFS.
func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if f == nil {
		n.ensurePath()
	}
	errno := n.LoopbackNode.Getattr(ctx, f, out)
	if f == nil && &n.Inode != n.Root() {
		// The name is gone or leads elsewhere: the handle is stale.
		if errno == syscall.ENOENT || errno == 0 && out.Attr.Ino != n.StableAttr().Ino {
			return syscall.ESTALE
		}
	}
	n.faults().shift(&out.Attr)
	return errno
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	// An explicit time is server time; store it as real time, so that it
	// reads back as given.
	d := time.Duration(n.faults().clockOffset.Load())
	if in.Valid&fuse.FATTR_MTIME != 0 && in.Valid&fuse.FATTR_MTIME_NOW == 0 {
		t := time.Unix(int64(in.Mtime), int64(in.Mtimensec)).Add(-d)
		in.Mtime, in.Mtimensec = uint64(t.Unix()), uint32(t.Nanosecond())
	}
	if in.Valid&fuse.FATTR_ATIME != 0 && in.Valid&fuse.FATTR_ATIME_NOW == 0 {
		t := time.Unix(int64(in.Atime), int64(in.Atimensec)).Add(-d)
		in.Atime, in.Atimensec = uint64(t.Unix()), uint32(t.Nanosecond())
	}
	if f == nil {
		n.ensurePath()
	}
	errno := n.LoopbackNode.Setattr(ctx, f, in, out)
	n.faults().shift(&out.Attr)
	return errno
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ch, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno == 0 && flags&syscall.O_EXCL != 0 && n.faults().lose(Create) {
		if r, ok := fh.(fs.FileReleaser); ok {
			r.Release(ctx)
		}
		return nil, nil, 0, syscall.EEXIST
	}
	n.faults().shift(&out.Attr)
	if errno == 0 {
		fh = &file{FileHandle: fh, path: n.backing(name), f: n.faults()}
	}
	return ch, fh, fl, errno
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.ensurePath()
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return fh, fl, errno
	}
	if n.cto {
		// Close-to-open: the next stat or append asks the server.
		n.NotifyContent(0, 0)
	}
	return &file{FileHandle: fh, path: n.path(), f: n.faults()}, fl, 0
}

// Link links by the target's inode, as NFS's LINK does by file handle. The
// loopback's own Link looks the new name up again after linking and, when
// that fails (a replay or another host renamed it in between), unlinks the
// name and reports ENOENT: an answer NFS never gives for a link that was
// made, and an unlink of what may by then be someone else's file.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, ok := target.(*node)
	if !ok {
		return nil, syscall.EXDEV
	}
	t.ensurePath()
	src := t.path()
	if err := syscall.Link(src, n.backing(name)); err != nil {
		return nil, fs.ToErrno(err)
	}
	if n.faults().lose(Link) {
		return nil, syscall.EEXIST
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(src, &st); err != nil {
		return nil, fs.ToErrno(err)
	}
	out.Attr.FromStat(&st)
	n.faults().shift(&out.Attr)
	return t.EmbeddedInode(), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno == 0 && n.faults().lose(Mkdir) {
		return nil, syscall.EEXIST
	}
	n.faults().shift(&out.Attr)
	return ch, errno
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	p := n.backing(name)
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno != 0 {
		return errno
	}
	if strings.HasSuffix(name, ".lock") {
		n.faults().released(func() error { return syscall.Unlink(p) })
	}
	if n.faults().lose(Unlink) {
		// Done, but the client does not know: keep our own tree in step
		// with the backing directory, as the server's is.
		n.RmChild(name)
		return syscall.ENOENT
	}
	return 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	from, to := n.backing(name), np.backing(newName)
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno != 0 {
		return errno
	}
	if strings.HasSuffix(name, ".lock") {
		n.faults().released(func() error { return syscall.Rename(from, to) })
	}
	if n.faults().lose(Rename) {
		n.MvChild(name, np.EmbeddedInode(), newName, true)
		return syscall.ENOENT
	}
	return 0
}

// file is an open file with the server's write faults and clock.
type file struct {
	fs.FileHandle
	path string
	f    *Faults
}

func (h *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if wf := h.f.WriteFault; wf != nil {
		if errno := wf(h.path, off, len(data)); errno != 0 {
			h.f.mu.Lock()
			h.f.writeErr++
			h.f.mu.Unlock()
			return 0, errno
		}
	}
	return h.FileHandle.(fs.FileWriter).Write(ctx, data, off)
}

func (h *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return h.FileHandle.(fs.FileReader).Read(ctx, dest, off)
}

func (h *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	// Called by node.Getattr, which shifts the times.
	return h.FileHandle.(fs.FileGetattrer).Getattr(ctx, out)
}

func (h *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.FileHandle.(fs.FileSetattrer).Setattr(ctx, in, out)
}

func (h *file) Flush(ctx context.Context) syscall.Errno {
	return h.FileHandle.(fs.FileFlusher).Flush(ctx)
}

func (h *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.FileHandle.(fs.FileFsyncer).Fsync(ctx, flags)
}

func (h *file) Release(ctx context.Context) syscall.Errno {
	return h.FileHandle.(fs.FileReleaser).Release(ctx)
}

func (h *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return h.FileHandle.(fs.FileLseeker).Lseek(ctx, off, whence)
}

func (h *file) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	return h.FileHandle.(fs.FileAllocater).Allocate(ctx, off, size, mode)
}

func (h *file) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return h.FileHandle.(fs.FileGetlker).Getlk(ctx, owner, lk, flags, out)
}

func (h *file) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.FileHandle.(fs.FileSetlker).Setlk(ctx, owner, lk, flags)
}

func (h *file) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.FileHandle.(fs.FileSetlkwer).Setlkw(ctx, owner, lk, flags)
}
