package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"letterbox/internal/status"
	"letterbox/internal/sys"
	"letterbox/mailflag"
	"letterbox/sieve"
)

// step is one thing a delivery through Sieve does: store the message in a
// mailbox, or send it on. The steps of one message are one delivery
// (docs/design.md §10.2).
type step struct {
	store    bool
	folder   string // store: "" the default mailbox (INBOX or -m), else a folder name; "INBOX" the root
	flags    []string
	create   bool   // store: fileinto :create
	redirect string // !store: the address
}

// id names the step in the retry journal: the same action on a retry has
// the same id.
func (s step) id() string {
	if s.store {
		return "store\x00" + s.folder
	}
	return "redirect\x00" + s.redirect
}

// plan is what a Sieve Result asks of the delivery, in the order it is
// carried out: the stores, in the scripts' order (keep and fileinto where
// they came, the implicit keep last), then the redirects; a vacation
// reply and the duplicate marks come after all of them succeeded.
type plan struct {
	steps    []step
	reject   *sieve.Reject
	vacation *sieve.Vacation
	dups     []sieve.Duplicate
}

// keepPlan is the plan when the scripts cannot be trusted with the
// message (a script that does not compile or fails at run time): the
// implicit keep alone.
func keepPlan() plan { return plan{steps: []step{{store: true}}} }

// makePlan turns res into steps. sieve.Run has merged what RFC 5228
// §2.10.3 asks to be done once (a mailbox filed into twice, one address
// redirected to twice).
func makePlan(res sieve.Result) plan {
	var p plan
	var redirects []step
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.Keep:
			p.steps = append(p.steps, step{store: true, flags: a.Flags})
		case sieve.FileInto:
			f := a.Mailbox
			if isInbox(f) {
				f = "INBOX"
			}
			p.steps = append(p.steps, step{store: true, folder: f, flags: a.Flags, create: a.Create})
		case sieve.Redirect:
			redirects = append(redirects, step{redirect: a.Address})
		case sieve.Reject:
			p.reject = &a
		case sieve.Vacation:
			p.vacation = &a
		case sieve.Discard:
		}
	}
	if res.ImplicitKeep {
		p.steps = append(p.steps, step{store: true, flags: res.KeepFlags})
	}
	p.steps = append(p.steps, redirects...)
	p.dups = res.Duplicates
	return p
}

// deliverFiltered is DeliverMessage for a recipient with Sieve scripts
// (docs/design.md §10): it runs them on m and carries out what they ask
// as one delivery. A script that cannot be loaded or fails is logged and
// the message kept in the default mailbox; a reject is the permanent
// 5.7.1 the MTA turns into a bounce; every other failure is temporary,
// and the retry does again only what was not done (the journal, §10.2).
func deliverFiltered(ctx context.Context, m *Message, r Request) (Result, error) {
	// Whether INBOX is a Maildir, decided once for every step and every
	// mailboxexists question rather than looked up again each time.
	r.Maildir = r.ToMaildir()
	env, res, err := envelope(m, r)
	if err != nil {
		return res, err
	}
	sm, err := m.sieveMessage()
	if err != nil {
		return res, status.Temp("4.3.0", fmt.Errorf("read message header: %w", err))
	}
	st := r.stateFiles()
	p, err := r.filter(ctx, sm, env, st)
	if err != nil {
		return res, err
	}
	if p.reject != nil {
		// Alone: sieve.Run fails a reject combined with a delivery.
		res.Done = "rejected by sieve"
		return res, status.Perm("5.7.1", status.NoPerm, errors.New(rejectText(p.reject.Reason)))
	}
	var key string
	var finished map[string]bool // steps an earlier try did
	if len(p.steps) > 1 {
		// Only a delivery of more than one step can be half done.
		key, err = journalKey(m, env)
		if err != nil {
			return res, status.Temp("4.3.0", fmt.Errorf("read message: %w", err))
		}
		ids := make([]string, len(p.steps))
		for i, s := range p.steps {
			ids[i] = s.id()
		}
		if finished, err = st.journalDone(ctx, key, ids); err != nil {
			return res, status.Temp("4.3.0", err)
		}
	}
	var where []string
	for _, s := range p.steps {
		if finished[s.id()] {
			where = append(where, earlier(s))
			continue
		}
		done, n, err := r.doStep(ctx, m, sm, env, s)
		if err != nil {
			// The error names the mailbox that failed.
			res.Done = strings.Join(where, ", ")
			return res, err
		}
		res.Size += n
		where = append(where, done)
		if key != "" {
			if err := st.journalMark(ctx, key, s.id()); err != nil {
				// The step is durable; a retry would do it again. Tell the
				// MTA to retry all the same: the mail is not complete.
				return res, status.Temp("4.3.0", err)
			}
		}
	}
	if len(p.steps) == 0 {
		where = append(where, "discarded by sieve")
	}
	res.Done = strings.Join(where, ", ")
	// Past this point the message is delivered: what follows may fail
	// without the MTA hearing of it.
	if p.vacation != nil {
		r.vacation(ctx, sm, env, *p.vacation, st)
	}
	for _, d := range p.dups {
		if err := st.duplicateMark(ctx, d); err != nil {
			r.Log.Warn("sieve: cannot record duplicate id", "rcpt", env.Recipient, "err", err)
		}
	}
	return res, nil
}

// filter runs r's scripts on m, with the duplicate test reading st, and
// returns the plan. Its only error is a temporary one; a script's own
// failure is logged and becomes keepPlan.
func (r Request) filter(ctx context.Context, sm *sieve.Message, env Envelope, st *stateFiles) (plan, error) {
	id, err := r.Sys.Identity()
	if err != nil {
		return plan{}, status.Temp("4.3.0", err)
	}
	o := r.sieveOptions(id.Host)
	scripts, err := r.loadScripts(o)
	if err != nil {
		r.Log.Error("sieve: script failed to compile; keeping the message", "rcpt", env.Recipient, "err", err)
		return keepPlan(), nil
	}
	if len(scripts) == 0 {
		return keepPlan(), nil
	}
	senv := sieve.Envelope{From: env.Sender, To: env.Recipient, OrigTo: env.OriginalRecipient}
	res, err := sieve.Run(ctx, scripts, sm, senv, storeHost{r: r, state: st}, sieve.DirLoader(o), o)
	if ctx.Err() != nil {
		return plan{}, status.Temp("4.3.0", ctx.Err())
	}
	if err != nil {
		r.Log.Error("sieve: script failed; keeping the message", "rcpt", env.Recipient, "err", err)
		return keepPlan(), nil
	}
	return makePlan(res), nil
}

// doStep carries out one step and returns what it did, in the words of
// the log line (Result.Done), and the bytes stored.
func (r Request) doStep(ctx context.Context, m *Message, sm *sieve.Message, env Envelope, s step) (string, int64, error) {
	if !s.store {
		if err := r.redirect(ctx, m, sm, env, s.redirect); err != nil {
			return "", 0, err
		}
		return "redirected to <" + s.redirect + ">", 0, nil
	}
	rr := r
	rr.flags = mailflag.FromIMAP(s.flags)
	switch {
	case s.folder == "":
		// The default mailbox: INBOX, or the folder deliver -m named.
	case s.folder == "INBOX":
		rr.Folder = ""
	case r.ToMaildir():
		rr.Folder, rr.createFolder = s.folder, s.create
	default:
		path, err := r.mboxFolder(s.folder)
		if err != nil {
			r.Log.Warn("sieve: fileinto a folder that cannot be; delivering to INBOX", "folder", s.folder, "err", err)
			break
		}
		if _, err := r.Sys.Lstat(path); err != nil {
			if !r.Config.CreateFolders && !s.create {
				// As dovecot-lda does: INBOX rather than a bounce.
				r.Log.Warn("sieve: folder does not exist and create_folders is off; delivering to INBOX", "folder", s.folder, "mailbox", path)
				break
			}
			if err := sys.MakeDirs(r.Sys, filepath.Dir(path), r.Config.Fsync); err != nil {
				return "", 0, status.Of(err, path, r.Config.QuotaTempfail)
			}
		}
		rr.Mailbox, rr.Folder = path, ""
	}
	if rr.ToMaildir() {
		n, path, err := deliverMaildir(rr, m, envelopeHeader(env))
		if err != nil {
			return "", 0, err
		}
		return toMaildir(path), n, nil
	}
	rr.Folder = "" // -m names a Maildir++ folder; PrepareMbox would warn
	pr, err := PrepareMbox(m, rr)
	if err != nil {
		return "", 0, err
	}
	if err := AppendBatch(ctx, []*Prepared{pr})[0]; err != nil {
		return "", 0, err
	}
	return pr.Result.Done, pr.Result.Size, nil
}

// earlier describes, for the log line, a step the retry journal says was
// done on an earlier try: its mailbox is not looked up again.
func earlier(s step) string {
	switch {
	case !s.store:
		return "redirected to <" + s.redirect + "> on an earlier try"
	case s.folder == "":
		return "delivered on an earlier try"
	case s.folder == "INBOX":
		return "delivered to INBOX on an earlier try"
	}
	return "delivered to folder " + s.folder + " on an earlier try"
}

// rejectText is the reason of a reject as one status line carries it: its
// first line (status.Error.Line makes the rest of the rule).
func rejectText(reason string) string {
	line, _, _ := strings.Cut(reason, "\n")
	if strings.TrimSpace(line) == "" {
		line = "rejected by the recipient's filter"
	}
	return line
}

// journalKey names a message for a recipient in the retry journal: a
// digest of the message as the MTA handed it and of its envelope. The MTA
// retries with the same bytes; a different message never has the same key.
func journalKey(m *Message, env Envelope) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", env.Sender, env.Recipient, env.OriginalRecipient)
	if _, err := io.Copy(h, m.Reader()); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
