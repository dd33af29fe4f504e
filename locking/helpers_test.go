package locking

import "letterbox/safeopen"

// openRW opens an existing mailbox for the kernel lock, as "letterbox lock"
// does.
var openRW = &safeopen.Options{Mode: safeopen.Read, Owner: -1}
