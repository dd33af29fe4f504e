// Package sieve runs users' and administrators' Sieve scripts (RFC 5228)
// on a message and says what they ask for, as a Result: an ordered list of
// actions that the caller (package deliver) carries out as one delivery.
// It changes nothing on disk and sends nothing.
//
// The language is github.com/foxcpp/go-sieve's, with the extensions
// package sieveext registers (vacation, mailbox, date, include, ...):
// Compile and LoadFile turn a script into a Script, NewMessage and
// Envelope describe the delivery, Run runs a sequence of scripts, and Dump
// prints a Result the way "letterbox sieve test" shows it.
//
// # What it guarantees
//
//   - A script that does not compile is a *CompileError whose Error is
//     "FILE:LINE:COL: message", with the best position go-sieve's errors
//     allow (the failing top-level command when go-sieve gives none).
//   - Run follows Pigeonhole's rules for several scripts (sieve_before, the
//     user's, sieve_after; see Run), merges duplicate actions as RFC 5228
//     §2.10.3 asks, and reports the implicit keep apart from the actions.
//   - Header tests see each field unfolded, trimmed and RFC 2047-decoded
//     to UTF-8 (RFC 5228 §2.7.2), US-ASCII, UTF-8 and the ISO-8859 and
//     Windows charsets among others (go-message/charset).
//   - Memory is bounded by the header section kept (Options.MaxHeader)
//     and the script: body tests read the message again from the spool
//     and stream it, decoding MIME parts as they are read.
//   - A run ends when its context does; body reads check it too.
//
// # What it refuses
//
//   - Scripts over MaxScriptSize, anything but a regular file in LoadFile,
//     a symbolic link as the last component of its path.
//   - A configuration that enables an extension it cannot run
//     (Options.CheckExtensions, and Compile with such Options).
//   - More than Options.MaxRedirects redirects in one delivery: a
//     run-time error.
//
// # What the caller still owes
//
//   - Executing the Result: storing, redirecting, rejecting, the vacation
//     reply with RFC 3834's rules, recording Duplicates once delivered.
//   - A *RuntimeError from Run means keep: the Result that comes with it
//     is partial and must be ignored (RFC 5228 §2.10.6).
//   - The safety of script files: who may own them and where they may be
//     is the caller's policy, applied before LoadFile (and in the
//     sieveext.Loader it gives Run; DirLoader checks no owner).
//   - A message reader that can be opened again (NewMessage's open) for
//     as long as the Message is in use.
package sieve
