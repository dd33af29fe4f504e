package safeopen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// Every shape of a planted or wrong mailbox, for every mode: what Open
// refuses, and what it opens.
func TestOpen(t *testing.T) {
	me := os.Geteuid()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the mailbox path
		o     Options
		want  error // nil: opens; ErrUnsafe, unix.ENOENT, ...
	}{
		{"existing file", file, Options{Mode: Append, Owner: me}, nil},
		{"missing, created", missing, Options{Mode: Append, Owner: me}, nil},
		{"missing, NoCreate", missing, Options{Mode: Append, Owner: me, NoCreate: true}, unix.ENOENT},
		{"missing, Read", missing, Options{Mode: Read, Owner: -1}, unix.ENOENT},
		{"missing, Probe", missing, Options{Mode: Probe, Owner: -1}, unix.ENOENT},
		{"hard link", hardLink, Options{Mode: Append, Owner: -1}, ErrUnsafe},
		{"hard link, Read", hardLink, Options{Mode: Read, Owner: -1}, ErrUnsafe},
		{"hard link, Probe", hardLink, Options{Mode: Probe, Owner: -1}, ErrUnsafe},
		{"FIFO (must not hang)", fifo, Options{Mode: Append, Owner: -1}, ErrUnsafe},
		{"FIFO, Probe", fifo, Options{Mode: Probe, Owner: -1}, ErrUnsafe},
		{"directory", directory, Options{Mode: Probe, Owner: -1}, ErrUnsafe},
		{"planted symlink, last component", plantedLink, Options{Mode: Append, Owner: -1}, ErrUnsafe},
		{"planted symlink, Read", plantedLink, Options{Mode: Read, Owner: -1}, ErrUnsafe},
		{"planted symlink in the directory path", plantedDirLink, Options{Mode: Append, Owner: -1}, ErrUnsafe},
		{"another owner", file, Options{Mode: Append, Owner: me + 1}, ErrUnsafe},
		{"any owner", file, Options{Mode: Read, Owner: -1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before := snapshot(t, dir)
			fd, err := Open(sys.Real{}, path, tc.o)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer unix.Close(fd)
				var st unix.Stat_t
				if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
					t.Fatalf("opened %+v, %v", st, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %d, %v; want %v", fd, err, tc.want)
			}
			if fd != -1 {
				t.Errorf("fd = %d on error", fd)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("a refused open changed the directory: %q -> %q", before, after)
			}
		})
	}
}

// A mailbox Open creates has its directory fsynced: the new name must be
// as durable as the data that will be appended.
func TestOpenCreateSyncsDir(t *testing.T) {
	dir := t.TempDir()
	f := faulty.New(sys.Real{})
	r := f.Add(&faulty.Rule{Op: faulty.Fsync, Err: unix.EIO})
	fd, err := Open(f, filepath.Join(dir, "M"), Options{Mode: Append, Owner: -1})
	if !errors.Is(err, unix.EIO) || r.Fired() != 1 {
		t.Fatalf("Open with a failing directory fsync = %d, %v (fired %d); want EIO", fd, err, r.Fired())
	}
	// An existing mailbox has nothing to sync.
	fd, err = Open(f, filepath.Join(dir, "M"), Options{Mode: Append, Owner: -1})
	if err != nil || r.Fired() != 1 {
		t.Fatalf("Open of an existing mailbox = %d, %v (fsyncs %d)", fd, err, r.Fired())
	}
	unix.Close(fd)
}

// Recheck catches a mailbox renamed away and replaced after it was opened.
func TestRecheckReplaced(t *testing.T) {
	dir := t.TempDir()
	path := file(t, dir)
	fd, err := Open(sys.Real{}, path, Options{Mode: Append, Owner: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := Recheck(sys.Real{}, fd, path); err != nil {
		t.Fatalf("Recheck of an unchanged mailbox: %v", err)
	}
	os.Rename(path, path+".old")
	os.WriteFile(path, nil, 0o600)
	if _, err := Recheck(sys.Real{}, fd, path); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Recheck after replace = %v, want ErrUnsafe", err)
	}
}

func TestOwner(t *testing.T) {
	euid := os.Geteuid()
	if got := Owner(true); got != euid {
		t.Errorf("Owner(strict) = %d, want %d", got, euid)
	}
	want := -1
	if euid == 0 {
		want = 0 // root writes only root's files, whatever strict says
	}
	if got := Owner(false); got != want {
		t.Errorf("Owner(!strict) = %d, want %d", got, want)
	}
}

func file(t *testing.T, dir string) string {
	p := filepath.Join(dir, "M")
	if err := os.WriteFile(p, []byte("From a  Mon Jan  1 00:00:00 2026\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func missing(t *testing.T, dir string) string { return filepath.Join(dir, "M") }

func hardLink(t *testing.T, dir string) string {
	p := file(t, dir)
	if err := os.Link(p, filepath.Join(dir, "stolen")); err != nil {
		t.Fatal(err)
	}
	return p
}

func fifo(t *testing.T, dir string) string {
	p := filepath.Join(dir, "M")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func directory(t *testing.T, dir string) string {
	p := filepath.Join(dir, "M")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// world returns a world-writable directory below dir: a link in it could
// have been planted by anyone, whoever owns it.
func world(t *testing.T, dir string) string {
	w := filepath.Join(dir, "pub")
	if err := os.Mkdir(w, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(w, 0o777)
	return w
}

func plantedLink(t *testing.T, dir string) string {
	target := file(t, dir)
	p := filepath.Join(world(t, dir), "M")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func plantedDirLink(t *testing.T, dir string) string {
	file(t, dir)
	d := filepath.Join(world(t, dir), "d")
	if err := os.Symlink(dir, d); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "M")
}

// snapshot lists dir's tree, names and sizes.
func snapshot(t *testing.T, dir string) string {
	var s string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			s += p + " " + fi.Mode().String() + "\n"
		}
		return nil
	})
	return s
}

// OpenDir walks the directory path and refuses a symlink anyone could have
// planted — in an absolute path and, since the rule is about who could
// make the link and not how the path is spelt, in a relative one — and
// follows one only root could have made.
func TestOpenDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		root  bool                                            // needs root (chown)
		setup func(t *testing.T, dir string) (string, string) // the directory to open, and where it must lead
		want  error
	}{
		{"plain", false, func(t *testing.T, dir string) (string, string) { return dir, dir }, nil},
		{"planted link in a world-writable directory", false, func(t *testing.T, dir string) (string, string) {
			return filepath.Dir(plantedDirLink(t, dir)), ""
		}, ErrUnsafe},
		{"planted link, relative path", false, func(t *testing.T, dir string) (string, string) {
			t.Chdir(dir)
			plantedDirLink(t, dir)
			return "pub/d", ""
		}, ErrUnsafe},
		{"a user's link in a root-only directory", true, func(t *testing.T, dir string) (string, string) {
			l := filepath.Join(dir, "l")
			os.Symlink(dir, l)
			if err := os.Lchown(l, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(l, "."), ""
		}, ErrUnsafe},
		{"root's link in a root-only directory", true, func(t *testing.T, dir string) (string, string) {
			target := filepath.Join(dir, "target")
			os.Mkdir(target, 0o755)
			l := filepath.Join(dir, "l")
			os.Symlink(target, l)
			return l, target
		}, nil},
		{"a file on the way", false, func(t *testing.T, dir string) (string, string) {
			return filepath.Join(file(t, dir), "x"), ""
		}, unix.ENOTDIR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			dir := t.TempDir()
			os.Chmod(dir, 0o755) // root-only: writable by its owner alone
			open, leads := tc.setup(t, dir)
			before := snapshot(t, dir)
			d, err := OpenDir(sys.Real{}, open)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || d.FD != -1 {
					t.Fatalf("OpenDir(%s) = %+v, %v; want %v", open, d, err, tc.want)
				}
				if after := snapshot(t, dir); after != before {
					t.Errorf("a refused OpenDir changed the directory: %q -> %q", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenDir(%s): %v", open, err)
			}
			defer unix.Close(d.FD)
			var got, want unix.Stat_t
			unix.Fstat(d.FD, &got)
			unix.Stat(leads, &want)
			if got.Dev != want.Dev || got.Ino != want.Ino {
				t.Fatalf("OpenDir(%s) opened inode %d, want %s's %d", open, got.Ino, leads, want.Ino)
			}
		})
	}
}

// A directory swapped for a symlink after OpenDir checked it cannot
// redirect OpenIn: the mailbox is created in the directory that was
// checked, and the symlink's target is left alone.
func TestOpenInStaysInCheckedDir(t *testing.T) {
	base := t.TempDir()
	d, target := filepath.Join(base, "d"), filepath.Join(base, "target")
	os.Mkdir(d, 0o700)
	os.Mkdir(target, 0o700)
	dir, err := OpenDir(sys.Real{}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir.FD)
	os.Rename(d, d+".moved")
	os.Symlink(target, d)
	fd, err := OpenIn(sys.Real{}, dir, "M", Options{Mode: Append, Owner: -1})
	if err != nil {
		t.Fatalf("OpenIn: %v", err)
	}
	unix.Close(fd)
	if _, err := os.Lstat(filepath.Join(d+".moved", "M")); err != nil {
		t.Errorf("the mailbox is not in the checked directory: %v", err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("the symlink's target got %v", ents)
	}
}

// OpenIn takes one file name: more would be resolved without the walk's
// checks.
func TestOpenInRefusesAPath(t *testing.T) {
	base := t.TempDir()
	dir, err := OpenDir(sys.Real{}, base)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir.FD)
	for _, name := range []string{"a/M", "..", ".", ""} {
		if fd, err := OpenIn(sys.Real{}, dir, name, Options{Mode: Append, Owner: -1}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("OpenIn(%q) = %d, %v; want ErrUnsafe", name, fd, err)
		}
	}
}
