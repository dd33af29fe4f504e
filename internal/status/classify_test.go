package status

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
	"letterbox/locking"
	"letterbox/safeopen"
)

// Every failure a mailbox command meets maps to one status, the same for
// every command.
func TestOf(t *testing.T) {
	own := Perm("5.4.6", DataErr, errors.New("loop"))
	for _, tc := range []struct {
		err       error
		quotaTemp bool
		dsn       string
		code      int
		text      string
	}{
		{own, true, "5.4.6", DataErr, "loop"},
		{&locking.BusyError{Lock: "M.lock"}, true, "4.2.0", TempFail, "M.lock: lock busy for 0s"},
		{&locking.InterruptedError{Mailbox: "M", Err: context.Canceled}, true, "4.2.0", TempFail, "M: interrupted while waiting for the lock"},
		{fmt.Errorf("M.lock: %w", locking.ErrLost), true, "4.2.0", TempFail, "M.lock: lock lost"},
		{fmt.Errorf("M.lock: %w (a directory)", locking.ErrNotLockFile), true, "4.2.0", TempFail, "M.lock: lock path is not a regular file (a directory)"},
		{fmt.Errorf("M: %w: file has 2 hard links", safeopen.ErrUnsafe), true, "4.2.0", TempFail, "M: unsafe mailbox: file has 2 hard links"},
		{&locking.LocalLockError{Mailbox: "M", Kind: sys.OFD, Option: "nolock"}, true, "4.3.5", TempFail, "lock M (fcntl): kernel locks on this NFS mount stay on this machine (nolock): another machine's delivery would not be kept out; mount without it, or set trust_local_locks if only this machine writes here"},
		{fmt.Errorf("write: %w", unix.ENOSPC), true, "4.3.1", TempFail, "M: write: no space left on device"},
		{fmt.Errorf("write: %w", unix.EDQUOT), true, "4.2.2", TempFail, "M: write: disk quota exceeded"},
		{fmt.Errorf("write: %w", unix.EDQUOT), false, "5.2.2", CantCreat, "M: write: disk quota exceeded"},
		{fmt.Errorf("write: %w", unix.EFBIG), false, "5.2.2", CantCreat, "M: write: file too large"},
		{fmt.Errorf("write: %w", context.Canceled), true, "4.2.0", TempFail, "M: delivery interrupted; undone"},
		{fmt.Errorf("create M.lock.x: %w", unix.ENOENT), true, "4.2.0", TempFail, "M: create M.lock.x: no such file or directory"},
		{fmt.Errorf("write: %w", unix.EIO), false, "4.2.0", TempFail, "M: write: input/output error"},
	} {
		got := Of(tc.err, "M", tc.quotaTemp)
		if got.DSN != tc.dsn || got.Code != tc.code || got.Err.Error() != tc.text {
			t.Errorf("Of(%v, %v) = %s %d %q; want %s %d %q", tc.err, tc.quotaTemp, got.DSN, got.Code, got.Err, tc.dsn, tc.code, tc.text)
		}
	}
	if Of(nil, "M", true) != nil {
		t.Error("Of(nil) is not nil")
	}
}

// A lock that cannot be made because the file system (or the quota) is full
// is a full disk (or a size limit), not a busy lock, and is known as such
// long before lock_timeout (docs/locking.md §11 row 18).
func TestOfFullLockDirectory(t *testing.T) {
	for _, tc := range []struct {
		errno     unix.Errno
		quotaTemp bool
		dsn       string
		code      int
	}{
		{unix.ENOSPC, true, "4.3.1", TempFail},
		{unix.EDQUOT, true, "4.2.2", TempFail},
		{unix.EDQUOT, false, "5.2.2", CantCreat},
	} {
		t.Run(fmt.Sprintf("%v_%v", tc.errno, tc.quotaTemp), func(t *testing.T) {
			t.Parallel()
			mb := filepath.Join(t.TempDir(), "M")
			if err := os.WriteFile(mb, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			f := faulty.New(sys.Real{})
			f.Add(&faulty.Rule{Op: faulty.Open, Path: "M.lock.*", Err: tc.errno})
			o := locking.Options{Sys: f, Timeout: 20 * time.Second}
			start := time.Now()
			_, err := locking.AcquireDotlock(context.Background(), mb, o)
			if waited := time.Since(start); waited > 5*time.Second {
				t.Fatalf("waited %s for a full file system", waited)
			}
			got := Of(err, mb, tc.quotaTemp)
			if got == nil || got.DSN != tc.dsn || got.Code != tc.code {
				t.Fatalf("Of(%v) = %v, want %s %d", err, got, tc.dsn, tc.code)
			}
		})
	}
}
