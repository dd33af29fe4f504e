package deliver

import (
	"errors"
	"fmt"
	"os"

	"letterbox/internal/status"
	"letterbox/mbox"
)

// MaxAddressLen is the longest envelope address accepted, in bytes: the
// longest line RFC 5322 allows, so a Return-Path: or Delivered-To: header
// written from it stays legal.
const MaxAddressLen = 998

// Envelope is who a message is from and for, as letterbox writes it into
// Return-Path:, X-Original-To: and Delivered-To: and the From_ line.
type Envelope struct {
	Sender            string // without angle brackets; "" exactly when NullSender
	NullSender        bool   // the null sender: Return-Path: <>, From MAILER-DAEMON
	OriginalRecipient string // "" when unknown: no X-Original-To: is written
	Recipient         string // the final recipient: Delivered-To: and the loop check
}

// Errors of CheckAddress.
var (
	ErrAddressControl = errors.New("control character in address")
	ErrAddressLong    = errors.New("address too long")
)

// CheckAddress refuses an envelope address that cannot be written safely
// into a header or the From_ line: one with a control character (a byte
// below 0x20, or 0x7f; CR, LF, NUL and TAB included), which could forge
// header lines, and one longer than MaxAddressLen bytes. The error wraps
// ErrAddressControl or ErrAddressLong. It does not parse the address:
// anything else an MTA hands over is accepted.
func CheckAddress(a string) error {
	if len(a) > MaxAddressLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrAddressLong, len(a), MaxAddressLen)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: byte %#02x at %d", ErrAddressControl, c, i)
		}
	}
	return nil
}

// unbracket removes one pair of angle brackets around a, as in "<a@b>".
func unbracket(a string) string {
	if len(a) >= 2 && a[0] == '<' && a[len(a)-1] == '>' {
		return a[1 : len(a)-1]
	}
	return a
}

// Sources are where Resolve finds the envelope.
type Sources struct {
	// The flags -f, -a, -r; nil when not given.
	Sender, OriginalRecipient, Recipient *string
	// LookupEnv is os.LookupEnv; nil means an empty environment.
	LookupEnv func(string) (string, bool)
	// FromSender is the sender of a leading From_ line, if HasFrom.
	FromSender string
	HasFrom    bool
	// Scan is the header scan with the MTA's envelope block.
	Scan Scan
	// User names the account delivered for, for the default recipient
	// USER@hostname (Recipient.Name: -d, $USER, $LOGNAME, the uid's name).
	// It is called only when nothing else names the recipient; nil or ""
	// means no default.
	User func() (string, error)
	// Hostname names this host in the default recipient; nil means
	// os.Hostname.
	Hostname func() (string, error)
}

// Resolve decides the envelope. For each field the first source that has a
// value wins:
//
//	sender:             -f, $SENDER, leading From_ line, block Return-Path:, null sender
//	original recipient: -a, $ORIGINAL_RECIPIENT, block X-Original-To:, unknown
//	recipient:          -r, $RECIPIENT, block Delivered-To:, USER@hostname
//
// A nil flag was not given. LookupEnv is os.LookupEnv: $SENDER set but empty
// is the null sender (Postfix local(8) exports it so), like -f ""; an empty
// recipient variable, -a or -r counts as not given (so -a
// "$ORIGINAL_RECIPIENT" works). The
// block fields are those of the scan's envelope block (docs/design.md §3), which the MTA
// wrote for this delivery. A sender of "", "<>" or MAILER-DAEMON (any case)
// is the null sender. One pair of surrounding angle brackets is removed from
// every value.
//
// The value chosen for each field must pass CheckAddress; if it does not,
// the error is a *status.Error with exit status 65 (EX_DATAERR) and 5.1.7
// for the sender, 5.1.3 for a recipient. When no recipient can be found at
// all, or the host name for the default cannot be had, it is temporary
// (4.3.5, 4.3.0): the invocation is wrong, not the message.
func Resolve(src Sources) (Envelope, error) {
	flagSender, flagOriginal, flagRecipient := src.Sender, src.OriginalRecipient, src.Recipient
	fromSender, hasFrom, scan := src.FromSender, src.HasFrom, src.Scan
	lookup, hostname := src.LookupEnv, src.Hostname
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	if hostname == nil {
		hostname = os.Hostname
	}
	getenv := func(k string) string { v, _ := lookup(k); return v }
	envSender, hasEnvSender := lookup("SENDER")
	var e Envelope

	var sender, from string
	switch {
	case flagSender != nil:
		sender, from = *flagSender, "-f"
	case hasEnvSender:
		sender, from = envSender, "$SENDER"
	case hasFrom:
		sender, from = fromSender, "the From_ line"
	case scan.HasReturnPath:
		sender, from = scan.ReturnPath, "Return-Path:"
	}
	sender = unbracket(sender)
	if err := CheckAddress(sender); err != nil {
		return e, status.Perm("5.1.7", status.DataErr, fmt.Errorf("sender %.64q from %s: %w", sender, from, err))
	}
	if mbox.IsNullSender(sender) {
		e.NullSender = true
	} else {
		e.Sender = sender
	}

	var orig string
	switch {
	case flagOriginal != nil && *flagOriginal != "":
		orig, from = *flagOriginal, "-a"
	case getenv("ORIGINAL_RECIPIENT") != "":
		orig, from = getenv("ORIGINAL_RECIPIENT"), "$ORIGINAL_RECIPIENT"
	case scan.HasOriginalTo:
		orig, from = scan.OriginalTo, "X-Original-To:"
	}
	orig = unbracket(orig)
	if err := CheckAddress(orig); err != nil {
		return e, status.Perm("5.1.3", status.DataErr, fmt.Errorf("original recipient %.64q from %s: %w", orig, from, err))
	}
	e.OriginalRecipient = orig

	var rcpt string
	switch {
	case flagRecipient != nil && *flagRecipient != "":
		rcpt, from = *flagRecipient, "-r"
	case getenv("RECIPIENT") != "":
		rcpt, from = getenv("RECIPIENT"), "$RECIPIENT"
	case scan.HasDeliveredTo && scan.DeliveredTo != "":
		rcpt, from = scan.DeliveredTo, "Delivered-To:"
	case src.User != nil:
		user, err := src.User()
		if err != nil {
			return e, status.Temp("4.3.0", fmt.Errorf("default recipient: %w", err))
		}
		if user == "" {
			break
		}
		host, err := hostname()
		if err != nil {
			return e, status.Temp("4.3.0", fmt.Errorf("default recipient: %w", err))
		}
		rcpt, from = user+"@"+host, "USER@hostname"
	}
	rcpt = unbracket(rcpt)
	if rcpt == "" {
		// An invocation that names no recipient is the operator's error,
		// which must not bounce mail (docs/design.md §2.1).
		return e, status.Temp("4.3.5", errors.New("no recipient: give -r, or set $RECIPIENT, $USER or $LOGNAME"))
	}
	if err := CheckAddress(rcpt); err != nil {
		return e, status.Perm("5.1.3", status.DataErr, fmt.Errorf("recipient %.64q from %s: %w", rcpt, from, err))
	}
	e.Recipient = rcpt
	return e, nil
}
