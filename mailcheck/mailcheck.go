package mailcheck

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"letterbox/internal/sys"
	"letterbox/locking"
)

// Report is what Check found.
type Report struct {
	Mailbox  string `json:"mailbox"`
	Format   string `json:"format"`            // "mbox" or "maildir"
	Variant  string `json:"variant,omitempty"` // mbox: mboxo, mboxrd, mboxcl or mboxcl2; "" when empty
	Messages int    `json:"messages"`          // in a Maildir, of all its folders
	// Folders are a Maildir's folders with their messages: INBOX (the
	// root) first, then its Maildir++ folders by directory name.
	Folders []Folder `json:"folders,omitempty"`
	// Problems are defects: a reader splits, truncates or misreads the
	// mailbox, or a leftover needs an operator. The mailbox is sound
	// when there are none.
	Problems []Finding `json:"problems"`
	// Notes are worth knowing but are no defect (a live lock, a delivery
	// in progress in tmp/).
	Notes []Finding `json:"notes"`
	Lock  *Lock     `json:"lock,omitempty"`
}

// Sound reports whether the mailbox has no problems.
func (r *Report) Sound() bool { return len(r.Problems) == 0 }

// Folder is one folder of a Maildir.
type Folder struct {
	Name     string `json:"name"` // "INBOX", or the folder's names joined by '/' ("Lists/go")
	Path     string `json:"path"`
	Messages int    `json:"messages"`
}

// Finding is one problem or note.
type Finding struct {
	Kind string `json:"kind"` // see the Kind constants
	// Offset is the byte offset in the mbox, -1 where it does not apply.
	Offset int64 `json:"offset"`
	// Message is the 1-based number of the message concerned, 0 if none.
	// In a Maildir, counted within the folder Path is in.
	Message int    `json:"message,omitempty"`
	Path    string `json:"path,omitempty"` // the file concerned, in a Maildir
	Detail  string `json:"detail"`
	// More counts findings of this kind left out of the list.
	More int `json:"more,omitempty"`
}

// The kinds of findings.
const (
	KindUnescapedFrom = "unescaped-from"  // a body line "From " a reader splits on
	KindContentLength = "content-length"  // a Content-Length that does not match the body
	KindTruncated     = "truncated"       // the last message ends without its empty line
	KindDamaged       = "damaged"         // a message not followed by an empty line
	KindNotMessage    = "not-a-message"   // data without a From_ line
	KindCRLF          = "crlf"            // CRLF line ends
	KindStrayTmp      = "stray-tmp"       // a tmp/ file older than TmpAge
	KindTmp           = "tmp"             // a tmp/ file younger: a delivery in progress
	KindNoTmp         = "no-tmp"          // a Maildir without tmp/
	KindSize          = "size"            // a Maildir ,S= that is not the file's size
	KindStaleLock     = "stale-lock"      // a lock file whose holder is gone
	KindLock          = "lock"            // a lock file held by a live holder
	KindProtectedFrom = "protected-from"  // From_ lines that only Content-Length protects
	KindUnreadable    = "unreadable-lock" // a lock file that cannot be judged
	KindFolderName    = "folder-name"     // a Maildir below a Maildir, named like no Maildir++ folder
)

// maxListed is how many findings of one kind a report lists.
const maxListed = 20

// Lock describes MAILBOX.lock.
type Lock struct {
	Path   string        `json:"path"`
	Holder string        `json:"holder,omitempty"` // what its content says
	Age    time.Duration `json:"age_ns"`           // since it last changed: what staleness is judged by
	// MtimeAge is what its mtime alone says, more than Age when the mtime
	// was set back (docs/locking.md §10.8).
	MtimeAge time.Duration `json:"mtime_age_ns"`
	Stale    bool          `json:"stale"`
	Reason   string        `json:"reason"`
}

// Options tune Check.
type Options struct {
	Sys sys.Sys // nil: sys.Real
	// Lock is the lock policy a stale lock is judged by (stale_lock_own,
	// stale_lock_foreign); the zero value is locking's default.
	Lock locking.Options
	// TmpAge is the age past which a file in a Maildir's tmp/ is stray
	// (the Maildir spec's 36 hours when zero).
	TmpAge time.Duration
}

func (o Options) withDefaults() Options {
	if o.Sys == nil {
		o.Sys = sys.Real{}
	}
	if o.TmpAge == 0 {
		o.TmpAge = 36 * time.Hour
	}
	return o
}

// Check reads the mbox file or Maildir at path. The error is for a mailbox
// that cannot be read at all (missing, unreadable, neither format);
// everything else is in the report.
func Check(path string, o Options) (*Report, error) {
	o = o.withDefaults()
	st, err := o.Sys.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("lstat %s: %w", path, err)
	}
	r := &Report{Mailbox: path, Problems: []Finding{}, Notes: []Finding{}}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		r.Format = "mbox"
		if err := checkMbox(r, path, o); err != nil {
			return nil, err
		}
		if err := checkLock(r, path, o); err != nil {
			return nil, err
		}
	case unix.S_IFDIR:
		r.Format = "maildir"
		if err := checkMaildir(r, path, o); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: neither an mbox file nor a Maildir directory", path)
	}
	return r, nil
}

// findings collects findings of one kind, listing at most maxListed.
type findings struct {
	list *[]Finding
	kind string
	n    int
}

func (f *findings) add(x Finding) {
	f.n++
	x.Kind = f.kind
	if f.n <= maxListed {
		*f.list = append(*f.list, x)
		return
	}
	// Count the rest on the last one listed.
	for i := len(*f.list) - 1; i >= 0; i-- {
		if (*f.list)[i].Kind == f.kind {
			(*f.list)[i].More++
			return
		}
	}
}

func problems(r *Report, kind string) *findings { return &findings{list: &r.Problems, kind: kind} }
func notes(r *Report, kind string) *findings    { return &findings{list: &r.Notes, kind: kind} }

var errNotMaildir = errors.New("not a Maildir (new/ and cur/ must be directories)")
