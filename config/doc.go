// Package config reads letterbox's configuration file (TOML, docs/design.md
// §7): where it is (Find), the defaults (Default), strict reading and
// validation (Load), and the lock policy and mbox variant it configures
// (LockPolicy, Quoting).
//
// Reading is strict: an unknown key, a value of the wrong type or an invalid
// value is an error that names the file, the line, the key and the form the
// key wants ("10Q" is not a size such as 10485760, "10M" or "1G"), in the
// words of a TOML file, never of Go. Every error of the file is reported,
// sorted by line (Errors, one per line); a file that does not parse is one
// error. No file at all is fine: Default is a working configuration.
//
// # What it guarantees
//
// A Config from Default, or from Load without error, is valid: spool_dir is
// absolute; home_mailbox is below the home directory (not absolute, no
// ".."); mbox_quoting and mbox_locks are names that mbox and locking accept
// (the names belong to them); durations are strings such as "30s" (a bare
// number is a type error) and positive, and lock_refresh is at most a third
// of stale_lock_own; sizes (mailbox_size_limit, message_size_limit) are
// bytes, given as an integer or as a string with a unit k, M, G or T, each
// 1024 times the one before, as Dovecot reads them (ParseSize), and not
// negative; log is syslog, stderr or none.
// In [lmtp]: every listen address is "unix:/ABSOLUTE" or HOST:PORT with a
// numeric port; socket_mode is octal and at most 0777; mailbox is "" or an
// absolute template without "..", naming the user ({user} or {local}) and
// using no braces but {user}, {local}, {domain}; the connection and
// recipient limits are at least 1, timeout positive, and max_line_length
// at least the 1000 bytes RFC 5321 allows a line. Errors in [lmtp] name the
// key as lmtp.KEY and the line in that table.
//
// # What it refuses
//
// It does not look at the file system the values name: whether spool_dir
// exists, or may be written, is found out by the delivery.
//
// # What the caller still owes
//
// The caller turns a Load error into its status: 4.3.5 and exit 75 for
// deliver, lock, convert and check, exit 78 for "config check"; it does not
// use the Config returned with an error. A Config built by hand must be
// valid before LockPolicy or Quoting is called: both panic otherwise.
//
// The TOML is parsed by github.com/pelletier/go-toml/v2, not by hand; the
// parsed values are set into Config here (by its toml tags), because
// go-toml's decoder stops at the first error and words it in Go's types
// ("cannot decode TOML string into struct field ... of type int64"). A
// field of a new type needs its case in decoder.value: it panics without.
package config
