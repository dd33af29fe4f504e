// Package sieve runs users' and administrators' Sieve scripts (RFC 5228)
// on a message and says what they ask for, as a Result: an ordered list of
// actions that the caller (package deliver) carries out as one delivery.
// It changes nothing on disk and sends nothing.
package sieve
