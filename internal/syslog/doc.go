// Package syslog writes log lines to the local syslog daemon (/dev/log) in
// the mail facility.
//
// A Writer sends each Log call as one message in the traditional format
// (RFC 3164: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG"), its priority made of
// the mail facility and the severity the caller gives (RFC 5424 section
// 6.2.1), trailing newlines removed and any other line break turned into a
// space. It is safe for concurrent use. Dial tries a datagram socket, then
// a stream socket, at the address it is given: Path, or in tests a socket
// of their own.
//
// What it refuses: it does not reconnect after the daemon goes away, does
// not retry or buffer a failed write, speaks to no remote host, and knows
// nothing of log levels: the caller maps its levels to severities.
//
// What the caller still owes: logging elsewhere when Dial fails (letterbox
// then sends warnings to standard error), dealing with Log's errors, and
// Close.
//
// It exists instead of log/syslog because that package pulls in net, which
// alone adds about 0.8 ms to every process start, and letterbox starts once
// per delivery.
package syslog
