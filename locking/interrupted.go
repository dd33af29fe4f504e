package locking

import "fmt"

// Record writes into the dot-lock that an append is in progress on the
// mailbox: off bytes before it, end bytes after it (Dotlock.Record). A
// writer calls it after the mailbox is open and locked and before its first
// byte. Without a dot-lock it does nothing: no one breaks a kernel lock.
func (l *Lock) Record(off, end int64) error {
	if l.dot == nil {
		return nil
	}
	return l.dot.Record(off, end)
}

// undoInterrupted takes back the partial append of a holder that died
// while appending, whose lock this Lock broke before taking it: with every
// lock held and the mailbox open, if the mailbox is still the file, and of
// the size, that it was when the lock was broken, and that size lies
// strictly between the append's start and its end, the mailbox is cut back
// to the start (docs/locking.md §10.2). Such a message was never
// acknowledged: a writer reports success only after its whole append is
// durable. A whole append (size end) is left alone, since its writer may
// have reported success before its release was lost; so is a mailbox that
// changed after the break (someone appended since, not knowing the
// record). Failures are logged, never fatal: the partial message is then
// what it was before — one damaged message that readers skip.
func (l *Lock) undoInterrupted() {
	if l.dot == nil || l.dot.inherited == nil || l.fd < 0 {
		return
	}
	rec := l.dot.inherited
	l.dot.inherited = nil
	s := l.o.Sys
	st, err := s.Fstat(l.fd)
	if err != nil || !st.SameFile(rec.seen) || st.Size != rec.seen.Size || st.Size <= rec.off || st.Size >= rec.end {
		return
	}
	err = s.Ftruncate(l.fd, rec.off)
	if err == nil {
		if st2, ferr := s.Fstat(l.fd); ferr != nil || st2.Size != rec.off {
			err = fmt.Errorf("size after truncate: %d, %v", st2.Size, ferr)
		}
	}
	if err == nil {
		err = s.Fsync(l.fd)
	}
	if err != nil {
		l.o.Log.Error("cannot take back the partial message of a writer that died", "mailbox", l.path, "offset", rec.off, "err", err)
		return
	}
	l.o.Log.Warn("took back the partial message of a writer that died", "mailbox", l.path, "offset", rec.off, "bytes", st.Size-rec.off)
}
