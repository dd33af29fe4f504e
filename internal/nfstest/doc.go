// Package nfstest imitates an NFS mail spool at its worst, for end-to-end
// tests of the real letterbox binary and its peers: a FUSE loopback
// filesystem over a backing directory (the "server") that loses replies,
// replays old requests late, caches attributes and names, and runs its clock
// off, mounted once per simulated host so that every host has caches of its
// own (docs/locking.md §11).
//
// A Server is the backing directory and its Faults, shared by every host: a
// lost reply to link, unlink, rename, an O_EXCL create or mkdir (done, and
// the error a retransmission finds returned), a late second run of a lock
// release (an unlink or rename of a name ending in ".lock"), chosen write
// errors, and a clock offset. A Host is one client: its own mount with its
// own Caching, its own hostname (UTS namespace) and its own pid namespace,
// so two hosts can hand out the same pid; Command runs a program there.
// Kernel locks go through to the backing files as OFD locks, so they
// conflict across hosts. Which replies are lost is drawn from a seeded
// generator; the timing of a run is not reproducible.
//
// It needs root, /dev/fuse, unshare, nsenter and hostname, and skips the
// test, with the reason, without them. The caller owes Isolate first (and a
// return when it reports false): the tests mount inside a private mount
// namespace so that a crashed test leaves no mount behind. NewHost unmounts
// and ends its namespaces when the test ends; a mount made directly with
// Server.Mount is the caller's to unmount.
//
// It is written on go-fuse's loopback filesystem; what is written here is
// only the misbehaviour, which no NFS server can be made to show on demand.
package nfstest
