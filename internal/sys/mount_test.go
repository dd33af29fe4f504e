package sys

import (
	"strings"
	"testing"
)

// The super options are found by device number past the optional fields,
// whose number varies.
func TestSuperOptions(t *testing.T) {
	const info = `22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
95 28 0:52 / /mnt/a rw,relatime shared:50 master:3 - nfs 10.0.2.15:/export rw,vers=3,rsize=1048576,hard,proto=tcp,timeo=10,retrans=1,sec=sys,local_lock=all,addr=10.0.2.15
96 28 0:53 / /mnt/b rw,relatime - nfs4 10.0.2.15:/export rw,vers=4.2,hard,local_lock=none
97 28 0:54 / /broken rw -
`
	for _, tc := range []struct {
		major, minor uint32
		want         string
		ok           bool
	}{
		{0, 52, "rw,vers=3,rsize=1048576,hard,proto=tcp,timeo=10,retrans=1,sec=sys,local_lock=all,addr=10.0.2.15", true},
		{0, 53, "rw,vers=4.2,hard,local_lock=none", true},
		{8, 1, "rw,errors=remount-ro", true},
		{0, 54, "", false}, // no fields after "-"
		{0, 5, "", false},
	} {
		got, ok, err := superOptions(strings.NewReader(info), tc.major, tc.minor)
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("superOptions(%d:%d) = %q, %v, %v; want %q, %v", tc.major, tc.minor, got, ok, err, tc.want, tc.ok)
		}
	}
}

// A local file system is not NFS, and its options are not read.
func TestMountLocal(t *testing.T) {
	_, fd := openFile(t, 0o600)
	m, err := Real{}.Mount(fd)
	if err != nil {
		t.Fatal(err)
	}
	if m.NFS || m.Options != "" {
		t.Errorf("Mount of a temporary file = %+v; want a local file system", m)
	}
}
