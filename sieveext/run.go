package sieveext

import (
	"context"
	"time"

	"github.com/foxcpp/go-sieve/interp"
)

// Extensions are the capability names sieveext adds (for "require" and for docs).
var Extensions = []string{"vacation", "vacation-seconds", "mailbox", "date", "index", "regex", "include", "duplicate"}

// Host answers what a script asks of the mail store at run time.
type Host interface {
	MailboxExists(ctx context.Context, name string) (bool, error)       // RFC 5490 mailboxexists
	DuplicateSeen(ctx context.Context, handle, id string) (bool, error) // RFC 7352
}

// Loader returns the compiled script for include (RFC 6609); global selects
// :global. When the script does not exist the error must wrap fs.ErrNotExist,
// so that include :optional can tell absence from failure.
type Loader func(ctx context.Context, name string, global bool) (*interp.Script, error)

// Run is the per-message state of the extension commands, carried in the context
// passed to (*interp.Script).Execute. One Run serves one message; it is not safe
// for concurrent use.
type Run struct {
	Host Host
	Load Loader
	Now  func() time.Time // currentdate; nil means time.Now

	// Recorded by the commands, for package sieve to turn into its Result:
	Vacations  []Vacation
	Duplicates []Duplicate
	Creates    map[string]bool // mailbox names (variables expanded) of fileinto :create

	inc includeState // RFC 6609 frames, global variables, :once bookkeeping
}

// Vacation is one executed vacation action (RFC 5230, RFC 6131), arguments
// with variables expanded. Seconds is the reply interval: :seconds, or :days
// times 86400, or the RFC 5230 §4.1 default of 7 days.
type Vacation struct {
	Reason, Subject, From string
	Addresses             []string
	Handle                string
	Seconds               int
	Mime                  bool
}

// Duplicate is one evaluated duplicate test (RFC 7352) whose ID the caller
// must remember, after the message is delivered, for Seconds.
type Duplicate struct {
	Handle, ID string
	Seconds    int
}

type runKey struct{}

// WithRun returns ctx carrying r, for the extension commands to find.
func WithRun(ctx context.Context, r *Run) context.Context {
	return context.WithValue(ctx, runKey{}, r)
}

// RunFrom returns the Run carried by ctx, or nil when absent.
func RunFrom(ctx context.Context) *Run {
	r, _ := ctx.Value(runKey{}).(*Run)
	return r
}

func (r *Run) now() time.Time {
	if r == nil || r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
