package privs

import (
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Drop makes uid and gid the real, effective and saved user and group IDs of
// every thread of the process, with groups as its only supplementary groups,
// and then verifies that: the IDs read back, and, unless uid is 0, that root
// cannot be regained. It needs root (CAP_SETUID, CAP_SETGID). Go applies
// these calls to all threads (syscall.AllThreadsSyscall), so no goroutine
// keeps root.
//
// On error the process may be left half-switched; the caller must not go on
// to touch a mailbox, and should exit.
func Drop(uid, gid int, groups []int) error {
	// Groups first, while still root: setgroups needs CAP_SETGID, which
	// setresuid takes away. An empty list clears root's own groups.
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", groups, err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("setresgid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("setresuid %d: %w", uid, err)
	}
	return verify(uid, gid, groups)
}

// verify checks what Drop did, as OpenSSH's permanently_set_uid does: a
// kernel or a runtime that silently ignored one of the calls would otherwise
// deliver as root.
func verify(uid, gid int, groups []int) error {
	r, e, s := unix.Getresuid()
	if r != uid || e != uid || s != uid {
		return fmt.Errorf("uids are %d/%d/%d after setresuid %d", r, e, s, uid)
	}
	r, e, s = unix.Getresgid()
	if r != gid || e != gid || s != gid {
		return fmt.Errorf("gids are %d/%d/%d after setresgid %d", r, e, s, gid)
	}
	got, err := syscall.Getgroups()
	if err != nil {
		return fmt.Errorf("getgroups: %w", err)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(groups))
	if !slices.Equal(got, want) {
		return fmt.Errorf("groups are %v after setgroups %v", got, want)
	}
	if uid != 0 {
		if err := syscall.Setresuid(0, 0, 0); err == nil {
			return fmt.Errorf("root regained after setresuid %d", uid)
		}
	}
	return nil
}
