package sieve

import "github.com/foxcpp/go-sieve/interp"

// Envelope is the SMTP envelope of the delivery (RFC 5228 §5.4): From is
// the reverse path ("" for the null sender), To the final recipient,
// OrigTo the original recipient (RFC 3461 ORCPT, "" when unknown) and
// Auth the authenticated submitter ("" when none).
//
// The envelope test's "to" is To, as in Pigeonhole, whose envelope "to" is
// the final recipient of the delivery; OrigTo is kept for the caller (the
// vacation :addresses default, logging) and not shown to scripts.
type Envelope struct {
	From, To, OrigTo, Auth string
}

var _ interp.Envelope = Envelope{}

func (e Envelope) EnvelopeFrom() string { return e.From }
func (e Envelope) EnvelopeTo() string   { return e.To }
func (e Envelope) AuthUsername() string { return e.Auth }
