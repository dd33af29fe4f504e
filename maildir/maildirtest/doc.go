// Package maildirtest builds, for tests, the directory shapes on which
// every command must agree whether a path is a Maildir (maildir.Is).
//
// Shapes makes one of each under a test's directory — a Maildir with and
// without tmp/, half Maildirs, an empty directory, a Maildir whose new/ is a
// symlink, a symlink to a Maildir, a plain file — each marked with the one
// answer deliver, convert and check must all give. Only new/+cur/ and
// new/+cur/+tmp/ are Maildirs.
//
// It creates with os directly, not through internal/sys: the shapes are
// fixtures, not code under test. It fails the test on any error and
// removes nothing; the caller owes a directory that is cleaned up (t.TempDir)
// and must not use it outside tests.
package maildirtest
