// Package sieveext adds to go-sieve the Sieve extensions it lacks.
//
// This file is the API agreed between package sieve and package sieveext
// (stub): it registers nothing. The real package replaces it at merge.
package sieveext

import (
	"context"
	"time"

	"github.com/foxcpp/go-sieve/interp"
)

// Host answers what a script asks of the mail store at run time.
type Host interface {
	MailboxExists(ctx context.Context, name string) (bool, error)       // RFC 5490 mailboxexists
	DuplicateSeen(ctx context.Context, handle, id string) (bool, error) // RFC 7352
}

// Loader returns the compiled script for include (RFC 6609); global selects :global.
type Loader func(ctx context.Context, name string, global bool) (*interp.Script, error)

// Run is the per-message state of the extension commands, carried in the
// context passed to (*interp.Script).Execute.
type Run struct {
	Host Host
	Load Loader
	Now  func() time.Time // currentdate; nil means time.Now
	// Recorded by the commands, for package sieve to turn into its Result:
	Vacations  []Vacation
	Duplicates []Duplicate
	Creates    map[string]bool // mailbox names (variables expanded) of fileinto :create
}

// Vacation is one vacation action (RFC 5230).
type Vacation struct {
	Reason, Subject, From string
	Addresses             []string
	Handle                string
	Seconds               int
	Mime                  bool
}

// Duplicate is one duplicate test's ID (RFC 7352).
type Duplicate struct {
	Handle, ID string
	Seconds    int
}

type runKey struct{}

// WithRun returns ctx carrying r.
func WithRun(ctx context.Context, r *Run) context.Context {
	return context.WithValue(ctx, runKey{}, r)
}

// RunFrom returns the Run in ctx, nil when absent.
func RunFrom(ctx context.Context) *Run {
	r, _ := ctx.Value(runKey{}).(*Run)
	return r
}

// Extensions are the capability names sieveext adds.
var Extensions = []string{"vacation", "vacation-seconds", "mailbox", "date", "index", "regex", "include", "duplicate"}
