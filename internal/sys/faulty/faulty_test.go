package faulty

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

func TestLostReplyPerformsTheOperation(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, nil, 0o644)
	f := New(sys.Real{})
	f.Add(&Rule{Op: Link, Lost: true, Err: unix.EEXIST})
	if err := f.Link(a, b); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("link: %v", err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatal("a lost reply must still perform the link")
	}
}

func TestFailureDoesNotPerform(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, nil, 0o644)
	f := New(sys.Real{})
	f.Add(&Rule{Op: Unlink, Err: unix.EIO})
	if err := f.Unlink(a); !errors.Is(err, unix.EIO) {
		t.Fatalf("unlink: %v", err)
	}
	if _, err := os.Stat(a); err != nil {
		t.Fatal("a failed unlink must not remove the file")
	}
}

func TestSkipCountPathAndReplay(t *testing.T) {
	dir := t.TempDir()
	f := New(sys.Real{})
	r := f.Add(&Rule{Op: Open, Path: "x*", Skip: 1, Count: 2, Err: unix.ENOSPC})
	var errs []error
	for range 4 {
		fd, err := f.Open(filepath.Join(dir, "x1"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
		if err == nil {
			f.Close(fd)
		}
		errs = append(errs, err)
	}
	if errs[0] != nil || errs[1] == nil || errs[2] == nil || errs[3] != nil || r.Fired() != 2 {
		t.Fatalf("errors %v, fired %d", errs, r.Fired())
	}
	if _, err := f.Open(filepath.Join(dir, "y"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600); err != nil {
		t.Fatal("path pattern matched another name")
	}

	// Replay: a rename executed twice moves whatever is at the old name now.
	old, nw := filepath.Join(dir, "x1"), filepath.Join(dir, "moved")
	if err := f.Rename(old, nw); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	last := calls[len(calls)-1]
	os.WriteFile(old, []byte("second"), 0o644)
	if err := f.Replay(last); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(nw); string(b) != "second" {
		t.Fatalf("replay moved %q", b)
	}
}

func TestClocksAndIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, nil, 0o644)
	f := New(sys.Real{})
	f.SkewClock(time.Hour)
	f.SkewServer(-time.Hour)
	if d := f.Now().Sub(time.Now()); d < 59*time.Minute {
		t.Fatalf("clock skew %s", d)
	}
	st, err := f.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(st.Mtime); d < 59*time.Minute {
		t.Fatalf("server skew %s", d)
	}
	f.SetIdentity(func(id *sys.Identity) { id.Boot = "other" })
	if id, _ := f.Identity(); id.Boot != "other" {
		t.Fatalf("identity %+v", id)
	}
}

func TestShortWriteAndStaleStat(t *testing.T) {
	dir := t.TempDir()
	f := New(sys.Real{})
	f.Add(&Rule{Op: Write, Short: 3})
	f.Add(&Rule{Op: Fstat, Stat: func(s *sys.Stat) { s.Nlink = 7 }})
	fd, err := f.Open(filepath.Join(dir, "w"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(fd)
	if n, err := f.Write(fd, []byte("hello")); n != 3 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if st, _ := f.Fstat(fd); st.Nlink != 7 || st.Size != 3 {
		t.Fatalf("fstat = %+v", st)
	}
}

// An *At call is recorded, and matched, as the path-based call it stands
// for, with its directory's path joined to the name: rules written for
// paths and base names keep firing when code moves to directory
// descriptors.
func TestAtCallsRecordedAsPaths(t *testing.T) {
	dir := t.TempDir()
	f := New(sys.Real{})
	dfd, err := f.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(dfd)
	r := f.Add(&Rule{Op: Link, Path: "a", Count: 1, Lost: true, Err: unix.EEXIST})
	fd, err := f.OpenAt(dfd, "a", unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close(fd)
	if err := f.LinkAt(dfd, "a", "b"); !errors.Is(err, unix.EEXIST) || r.Fired() != 1 {
		t.Fatalf("LinkAt = %v, fired %d; want the rule on base name a to fire", err, r.Fired())
	}
	f.RenameAt(dfd, "b", "c")
	f.LstatAt(dfd, "c")
	f.TouchAt(dfd, "c")
	f.ReadDirFD(dfd)
	f.UnlinkAt(dfd, "c")
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	want := []Call{
		{Op: Open, Path: dir},
		{Op: Open, Path: a, At: true},
		{Op: Close, Path: a, FD: fd},
		{Op: Link, Path: a, Path2: b, At: true},
		{Op: Rename, Path: b, Path2: c, At: true},
		{Op: Lstat, Path: c, At: true},
		{Op: Touch, Path: c, At: true},
		{Op: ReadDir, Path: dir, At: true},
		{Op: Unlink, Path: c, At: true},
	}
	got := f.Calls()
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// A recorded *At call replays by its path, after its descriptor is gone.
	os.WriteFile(a, nil, 0o644)
	if err := f.Replay(Call{Op: Rename, Path: a, Path2: c, At: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c); err != nil {
		t.Fatalf("replayed RenameAt: %v", err)
	}
}
