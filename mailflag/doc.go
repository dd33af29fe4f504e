// Package mailflag owns the mapping of a message's flags between the forms
// letterbox reads and writes: Maildir info letters (":2,S"), the Status,
// X-Status and X-Keywords fields of an mbox, and IMAP flag names as Sieve's
// imap4flags gives them. Convert and delivery both use it, so a flag set by
// a Sieve script reads the same in a Maildir and in an mbox, and survives a
// conversion either way.
//
// It refuses nothing: names and letters it does not know are dropped (the
// State doc says which). It touches no file.
package mailflag
