package status

import "fmt"

// Exit codes of sysexits.h. letterbox uses no others except a child's
// status in "letterbox lock".
const (
	OK        = 0
	Usage     = 64 // EX_USAGE: bad command line
	DataErr   = 65 // EX_DATAERR: bad input data (loop, hostile address)
	NoUser    = 67 // EX_NOUSER: unknown user
	CantCreat = 73 // EX_CANTCREAT: permanent mailbox policy (size, with quota_tempfail = false)
	TempFail  = 75 // EX_TEMPFAIL: try again later
	NoPerm    = 77 // EX_NOPERM: refused by the recipient's Sieve reject, as dovecot-lda -e
	Config    = 78 // EX_CONFIG: "letterbox config check" on an invalid file
)

// Error is a failure as the caller must see it: an RFC 3463 code (DSN), the
// matching exit code, and the cause.
type Error struct {
	DSN  string // e.g. "4.2.0"
	Code int    // e.g. TempFail
	Err  error
}

// Temp is a temporary failure: the MTA keeps the message and retries.
func Temp(dsn string, err error) *Error { return &Error{DSN: dsn, Code: TempFail, Err: err} }

// Perm is a permanent failure with exit code code.
func Perm(dsn string, code int, err error) *Error { return &Error{DSN: dsn, Code: code, Err: err} }

// Line is the one line written on standard error: the DSN, a space and the
// cause as OneLine makes it, at most 4096 bytes with its newline, so it can
// neither be mistaken for two lines nor overflow an MTA's buffer.
func (e *Error) Line() string {
	return OneLine(fmt.Sprintf("%s %v", e.DSN, e.Err), 4096-1) // room for the newline
}

func (e *Error) Error() string { return e.Line() }
func (e *Error) Unwrap() error { return e.Err }
