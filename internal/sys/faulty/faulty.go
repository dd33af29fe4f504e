package faulty

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// Op names a seam method.
type Op string

const (
	Open       Op = "open"
	Close      Op = "close"
	Read       Op = "read"
	Pread      Op = "pread"
	Write      Op = "write"
	Fsync      Op = "fsync"
	Ftruncate  Op = "ftruncate"
	Fstat      Op = "fstat"
	SetTimes   Op = "settimes"
	Syncfs     Op = "syncfs"
	Lstat      Op = "lstat"
	Link       Op = "link"
	LinkFD     Op = "linkfd"
	Rename     Op = "rename"
	Unlink     Op = "unlink"
	Mkdir      Op = "mkdir"
	ReadDir    Op = "readdir"
	Touch      Op = "touch"
	SetLock    Op = "setlock"
	LockHolder Op = "lockholder"
	Mount      Op = "mount"
	ProcStart  Op = "procstart"
)

// Call is one seam call as the wrapper saw it. For calls on a descriptor,
// Path is the path it was opened with. An *At call is recorded as the
// path-based call it stands for (OpenAt as Open, LinkAt as Link, ReadDirFD
// as ReadDir, ...), with At set and Path (and Path2) its directory's path
// joined with the name: so a rule written for a path, or for a base name,
// fires whichever way the code reaches the file.
type Call struct {
	Op    Op
	Path  string
	Path2 string // link and rename: the new path
	FD    int
	At    bool // made relative to a directory descriptor
}

func (c Call) String() string {
	if c.Path2 != "" {
		return fmt.Sprintf("%s(%s, %s)", c.Op, c.Path, c.Path2)
	}
	return fmt.Sprintf("%s(%s)", c.Op, c.Path)
}

// Rule describes a fault. A rule matches a call when Op is equal, Path (if
// set) matches the base name of the call's path as a filepath.Match pattern,
// and Match (if set) returns true. Of the matching calls, the first Skip pass
// untouched; the next Count (0: all) fire.
type Rule struct {
	Op    Op
	Path  string
	Match func(Call) bool
	Skip  int
	Count int

	// Do runs before the operation when the rule fires; it may make seam
	// calls of its own (to replace a file, replay a call, kill a holder).
	Do func(Call)
	// After runs after the operation was performed and before its result
	// is returned: what happens while a reply is on its way (another host
	// acting, the server replaying the request).
	After func(Call)
	// Delay sleeps before the operation.
	Delay time.Duration
	// Err is returned instead of performing the operation, or, with Lost,
	// after performing it: a reply lost and the retransmission failing.
	Err  error
	Lost bool
	// Stat rewrites the attributes an lstat or fstat returns (stale cache).
	Stat func(*sys.Stat)
	// Short makes a write write at most Short bytes.
	Short int

	seen, fired int
}

// Fired reports how often the rule fired.
func (r *Rule) Fired() int { return r.fired }

// Sys is a sys.Sys with faults. Its zero value is not usable; use New.
type Sys struct {
	base sys.Sys

	mu     sync.Mutex
	rules  []*Rule
	clock  time.Duration // added to Now
	server time.Duration // added to every file timestamp reported
	id     func(*sys.Identity)
	mount  *sys.Mount
	fds    map[int]string
	calls  []Call
}

// New wraps base, with no faults.
func New(base sys.Sys) *Sys {
	return &Sys{base: base, fds: map[int]string{}}
}

// Add installs r and returns it.
func (f *Sys) Add(r *Rule) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return r
}

// Reset removes every rule.
func (f *Sys) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// SkewClock makes Now run d ahead of the real clock (behind if negative).
func (f *Sys) SkewClock(d time.Duration) { f.mu.Lock(); f.clock = d; f.mu.Unlock() }

// SkewServer shifts every timestamp the file server reports by d: the
// server's clock runs d ahead of the real one.
func (f *Sys) SkewServer(d time.Duration) { f.mu.Lock(); f.server = d; f.mu.Unlock() }

// SetIdentity rewrites the identity this process reports, to play another
// host (boot id), another pid namespace, or a reused pid.
func (f *Sys) SetIdentity(fn func(*sys.Identity)) { f.mu.Lock(); f.id = fn; f.mu.Unlock() }

// SetMount makes Mount report m for every descriptor: a test's files can
// then sit on an NFS mount with the options it needs.
func (f *Sys) SetMount(m sys.Mount) { f.mu.Lock(); f.mount = &m; f.mu.Unlock() }

// Calls returns the calls seen so far.
func (f *Sys) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Replay executes c again on the underlying system, as a server does with a
// retransmitted request its reply cache has forgotten. Only link, rename and
// unlink can be replayed. An *At call is replayed by the paths it was
// recorded with: its directory descriptor may be closed by then, and a
// server replays by the directory it named, which the path still leads to
// unless someone moved it.
func (f *Sys) Replay(c Call) error {
	switch c.Op {
	case Link:
		return f.base.Link(c.Path, c.Path2)
	case Rename:
		return f.base.Rename(c.Path, c.Path2)
	case Unlink:
		return f.base.Unlink(c.Path)
	}
	return fmt.Errorf("faulty: cannot replay %s", c)
}

// Base returns the wrapped system, for hooks that must not see faults.
func (f *Sys) Base() sys.Sys { return f.base }

// at is the path of name relative to the directory open at dir, for
// recording an *At call: name itself when dir is the working directory or
// unknown, or name is absolute.
func (f *Sys) at(dir int, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.fds[dir]
	if dir == unix.AT_FDCWD || !ok || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(d, name)
}

// fault finds the rule that fires for c, records c, and applies Do and Delay.
func (f *Sys) fault(c Call) *Rule {
	f.mu.Lock()
	if c.FD != 0 && c.Path == "" {
		c.Path = f.fds[c.FD]
	}
	f.calls = append(f.calls, c)
	var hit *Rule
	for _, r := range f.rules {
		if r.Op != c.Op {
			continue
		}
		if r.Path != "" {
			if ok, _ := filepath.Match(r.Path, filepath.Base(c.Path)); !ok {
				continue
			}
		}
		if r.Match != nil && !r.Match(c) {
			continue
		}
		r.seen++
		if r.seen <= r.Skip || (r.Count > 0 && r.fired >= r.Count) {
			continue
		}
		r.fired++
		hit = r
		break
	}
	f.mu.Unlock()
	if hit != nil {
		if hit.Do != nil {
			hit.Do(c)
		}
		if hit.Delay > 0 {
			time.Sleep(hit.Delay)
		}
	}
	return hit
}

// run performs op unless r says to fail instead, and returns op's error or
// the injected one.
func run(r *Rule, c Call, op func() error) error {
	if r != nil && r.Err != nil && !r.Lost {
		return r.Err
	}
	err := op()
	if r != nil && r.After != nil {
		r.After(c)
	}
	if r != nil && r.Err != nil && r.Lost {
		return r.Err
	}
	return err
}

func (f *Sys) Open(path string, flags int, perm uint32) (int, error) {
	return f.open(Call{Op: Open, Path: path}, func() (int, error) { return f.base.Open(path, flags, perm) })
}

func (f *Sys) OpenAt(dir int, name string, flags int, perm uint32) (int, error) {
	return f.open(Call{Op: Open, Path: f.at(dir, name), At: true}, func() (int, error) { return f.base.OpenAt(dir, name, flags, perm) })
}

// open runs an Open or OpenAt and remembers the new descriptor's path.
func (f *Sys) open(c Call, op func() (int, error)) (int, error) {
	path := c.Path
	r := f.fault(c)
	var fd int
	err := run(r, c, func() (err error) { fd, err = op(); return err })
	if err != nil {
		if r != nil && r.Lost && fd > 0 {
			f.base.Close(fd) // a lost reply: the file exists, the descriptor is not ours
		}
		return -1, err
	}
	f.mu.Lock()
	f.fds[fd] = path
	f.mu.Unlock()
	return fd, nil
}

func (f *Sys) Close(fd int) error {
	c := Call{Op: Close, FD: fd}
	r := f.fault(c)
	// A failing close still releases the descriptor, as close(2) does.
	err := f.base.Close(fd)
	f.mu.Lock()
	delete(f.fds, fd)
	f.mu.Unlock()
	if r != nil && r.Err != nil {
		return r.Err
	}
	return err
}

func (f *Sys) Read(fd int, p []byte) (int, error) {
	c := Call{Op: Read, FD: fd}
	r := f.fault(c)
	var n int
	err := run(r, c, func() (err error) { n, err = f.base.Read(fd, p); return err })
	return n, err
}

func (f *Sys) Pread(fd int, p []byte, off int64) (int, error) {
	c := Call{Op: Pread, FD: fd}
	r := f.fault(c)
	var n int
	err := run(r, c, func() (err error) { n, err = f.base.Pread(fd, p, off); return err })
	return n, err
}

func (f *Sys) Write(fd int, p []byte) (int, error) {
	c := Call{Op: Write, FD: fd}
	r := f.fault(c)
	if r != nil && r.Short > 0 && len(p) > r.Short {
		p = p[:r.Short]
	}
	var n int
	err := run(r, c, func() (err error) { n, err = f.base.Write(fd, p); return err })
	if err != nil && (r == nil || !r.Lost) {
		n = 0
	}
	return n, err
}

func (f *Sys) Fsync(fd int) error {
	c := Call{Op: Fsync, FD: fd}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Fsync(fd) })
}

func (f *Sys) Ftruncate(fd int, size int64) error {
	c := Call{Op: Ftruncate, FD: fd}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Ftruncate(fd, size) })
}

func (f *Sys) Fstat(fd int) (sys.Stat, error) {
	c := Call{Op: Fstat, FD: fd}
	r := f.fault(c)
	var st sys.Stat
	err := run(r, c, func() (err error) { st, err = f.base.Fstat(fd); return err })
	return f.attrs(r, st), err
}

func (f *Sys) SetTimes(fd int, atime, mtime time.Time) error {
	c := Call{Op: SetTimes, FD: fd}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.SetTimes(fd, atime, mtime) })
}

func (f *Sys) Syncfs(fd int) error {
	c := Call{Op: Syncfs, FD: fd}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Syncfs(fd) })
}

func (f *Sys) Lstat(path string) (sys.Stat, error) {
	c := Call{Op: Lstat, Path: path}
	r := f.fault(c)
	var st sys.Stat
	err := run(r, c, func() (err error) { st, err = f.base.Lstat(path); return err })
	return f.attrs(r, st), err
}

func (f *Sys) LstatAt(dir int, name string) (sys.Stat, error) {
	c := Call{Op: Lstat, Path: f.at(dir, name), At: true}
	r := f.fault(c)
	var st sys.Stat
	err := run(r, c, func() (err error) { st, err = f.base.LstatAt(dir, name); return err })
	return f.attrs(r, st), err
}

// attrs applies the server clock offset and a rule's stale attributes.
func (f *Sys) attrs(r *Rule, st sys.Stat) sys.Stat {
	f.mu.Lock()
	off := f.server
	f.mu.Unlock()
	if !st.Mtime.IsZero() {
		st.Mtime = st.Mtime.Add(off)
		st.Ctime = st.Ctime.Add(off)
	}
	if r != nil && r.Stat != nil {
		r.Stat(&st)
	}
	return st
}

func (f *Sys) Link(oldpath, newpath string) error {
	c := Call{Op: Link, Path: oldpath, Path2: newpath}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Link(oldpath, newpath) })
}

func (f *Sys) LinkFD(fd int, newpath string) error {
	c := Call{Op: LinkFD, FD: fd, Path2: newpath}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.LinkFD(fd, newpath) })
}

func (f *Sys) Rename(oldpath, newpath string) error {
	c := Call{Op: Rename, Path: oldpath, Path2: newpath}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Rename(oldpath, newpath) })
}

func (f *Sys) Unlink(path string) error {
	c := Call{Op: Unlink, Path: path}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Unlink(path) })
}

func (f *Sys) LinkAt(dir int, oldname, newname string) error {
	c := Call{Op: Link, Path: f.at(dir, oldname), Path2: f.at(dir, newname), At: true}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.LinkAt(dir, oldname, newname) })
}

func (f *Sys) RenameAt(dir int, oldname, newname string) error {
	c := Call{Op: Rename, Path: f.at(dir, oldname), Path2: f.at(dir, newname), At: true}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.RenameAt(dir, oldname, newname) })
}

func (f *Sys) UnlinkAt(dir int, name string) error {
	c := Call{Op: Unlink, Path: f.at(dir, name), At: true}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.UnlinkAt(dir, name) })
}

func (f *Sys) TouchAt(dir int, name string) error {
	c := Call{Op: Touch, Path: f.at(dir, name), At: true}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.TouchAt(dir, name) })
}

func (f *Sys) ReadDirFD(dir int) ([]string, error) {
	c := Call{Op: ReadDir, Path: f.at(dir, "."), At: true}
	r := f.fault(c)
	var names []string
	err := run(r, c, func() (err error) { names, err = f.base.ReadDirFD(dir); return err })
	return names, err
}

func (f *Sys) Mkdir(path string, perm uint32) error {
	c := Call{Op: Mkdir, Path: path}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Mkdir(path, perm) })
}

func (f *Sys) ReadDir(dir string) ([]string, error) {
	c := Call{Op: ReadDir, Path: dir}
	r := f.fault(c)
	var names []string
	err := run(r, c, func() (err error) { names, err = f.base.ReadDir(dir); return err })
	return names, err
}

func (f *Sys) Touch(path string) error {
	c := Call{Op: Touch, Path: path}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.Touch(path) })
}

func (f *Sys) SetLock(fd int, kind sys.LockKind, lock bool) error {
	c := Call{Op: SetLock, FD: fd}
	r := f.fault(c)
	return run(r, c, func() error { return f.base.SetLock(fd, kind, lock) })
}

func (f *Sys) LockHolder(fd int) (bool, error) {
	c := Call{Op: LockHolder, FD: fd}
	r := f.fault(c)
	var held bool
	err := run(r, c, func() (err error) { held, err = f.base.LockHolder(fd); return err })
	return held, err
}

func (f *Sys) Mount(fd int) (sys.Mount, error) {
	c := Call{Op: Mount, FD: fd}
	r := f.fault(c)
	var m sys.Mount
	err := run(r, c, func() (err error) {
		f.mu.Lock()
		fake := f.mount
		f.mu.Unlock()
		if fake != nil {
			m = *fake
			return nil
		}
		m, err = f.base.Mount(fd)
		return err
	})
	return m, err
}

func (f *Sys) Now() time.Time {
	f.mu.Lock()
	d := f.clock
	f.mu.Unlock()
	return f.base.Now().Add(d)
}

func (f *Sys) Identity() (sys.Identity, error) {
	id, err := f.base.Identity()
	f.mu.Lock()
	fn := f.id
	f.mu.Unlock()
	if fn != nil {
		fn(&id)
	}
	return id, err
}

func (f *Sys) ProcStart(pid int) (uint64, error) {
	c := Call{Op: ProcStart, Path: fmt.Sprint(pid)}
	r := f.fault(c)
	var start uint64
	err := run(r, c, func() (err error) { start, err = f.base.ProcStart(pid); return err })
	return start, err
}
