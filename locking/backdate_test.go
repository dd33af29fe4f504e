package locking

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// A foreign lock whose mtime was set back (touch -d '2 hours ago', a
// restore from backup) is judged by its last change, which the server
// stamps in ctime and nobody can set back: it is broken T_foreign after
// the touch, not at once as dotlockfile and procmail break it, and Inspect
// (letterbox check) reports the age by the same rule, naming the mtime's
// claim (docs/locking.md §10.8).
func TestBackdatedForeignLock(t *testing.T) {
	const staleForeign = 1500 * time.Millisecond
	backdate := func(e *env) time.Time {
		e.foreign()
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(e.lock, old, old); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}

	t.Run("inspect", func(t *testing.T) {
		e := newEnv(t)
		backdate(e)
		o := e.opts(e.sys())
		o.StaleForeign = staleForeign
		st, err := Inspect(e.sys(), e.mbox, o)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stale || st.Age != 0 || st.MtimeAge < 2*time.Hour-time.Minute {
			t.Fatalf("%+v", st)
		}
		if !strings.Contains(st.Reason, "unchanged for 0s") || !strings.Contains(st.Reason, "its mtime says 2h0m0s ago") {
			t.Errorf("reason %q", st.Reason)
		}
	})

	t.Run("kept before T_foreign", func(t *testing.T) {
		e := newEnv(t)
		backdate(e)
		o := e.opts(e.sys())
		o.StaleForeign, o.Timeout = staleForeign, 700*time.Millisecond
		_, err := e.acquire(o)
		var be *BusyError
		if !errors.As(err, &be) {
			t.Fatalf("acquire: %v, want busy", err)
		}
		if c, _ := os.ReadFile(e.lock); string(c) != "0" {
			t.Fatalf("the lock was broken: %q", c)
		}
	})

	t.Run("broken after T_foreign", func(t *testing.T) {
		e := newEnv(t)
		touched := backdate(e)
		o := e.opts(e.sys())
		o.StaleForeign, o.Timeout = staleForeign, 10*time.Second
		d, err := e.acquire(o)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		// Stale at T_foreign after the touch; then the confirmation wait
		// (W, 35 ms here) and a waiter's backoff (capped at 1 s).
		took := time.Since(touched)
		if took < staleForeign || took > staleForeign+o.confirm()+1500*time.Millisecond {
			t.Errorf("broken %s after the touch; want between %s and %s", took, staleForeign, staleForeign+o.confirm()+1500*time.Millisecond)
		}
	})
}
