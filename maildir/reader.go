package maildir

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"letterbox/internal/sys"
)

// Message is one file of a Maildir as Walk finds it.
type Message struct {
	Path  string // the file
	New   bool   // in new/ (not yet seen by a reader), else cur/
	Key   string // the unique part of the name, without ",S=" and other fields or the info
	Size  int64  // from ",S=", or -1 when the name does not say
	Flags string // the letters after ":2," (P R S T D F, and Dovecot's keyword letters a-z), sorted
}

// ParseName splits a Maildir file name into its key, ",S=" size and flags.
// It accepts the names of letterbox, Dovecot (",S=..,W=.."), mbsync
// (",U=..") and Courier, and the "!" or ";" that some tools put instead of
// ":" where a filesystem forbids it. A name without info (as in new/) has
// no flags; an info that is not "2,..." (experimental "1,") keeps no flags.
func ParseName(name string) (key string, size int64, flags string) {
	base, info := name, ""
	if i := strings.LastIndexAny(name, ":;!"); i >= 0 && strings.HasPrefix(name[i+1:], "2,") {
		base, info = name[:i], name[i+3:]
	} else if i >= 0 && strings.HasPrefix(name[i+1:], "1,") {
		base = name[:i]
	}
	size = -1
	key = base
	if i := strings.IndexByte(base, ','); i >= 0 {
		key = base[:i]
		for _, f := range strings.Split(base[i+1:], ",") {
			if v, ok := strings.CutPrefix(f, "S="); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					size = n
				}
			}
		}
	}
	fl := []byte(info)
	sort.Slice(fl, func(i, j int) bool { return fl[i] < fl[j] })
	return key, size, string(fl)
}

// Walk calls fn for every message in new/ and then cur/ of the Maildir at
// root, in name order. Names starting with "." (and tmp/) are not messages.
// It stops at the first error fn returns.
func Walk(s sys.Sys, root string, fn func(Message) error) error {
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(root, sub)
		names, err := s.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, ".") {
				continue
			}
			key, size, flags := ParseName(n)
			if err := fn(Message{Path: filepath.Join(dir, n), New: sub == "new", Key: key, Size: size, Flags: flags}); err != nil {
				return err
			}
		}
	}
	return nil
}
