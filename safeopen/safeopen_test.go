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
