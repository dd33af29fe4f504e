// Package passwd looks users up in the system user database the way
// getpwnam(3) and getpwuid(3) do, without cgo: /etc/passwd is read directly
// when the Name Service Switch consults it first, and getent(1) answers for
// every other source (LDAP, SSSD, NIS, systemd), so that a directory outage
// is reported as an error and never as an unknown user.
//
// # What it guarantees
//
// An error wraps ErrUnknown only when the database answered and has no such
// user; every other error (an unreadable file, a failing or silent getent,
// a malformed entry for the name asked) means the answer is not known. A
// getent run is bounded by DB.Timeout (60 s for System) and gets a minimal
// environment. A User's Name is the database's spelling, which callers name
// mailboxes by.
//
// # What it refuses
//
// A name that cannot be a user name (ValidName: empty, over 256 bytes, "."
// or "..", a leading '-', '/', ':', white space or a control byte) is
// refused as unknown before it becomes a path element or a getent argument.
// The [action] items of nsswitch.conf are not interpreted.
//
// # What the caller still owes
//
// Treating ErrUnknown as permanent (5.1.1) and everything else as temporary.
//
// # Why it is hand-written
//
// os/user without cgo reads only /etc/passwd and calls every LDAP or SSSD
// user unknown, which would bounce their mail; with cgo the binary would
// load the C library's NSS modules into every delivery.
package passwd
