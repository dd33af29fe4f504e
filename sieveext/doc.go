// Package sieveext adds to github.com/foxcpp/go-sieve the Sieve extensions
// it lacks, by registering into its command and test tables at init:
// importing the package, even blank, is enough.
//
//   - vacation (RFC 5230) and vacation-seconds (RFC 6131): syntax as the
//     RFCs say; executing records a Vacation in Run.Vacations (variables
//     expanded, Seconds from :seconds, :days*86400 or the 7-day default,
//     Handle from :handle or a digest of reason, subject, from and mime per
//     RFC 5230 §4.2). It does not cancel the implicit keep. A second
//     vacation in one run, or vacation together with reject/ereject, is a
//     run-time error (RFC 5230 §4.7).
//   - mailbox (RFC 5490): fileinto :create (records Run.Creates[name]) and
//     mailboxexists (asks Run.Host).
//   - date and index (RFC 5260): date, currentdate (Run.Now) with all
//     date-parts and :zone/:originalzone; :index N [:last] on header,
//     address and date. A date with no :zone is shown in time.Local.
//   - regex (draft-murchison-sieve-regex): :regex on header, address,
//     envelope, string, and through header on date/currentdate, setting
//     ${0}..${9}. Go RE2 syntax with POSIX leftmost-longest matching; see
//     regex.go for the differences from POSIX ERE.
//   - include (RFC 6609): include [:personal|:global] [:once] [:optional],
//     return, global. Scripts come from Run.Load at run time; nesting is
//     limited to 10 (Pigeonhole's default) and cycles are refused.
//   - duplicate (RFC 7352): true when Run.Host.DuplicateSeen(handle, id);
//     records a Duplicate in Run.Duplicates (default period 12 hours,
//     Pigeonhole's) unless already seen without :last. A message without
//     the ID field is never a duplicate.
//
// Each extension is in its own file written against interp's exported types
// (Cmd, Test, Spec, LoadSpec), so it could move into interp unchanged. Where
// an extension changes the syntax of an existing command or test (fileinto
// :create, :index, :regex, and stop for include) it wraps the library's own
// factory: it strips its tag, calls the original loader, and wraps what
// that returns, so the library's checks still apply.
//
// Registration: go-sieve has no API for it; registry.go reaches the
// unexported tables with go:linkname and explains why. The proposed upstream
// API is interp.RegisterCommand, RegisterTest and RegisterExtension.
//
// What the caller owes. Every execution must carry a Run in its context
// (WithRun); the commands fail without one rather than drop what they
// would record. After the run, the caller turns Run.Vacations,
// Run.Duplicates and Run.Creates into actions: sending the reply (and the
// RFC 5230 §4.5/§4.6 checks on whom to answer), remembering duplicate IDs
// after delivery, creating mailboxes. Loader must return errors wrapping
// fs.ErrNotExist for missing scripts, and compile with the same
// interp.Options as the top-level script.
//
// Refused or missing:
//   - editheader is not added: it stays off.
//   - The "global." variable namespace (RFC 6609 §3.5): interp's Var and
//     SetVar reject unknown namespaces, and interp's variable expansion
//     panics on "${global.x}" (so does any unknown namespace): callers
//     should recover from panics in Execute.
//   - Errors inside included scripts (including cycles) surface at run
//     time, not when the including script is compiled.
//   - vacation is not an interp.AppliedAction (that interface has
//     unexported methods), so it does not appear in RuntimeData.AppliedActions.
//   - :user/:detail under :regex split at "+" only; interp's configured
//     separator is not readable from outside it.
//   - vnd.dovecot.duplicate and the Pigeonhole configuration knobs are not
//     provided.
//
// Pigeonhole's tests for these extensions run in internal/sievetest
// (TestPigeonhole) when PIGEONHOLE_DIR is set, each known failure listed
// with its reason.
package sieveext
