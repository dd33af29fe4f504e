package status

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

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
