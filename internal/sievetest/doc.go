// Package sievetest holds the proofs that letterbox's Sieve filtering
// (packages sieve and sieveext, on github.com/foxcpp/go-sieve) behaves as
// the reference implementation, Dovecot's Pigeonhole, does. It has no code
// letterbox runs; only its tests and their helpers live here.
//
// Two proofs:
//
//   - pigeonhole_test.go runs Pigeonhole's own .svtest suite for every
//     extension letterbox supports, the only place that does: go-sieve's
//     runner commands (vnd.dovecot.testsuite), executed in the environment
//     Pigeonhole's testsuite gives (helpers_test.go, suiteEnv): a
//     sieveext.Run for the extension commands, a test mail store and SMTP
//     queue, include over the suite's directories through sieve.DirLoader,
//     duplicate IDs kept at test_result_execute, and vacation replies
//     composed by package autoreply as delivery composes them. The suite is LGPL test data and is
//     never copied into this repository: the test reads it from
//     $PIGEONHOLE_DIR (the unpacked Pigeonhole source tree, tests/ directly
//     below it; .ci/run fetches it from Debian's source archive) and skips,
//     saying so, when that is unset. Sub-tests letterbox fails are listed
//     by name with the reason beside them, never skipped silently.
//
//   - diff_test.go runs each case in testdata/diff (a script, a message
//     and an envelope, in one txtar file) through Pigeonhole's sieve-test
//     (Debian package dovecot-sieve) and through letterbox, reduces both
//     to the canonical action text sieve.Dump prints, and compares them.
//     A case where letterbox deliberately differs says so, and why, in its
//     own "expect-differs" section.
//
// Both tests write a table of their counts to the file named by
// $SIEVETEST_REPORT when it is set (.ci/run prints it), because go test
// hides the log of passing tests.
package sievetest
