package kernelnfs

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// UnavailableError is a reason the guest cannot be built here: a missing
// tool, not root, packages that cannot be fetched.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return e.Reason }

// Guest is a built guest: a kernel and the initramfs every boot starts
// from.
type Guest struct {
	Kernel  string // the vmlinuz
	Initrd  string // the base initramfs, gzipped newc cpio
	Release string // the kernel's release, e.g. 6.1.0-56-amd64
	dir     string
}

//go:embed init.sh
var initScript []byte

// hostTools are what Build and Boot run on the host.
var hostTools = []string{"qemu-system-x86_64", "busybox", "depmod", "modprobe", "cpio", "gzip", "apt-get", "apt-cache", "dpkg", "ldd", "nft"}

// modules are the guest's kernel modules, with their dependencies: knfsd
// and both client versions, nftables for dropping replies.
var modules = []string{"nfsd", "nfsv3", "nfsv4", "nf_tables"}

// Build makes the guest in dir, keeping the fetched packages in cache (a
// directory that may outlive the run: the kernel package is 70 MB).
func Build(dir, cache string) (*Guest, error) {
	if os.Geteuid() != 0 {
		return nil, &UnavailableError{"needs root: apt-get download and an initramfs of root-owned files"}
	}
	for _, t := range hostTools {
		if _, err := exec.LookPath(t); err != nil {
			return nil, &UnavailableError{fmt.Sprintf("%s is not installed (CI installs qemu-system-x86 busybox-static kmod cpio nftables)", t)}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := &Guest{dir: dir}
	debs, err := fetch(cache)
	if err != nil {
		return nil, err
	}
	x := filepath.Join(dir, "x")
	if err := os.RemoveAll(x); err != nil {
		return nil, err
	}
	for _, d := range debs {
		if err := run("dpkg", "-x", d, x); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", filepath.Base(d), err)
		}
	}
	rels, err := os.ReadDir(filepath.Join(x, "lib/modules"))
	if err != nil || len(rels) != 1 {
		return nil, fmt.Errorf("kernel package: want one release in lib/modules, have %d (%v)", len(rels), err)
	}
	g.Release = rels[0].Name()
	g.Kernel = filepath.Join(dir, "vmlinuz")
	if err := copyFile(filepath.Join(x, "boot", "vmlinuz-"+g.Release), g.Kernel); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "root")
	if err := g.makeRoot(x, root); err != nil {
		return nil, fmt.Errorf("guest root: %w", err)
	}
	g.Initrd = filepath.Join(dir, "base.cpio.gz")
	if err := packCpio(root, g.Initrd); err != nil {
		return nil, err
	}
	return g, nil
}

// fetch downloads the kernel and NFS packages into cache unless they are
// there, and returns their paths.
func fetch(cache string) ([]string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return nil, &UnavailableError{fmt.Sprintf("apt-cache depends linux-image-amd64: %v (apt-get update first)", err)}
	}
	kpkg := regexp.MustCompile(`Depends: (linux-image-[0-9][^\s]*)`).FindSubmatch(out)
	if kpkg == nil {
		return nil, &UnavailableError{"apt-cache: linux-image-amd64 depends on no kernel image"}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	var debs []string
	for _, p := range []string{string(kpkg[1]), "nfs-common", "nfs-kernel-server", "rpcbind"} {
		have, _ := filepath.Glob(filepath.Join(cache, p+"_*.deb"))
		if len(have) == 0 {
			cmd := exec.Command("apt-get", "download", "-q", p)
			cmd.Dir = cache
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, &UnavailableError{fmt.Sprintf("apt-get download %s: %v: %s", p, err, bytes.TrimSpace(out))}
			}
			have, _ = filepath.Glob(filepath.Join(cache, p+"_*.deb"))
		}
		if len(have) == 0 {
			return nil, &UnavailableError{"apt-get download " + p + " left no .deb"}
		}
		debs = append(debs, have[len(have)-1])
	}
	return debs, nil
}

// makeRoot lays out the initramfs in root: busybox for the shell and the
// small tools, the module closure, the NFS tools from the unpacked
// packages x, and the host's nft and dotlockfile, each with the shared
// libraries it needs (the host runs the same Debian release).
func (g *Guest) makeRoot(x, root string) error {
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	for _, d := range []string{"bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "export", "mnt/a", "mnt/b",
		"var/lib/nfs/sm", "var/lib/nfs/sm.bak", "var/lib/nfs/v4recovery", "var/lib/nfs/rpc_pipefs", "var/lock"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	bb, _ := exec.LookPath("busybox")
	if err := copyFile(bb, filepath.Join(root, "bin/busybox")); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			os.Symlink("busybox", filepath.Join(root, "bin", a))
		}
	}
	// The kernel's request_module runs /sbin/modprobe.
	os.Symlink("/bin/busybox", filepath.Join(root, "sbin/modprobe"))

	// Modules: the closure modprobe computes over the unpacked tree, then
	// depmod over the copy so that busybox modprobe finds them.
	if err := run("depmod", "-b", x, g.Release); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range modules {
		out, err := exec.Command("modprobe", "-d", x, "-S", g.Release, "--show-depends", m).Output()
		if err != nil {
			return fmt.Errorf("modprobe --show-depends %s: %w", m, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "insmod" || seen[f[1]] {
				continue
			}
			seen[f[1]] = true
			rel, _ := filepath.Rel(x, f[1])
			if err := copyFile(f[1], filepath.Join(root, rel)); err != nil {
				return err
			}
		}
	}
	mdir := filepath.Join("lib/modules", g.Release)
	for _, f := range []string{"modules.order", "modules.builtin", "modules.builtin.modinfo"} {
		copyFile(filepath.Join(x, mdir, f), filepath.Join(root, mdir, f))
	}
	if err := run("depmod", "-b", root, g.Release); err != nil {
		return err
	}

	bins := map[string]string{ // guest path: host path
		"/sbin/rpcbind":     filepath.Join(x, "sbin/rpcbind"),
		"/sbin/rpc.statd":   filepath.Join(x, "sbin/rpc.statd"),
		"/sbin/mount.nfs":   filepath.Join(x, "sbin/mount.nfs"),
		"/sbin/rpc.nfsd":    filepath.Join(x, "usr/sbin/rpc.nfsd"),
		"/sbin/rpc.mountd":  filepath.Join(x, "usr/sbin/rpc.mountd"),
		"/sbin/exportfs":    filepath.Join(x, "usr/sbin/exportfs"),
		"/sbin/nfsdcltrack": filepath.Join(x, "sbin/nfsdcltrack"),
	}
	bins["/sbin/nft"], _ = exec.LookPath("nft") // a host tool: Build checked it
	if p, err := exec.LookPath("dotlockfile"); err == nil {
		bins["/bin/dotlockfile"] = p
	}
	for dst, src := range bins {
		if err := copyWithLibs(src, root, dst); err != nil {
			return err
		}
	}
	os.Symlink("mount.nfs", filepath.Join(root, "sbin/mount.nfs4"))

	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n_rpc:x:100:65534::/run/rpcbind:/bin/false\n" +
			"statd:x:101:65534::/var/lib/nfs:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\nmail:x:8:8:mail:/var/mail:/bin/false\n",
		"etc/group":         "root:x:0:\nmail:x:8:\nnogroup:x:65534:\n",
		"etc/hosts":         "127.0.0.1 localhost nfsguest\n127.0.0.2 nfsserver2\n",
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
		"etc/nfs.conf":      "[nfsd]\nthreads=8\n[mountd]\nmanage-gids=n\n",
		"etc/exports":       "/export 127.0.0.0/8(rw,sync,no_subtree_check,no_root_squash,insecure,fsid=1)\n",
		"etc/fstab":         "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, f := range []string{"/etc/netconfig", "/etc/services", "/etc/protocols"} {
		copyFile(f, filepath.Join(root, f))
	}
	// rpc.statd drops to the owner of its directory.
	os.Chown(filepath.Join(root, "var/lib/nfs/sm"), 101, 65534)
	os.Chown(filepath.Join(root, "var/lib/nfs/sm.bak"), 101, 65534)
	return os.WriteFile(filepath.Join(root, "init"), initScript, 0o755)
}

// copyWithLibs copies the program src to dst in root, with the shared
// libraries ldd names for it.
func copyWithLibs(src, root, dst string) error {
	if err := copyFile(src, filepath.Join(root, dst)); err != nil {
		return err
	}
	out, err := exec.Command("ldd", src).Output()
	if err != nil {
		return nil // static: nothing more to copy
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0] // the dynamic loader
		default:
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, lib)); err == nil {
			continue
		}
		if err := copyFile(lib, filepath.Join(root, lib)); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src, following symlinks, to dst with src's mode,
// making dst's directory.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}

// packCpio writes the tree at root as a gzipped newc archive, the form
// the kernel unpacks as an initramfs.
func packCpio(root, dst string) error {
	cmd := exec.Command("sh", "-c", `find . -print0 | cpio --null -o -H newc --quiet | gzip -1 > "$0"`, dst)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pack initramfs: %v: %s", err, out)
	}
	return nil
}

// run runs a command and returns its output in the error if it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
