package locking

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
)

// owner is what a letterbox lock file says about its holder, in one line:
//
//	letterbox tok=<32 hex> host=<host> boot=<boot id> pidns=<ns> pid=<n> start=<ticks>
//
// The line starts with a letter and holds no ':' so that liblockfile's L_PID
// readers see pid 0 and fall back to their age rule instead of kill()ing a pid
// from another host, and Dovecot does not take it for its "pid:host" form
// (docs/locking.md §10.0). An operator reading it learns who holds the lock.
type owner struct {
	tok   string
	host  string
	boot  string
	pidns string
	pid   int
	start uint64

	// off and end record an append in progress (Lock.Record): the
	// mailbox's size before it and the size it will reach. end is 0 when
	// none is recorded. They follow the seven fields above as " off=N
	// end=M", which readers that know only the seven ignore.
	off, end int64
}

const ownerMagic = "letterbox"

func newOwner(id sys.Identity) (owner, error) {
	tok, err := randomHex()
	if err != nil {
		return owner{}, err
	}
	return owner{tok: tok, host: clean(id.Host), boot: clean(id.Boot), pidns: clean(id.PidNS), pid: id.Pid, start: id.Start}, nil
}

func (o owner) String() string {
	s := fmt.Sprintf("%s tok=%s host=%s boot=%s pidns=%s pid=%d start=%d", ownerMagic, o.tok, o.host, o.boot, o.pidns, o.pid, o.start)
	if o.end > 0 {
		s += fmt.Sprintf(" off=%d end=%d", o.off, o.end)
	}
	return s + "\n"
}

// parseOwner parses lock file content. ok is false for content that is not
// letterbox's own (another program's lock, or a truncated file).
func parseOwner(b []byte) (o owner, ok bool) {
	line, found := strings.CutSuffix(string(b), "\n")
	if !found {
		return o, false
	}
	f := strings.Fields(line)
	if (len(f) != 7 && len(f) != 9) || f[0] != ownerMagic {
		return o, false
	}
	kv := map[string]string{}
	for _, w := range f[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || v == "" {
			return o, false
		}
		kv[k] = v
	}
	var err1, err2 error
	o = owner{tok: kv["tok"], host: kv["host"], boot: kv["boot"], pidns: kv["pidns"]}
	o.pid, err1 = strconv.Atoi(kv["pid"])
	o.start, err2 = strconv.ParseUint(kv["start"], 10, 64)
	if err1 != nil || err2 != nil || len(o.tok) != 32 || o.host == "" || o.boot == "" || o.pid <= 0 {
		return owner{}, false
	}
	if len(f) == 9 {
		// An append record; a malformed one is ignored, never trusted.
		off, err1 := strconv.ParseInt(kv["off"], 10, 64)
		end, err2 := strconv.ParseInt(kv["end"], 10, 64)
		if err1 == nil && err2 == nil && 0 <= off && off < end {
			o.off, o.end = off, end
		}
	}
	return o, true
}

// sameMachine reports whether o was written by a process whose pid can be
// checked here: same host, same boot, same pid namespace. A pid from anywhere
// else means nothing on this machine.
func (o owner) sameMachine(id owner) bool {
	return o.host == id.host && o.boot == id.boot && o.pidns == id.pidns
}

// describe is the part of o an operator needs in an error message.
func (o owner) describe() string {
	return fmt.Sprintf("host=%s pid=%d", o.host, o.pid)
}

// nameMax is NAME_MAX of Linux filesystems (and of NFS servers).
const nameMax = 255

// uniqueName is the per-attempt file that is linked to lockPath:
// LOCK.<short host>.<pid>.<tok>. The token makes it unique even between
// containers with equal hostnames and pids (fault matrix row 19), and lets a
// breaker derive a dead holder's leftover from the lock's content. When that
// does not fit in NAME_MAX (a mailbox name of 200-odd bytes, whose own .lock
// still fits), the host is shortened, and if that is not enough the name is
// .letterbox.<pid>.<tok> beside the lock.
func uniqueName(lockPath string, o owner) (string, error) {
	host := shortHost(o.host)
	base := filepath.Base(lockPath)
	if len(base) > nameMax {
		return "", fmt.Errorf("lock name %s: %w", lockPath, errNameTooLong)
	}
	fixed := len(base) + len(".") + len(".") + len(strconv.Itoa(o.pid)) + len(".") + len(o.tok)
	if fixed+1 > nameMax {
		return filepath.Join(filepath.Dir(lockPath), fmt.Sprintf(".letterbox.%d.%s", o.pid, o.tok)), nil
	}
	if fixed+len(host) > nameMax {
		host = host[:nameMax-fixed]
	}
	return fmt.Sprintf("%s.%s.%d.%s", lockPath, host, o.pid, o.tok), nil
}

// privateName is a fresh name nobody else can own, beside lockPath, for a
// lock being released ("rel") or broken ("brk"): LOCK.<kind>.<random>, or
// .letterbox.<kind>.<random> when that is too long.
func privateName(lockPath, kind string) (string, error) {
	rnd, err := randomHex()
	if err != nil {
		return "", err
	}
	if p := lockPath + "." + kind + "." + rnd; len(filepath.Base(p)) <= nameMax {
		return p, nil
	}
	return filepath.Join(filepath.Dir(lockPath), ".letterbox."+kind+"."+rnd), nil
}

// shortHost is the hostname up to its first dot, reduced to [A-Za-z0-9-] so
// that it is safe in a file name.
func shortHost(h string) string {
	h, _, _ = strings.Cut(h, ".")
	b := []byte(h)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "localhost"
	}
	return string(b)
}

// clean keeps a value printable and free of the separators of the owner line.
func clean(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || c == '=' || c == ':' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// randomHex returns 128 random bits as 32 hex digits.
func randomHex() (string, error) {
	var b [16]byte
	// getrandom(2) is what crypto/rand reads; calling it directly keeps
	// crypto's initialisation out of every process start.
	if _, err := unix.Getrandom(b[:], 0); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
