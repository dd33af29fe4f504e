package mailcheck

import "letterbox/locking"

// checkLock looks at MAILBOX.lock, the dot-lock every delivery agent takes,
// and reports it as locking.Inspect judges it: by the rules letterbox's
// lock applies before it breaks one, one owner for both.
func checkLock(r *Report, mailbox string, o Options) error {
	lo := o.Lock
	lo.Sys = o.Sys
	st, err := locking.Inspect(o.Sys, mailbox, lo)
	if err != nil || st == nil {
		return err
	}
	r.Lock = &Lock{Path: st.Path, Holder: st.Holder, Age: st.Age, MtimeAge: st.MtimeAge, Stale: st.Stale, Reason: st.Reason}
	f := Finding{Offset: -1, Path: st.Path, Detail: st.Reason}
	if st.Stale {
		problems(r, KindStaleLock).add(f)
	} else {
		notes(r, KindLock).add(f)
	}
	return nil
}
