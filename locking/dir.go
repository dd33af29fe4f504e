package locking

import (
	"path/filepath"

	"letterbox/internal/sys"
	"letterbox/safeopen"
)

// lockDir is the directory of a lock, open at a descriptor that
// safeopen.OpenDir proved to be the directory its checked walk reached
// (docs/locking.md §10.0). Every operation on a lock file goes through it,
// relative to that descriptor: a path checked once and then used again by
// name would let a directory swapped for a symlink in between redirect the
// creates, links, renames and unlinks into another directory — as root,
// anywhere (issue 12).
//
// Its methods take the paths the lock code builds (the lock, the unique
// file, the private names), all of which lie in this directory, and use
// only their base names.
type lockDir struct {
	s   sys.Sys
	dir safeopen.Dir
}

func (d lockDir) Open(p string, flags int, perm uint32) (int, error) {
	return d.s.OpenAt(d.dir.FD, filepath.Base(p), flags, perm)
}

func (d lockDir) Lstat(p string) (sys.Stat, error) { return d.s.LstatAt(d.dir.FD, filepath.Base(p)) }

func (d lockDir) Link(oldp, newp string) error {
	return d.s.LinkAt(d.dir.FD, filepath.Base(oldp), filepath.Base(newp))
}

func (d lockDir) Rename(oldp, newp string) error {
	return d.s.RenameAt(d.dir.FD, filepath.Base(oldp), filepath.Base(newp))
}

func (d lockDir) Unlink(p string) error { return d.s.UnlinkAt(d.dir.FD, filepath.Base(p)) }
func (d lockDir) Touch(p string) error  { return d.s.TouchAt(d.dir.FD, filepath.Base(p)) }

// ReadDir returns the names in the directory.
func (d lockDir) ReadDir() ([]string, error) { return d.s.ReadDirFD(d.dir.FD) }

// readLock returns up to 512 bytes of the lock file at p.
func (d lockDir) readLock(p string) ([]byte, error) {
	return readLock(d.s, d.dir.FD, filepath.Base(p))
}

// close closes the descriptor.
func (d lockDir) close() { d.s.Close(d.dir.FD) }
