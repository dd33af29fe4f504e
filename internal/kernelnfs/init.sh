#!/bin/sh
# /init of the kernelnfs guest (package doc). Brings up knfsd exporting a
# tmpfs at /export over the loopback, mounts it at /mnt/a and /mnt/b as two
# NFS clients, runs /payload/run with its output on the second serial port,
# reports "LBNFS-EXIT status=N" there and powers off.
# Kernel arguments: lbnfs.vers=3|4.2 (default 3), lbnfs.opts=extra,mount,options.
export PATH=/sbin:/bin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/rpcbind
hostname nfsguest
ip link set lo up
OUT=/dev/ttyS1

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^lbnfs\.$1=//p" | tail -n1; }
VERS=$(arg vers); VERS=${VERS:-3}
OPTS=$(arg opts)

server_up() {
	set -e
	# NLM's grace period after a restart: 3 s, not 90, so that v3 locks
	# work again soon after the restarts the fault scenarios make.
	modprobe lockd nlm_grace_period=3 nlm_timeout=3
	modprobe nfsd; modprobe nfsv3; modprobe nfsv4
	modprobe nf_tables
	mount -t nfsd nfsd /proc/fs/nfsd
	mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
	rpcbind
	rpc.statd --no-notify
	mount -t tmpfs -o mode=0755,size=256m tmpfs /export
	exportfs -ra
	rpc.mountd
	# Short NFSv4 lease and grace: a client that dies is forgotten in 10 s.
	echo 10 >/proc/fs/nfsd/nfsv4leasetime
	echo 10 >/proc/fs/nfsd/nfsv4gracetime
	rpc.nfsd 8
	# A fresh server has no clients to wait for.
	echo Y >/proc/fs/nfsd/v4_end_grace
	set +e
}

# Two clients. NFSv3: two superblocks, each over a connection of its own
# (another server address), so that replies dropped on one leave the other
# running. NFSv4: the second also from another UTS namespace, so that it
# is another client to the server (its own client id, lease and lock
# owners).
mount_two() {
	o="vers=$VERS,proto=tcp,nosharecache${OPTS:+,$OPTS}"
	mount -t nfs -o "$o" 127.0.0.1:/export /mnt/a || return 1
	case $VERS in
	3) mount -t nfs -o "$o" 127.0.0.2:/export /mnt/b ;;
	*) unshare -u sh -c "hostname nfsclientb && mount -t nfs -o '$o' 127.0.0.2:/export /mnt/b" ;;
	esac
}

server_up >/tmp/setup.log 2>&1 && mount_two >>/tmp/setup.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	{ echo "guest setup failed:"; cat /tmp/setup.log; } >$OUT 2>&1
elif [ -x /payload/run ]; then
	(cd /payload && KERNELNFS_GUEST=1 LBNFS_VERS=$VERS LBNFS_OPTS=$OPTS ./run) >$OUT 2>&1
	rc=$?
fi
echo "LBNFS-EXIT status=$rc" >$OUT
umount /mnt/b /mnt/a 2>/dev/null
rpc.nfsd 0
sync
poweroff -f
