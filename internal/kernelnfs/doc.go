// Package kernelnfs boots a real Linux NFS server and two real NFS client
// mounts inside qemu, so that tests can run letterbox against the kernel's
// own NFS code rather than an imitation of it (internal/nfstest).
//
// The guest is Debian's stock kernel (the package linux-image-amd64 points
// at), fetched with apt-get download and unpacked, never installed, plus a
// busybox initramfs holding knfsd's user-space tools (rpcbind, rpc.statd,
// rpc.mountd, rpc.nfsd, exportfs, mount.nfs), nft for dropping chosen
// replies, and dotlockfile when the host has it. Build makes it once;
// Guest.Boot boots it with a payload — files appended to the initramfs
// under /payload — runs /payload/run in it, and returns what that printed
// on the guest's second serial port and the status it ended with.
//
// In the guest, knfsd exports a tmpfs at /export over the guest's own
// loopback (the guest has no network card), and /mnt/a and /mnt/b are two
// client mounts of it: for NFSv3 two superblocks with caches of their own
// (nosharecache); for NFSv4 also two NFSv4 clients, the second mounted from
// a UTS namespace named "nfsclientb" against a second server address, so
// that the server sees two client identities, leases and lock owners. The
// kernel command line chooses the version (lbnfs.vers=3 or 4.2) and extra
// mount options (lbnfs.opts=).
//
// It refuses to run where it cannot: not root (apt-get, qemu's initramfs
// of root-owned files), no qemu-system-x86_64, busybox, kmod or cpio, or
// packages that cannot be fetched. Build then returns an *UnavailableError
// whose text is the reason a test skips with. Everything else is an error.
//
// Nothing is mounted, started or installed on the host besides the qemu
// process, which Boot ends by its context or timeout. The caller owes the
// directories Build writes into and removes them. Under TCG (this machine's
// KVM cannot boot a stock kernel) a guest takes 10–20 s to boot and is
// CPU-bound: boot one at a time.
package kernelnfs
