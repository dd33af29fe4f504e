package locking

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/internal/sys/faulty"
)

// A kernel lock that an NFS mount keeps on this machine is refused before
// anything is created, unless the operator trusts it; a lock the mount
// sends to the server, a local file system and a dot-lock alone are not
// asked about (docs/locking.md §10.9).
func TestLocalKernelLocks(t *testing.T) {
	fcntl := []sys.LockKind{sys.OFD}
	for _, tc := range []struct {
		name    string
		mount   *sys.Mount // nil: the real file system (local)
		kinds   []sys.LockKind
		trust   bool
		refused string // the option named, "" when acquired
	}{
		{"local file system", nil, fcntl, false, ""},
		{"nfs, locks on the server", &sys.Mount{NFS: true, Options: "rw,vers=4.2,hard,proto=tcp,local_lock=none,addr=10.0.2.15"}, fcntl, false, ""},
		{"nfs, old kernel shows no local_lock", &sys.Mount{NFS: true, Options: "rw,vers=4.2,hard"}, fcntl, false, ""},
		{"local_lock=all", &sys.Mount{NFS: true, Options: "rw,vers=3,local_lock=all,addr=10.0.2.15"}, fcntl, false, "local_lock=all"},
		{"nolock", &sys.Mount{NFS: true, Options: "rw,vers=3,nolock,addr=10.0.2.15"}, fcntl, false, "nolock"},
		{"local_lock=posix, fcntl", &sys.Mount{NFS: true, Options: "vers=3,local_lock=posix"}, fcntl, false, "local_lock=posix"},
		{"local_lock=posix, classic fcntl", &sys.Mount{NFS: true, Options: "vers=3,local_lock=posix"}, []sys.LockKind{sys.POSIX}, false, "local_lock=posix"},
		{"local_lock=posix, flock", &sys.Mount{NFS: true, Options: "vers=3,local_lock=posix"}, []sys.LockKind{sys.Flock}, false, ""},
		{"local_lock=flock, fcntl", &sys.Mount{NFS: true, Options: "vers=3,local_lock=flock"}, fcntl, false, ""},
		{"local_lock=flock, fcntl and flock", &sys.Mount{NFS: true, Options: "vers=3,local_lock=flock"}, []sys.LockKind{sys.OFD, sys.Flock}, false, "local_lock=flock"},
		{"local_lock=all, trusted", &sys.Mount{NFS: true, Options: "vers=3,local_lock=all"}, fcntl, true, ""},
		{"local_lock=all, dot-lock only", &sys.Mount{NFS: true, Options: "vers=3,local_lock=all"}, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			f := e.sys()
			if tc.mount != nil {
				f.SetMount(*tc.mount)
			}
			m := Methods{Dotlock: true, Kernel: tc.kinds, TrustLocal: tc.trust}
			l, err := Acquire(context.Background(), e.mbox, m, e.opts(f), openRW)
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := l.Release(); err != nil {
					t.Fatal(err)
				}
				if tc.kinds == nil || tc.trust {
					if n := mountCalls(f); n != 0 {
						t.Errorf("the mount was asked about %d times, with nothing to ask", n)
					}
				}
				e.only()
				return
			}
			var le *LocalLockError
			if !errors.As(err, &le) || le.Option != tc.refused || !errors.Is(err, ErrLocalKernelLock) {
				t.Fatalf("Acquire = %v; want a *LocalLockError naming %s", err, tc.refused)
			}
			if n := mountCalls(f); n != 1 {
				t.Errorf("the mount was asked about %d times, want once", n)
			}
			e.only() // no dot-lock made and left
		})
	}
}

// A mount that cannot be looked up is no permission: the lock is refused
// with the reason, and nothing is left.
func TestLocalKernelLocksUnknownMount(t *testing.T) {
	e := newEnv(t)
	f := e.sys()
	f.Add(&faulty.Rule{Op: faulty.Mount, Err: unix.ENOENT})
	_, err := Acquire(context.Background(), e.mbox, Methods{Dotlock: true, Kernel: []sys.LockKind{sys.OFD}}, e.opts(f), openRW)
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Acquire = %v; want the mount's error", err)
	}
	e.only()
}

func mountCalls(f *faulty.Sys) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == faulty.Mount {
			n++
		}
	}
	return n
}
