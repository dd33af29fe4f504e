package sieve

// Result is what a run of the scripts asks for, in the order the scripts
// asked for it (RFC 5228 §2.10.1: actions are collected, then executed
// together). Nothing has been done yet: the caller stores, sends and
// rejects.
type Result struct {
	Actions []Action
	// ImplicitKeep is true when no action cancelled the implicit keep
	// (RFC 5228 §2.10.2); the message is then kept in INBOX with
	// KeepFlags, as an explicit keep without :flags would be.
	ImplicitKeep bool
	// KeepFlags are the IMAP flags of the implicit keep: the internal
	// flags variable when the last script ended (RFC 5232 §3).
	KeepFlags []string
	// Duplicates are the duplicate-test IDs (RFC 7352) to record once the
	// message is delivered, so a second copy is recognised.
	Duplicates []Duplicate
}

// Action is one of Keep, FileInto, Discard, Redirect, Reject, Vacation.
type Action interface{ action() }

// Keep stores the message in INBOX (RFC 5228 §4.3) with Flags.
type Keep struct {
	Flags []string
}

// FileInto stores the message in Mailbox, a folder name as the script
// wrote it ("Lists/go", "INBOX"), with Flags (RFC 5228 §4.1, RFC 5232
// §5). Create asks for a missing folder to be made (RFC 5490 §3, :create).
type FileInto struct {
	Mailbox string
	Flags   []string
	Copy    bool
	Create  bool
}

// Discard drops the message silently (RFC 5228 §4.4).
type Discard struct{}

// Redirect sends the message on to Address (RFC 5228 §4.2).
type Redirect struct {
	Address string
	Copy    bool
}

// Reject refuses the message with Reason (RFC 5429): Extended is ereject,
// which must be refused at the protocol level where it can be.
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation is an auto-reply (RFC 5230) that the caller sends only if the
// RFC 3834 rules and the per-sender tracking allow it.
type Vacation struct {
	Reason    string   // the body (or a MIME entity when Mime)
	Subject   string   // "" means the caller's default
	From      string   // "" means the recipient
	Addresses []string // the user's other addresses (:addresses)
	Handle    string   // tracking handle: :handle, else derived from the arguments
	Seconds   int      // the response interval (:days * 86400 or :seconds)
	Mime      bool
}

// Duplicate is one ID the duplicate test checked (RFC 7352 §3): recorded
// for Seconds once the message is delivered.
type Duplicate struct {
	Handle  string
	ID      string
	Seconds int
}

func (Keep) action()     {}
func (FileInto) action() {}
func (Discard) action()  {}
func (Redirect) action() {}
func (Reject) action()   {}
func (Vacation) action() {}
