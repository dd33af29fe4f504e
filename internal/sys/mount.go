package sys

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount reads fstatfs(2) first, so that a local file system costs one
// system call; only an NFS mount has its options looked up.
func (Real) Mount(fd int) (Mount, error) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return Mount{}, err
	}
	if fs.Type != unix.NFS_SUPER_MAGIC {
		return Mount{}, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Mount{}, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Mount{}, unwrap(err)
	}
	defer f.Close()
	opts, ok, err := superOptions(f, unix.Major(st.Dev), unix.Minor(st.Dev))
	if err != nil {
		return Mount{}, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	if !ok {
		// An NFS file whose mount cannot be found: what its locks do is
		// unknown, and guessing could only be wrong in the unsafe direction.
		return Mount{}, fmt.Errorf("no mount of device %d:%d in /proc/self/mountinfo", unix.Major(st.Dev), unix.Minor(st.Dev))
	}
	return Mount{NFS: true, Options: opts}, nil
}

// superOptions returns the super options of the first mount of device
// major:minor in a mountinfo file (proc(5)): "36 35 0:52 / /mnt rw,relatime
// shared:1 - nfs server:/export rw,vers=3,...". The optional fields before
// "-" vary in number; the three after it do not.
func superOptions(f io.Reader, major, minor uint32) (string, bool, error) {
	dev := fmt.Sprintf("%d:%d", major, minor)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20) // options of a mount can be long
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[2] != dev {
			continue
		}
		for i, fl := range fields {
			if fl == "-" && i+3 < len(fields) {
				return fields[i+3], true, nil
			}
		}
	}
	return "", false, sc.Err()
}
