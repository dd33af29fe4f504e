// Package syslog writes log lines to the local syslog daemon (/dev/log) in
// the mail facility.
//
// A Writer sends each Write as one message in the traditional format (RFC
// 3164: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG", trailing newlines removed),
// with the priority given to Dial; it is safe for concurrent use. Dial tries
// a datagram socket, then a stream socket.
//
// What it refuses: it does not reconnect after the daemon goes away, does
// not retry or buffer a failed write, speaks to no remote host, and maps no
// log level to a severity: every message of a Writer has Dial's priority.
//
// What the caller still owes: logging elsewhere when Dial fails (letterbox
// then sends warnings to standard error), dealing with Write's errors, and
// Close.
//
// It exists instead of log/syslog because that package pulls in net, which
// alone adds about 0.8 ms to every process start, and letterbox starts once
// per delivery.
package syslog
