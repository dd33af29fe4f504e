// Package mbox writes and reads the mbox format: the From_ line, the quoting
// variants (mboxrd, mboxo, mboxcl2), the append of one message to an open
// mailbox with rollback, and a streaming reader that keeps the From_ line.
//
// It knows nothing about locks or envelopes: the caller holds the mailbox
// lock and decides what to write.
package mbox
