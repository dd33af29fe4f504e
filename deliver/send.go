package deliver

import (
	"bytes"
	"context"
	"io"
	"time"

	"letterbox/autoreply"
	"letterbox/sendmail"
	"letterbox/sieve"
	"letterbox/statefile"
)

// sieveMessage is m as the scripts see it: the message as it is stored,
// without the MTA's envelope block (a Delivered-To: the MTA prepended for
// this very delivery would make every redirect look like a loop) and
// without the fields letterbox adds.
func (m *Message) sieveMessage() (*sieve.Message, error) {
	_, size, _, err := m.stored(false)
	if err != nil {
		return nil, err
	}
	open := func() io.Reader {
		r, _, _, err := m.stored(false)
		if err != nil {
			return errReader{err}
		}
		return r
	}
	return sieve.NewMessage(open, size, maxHeader)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// header is a parsed header as package autoreply reads it.
type sieveHeader struct{ m *sieve.Message }

func (h sieveHeader) Get(name string) []string {
	v, _ := h.m.HeaderGet(name) // an error is a field not there
	return v
}

// redirect sends m on to addr through sendmail_path (RFC 5228 §4.2), with
// the original envelope sender (Pigeonhole's default) and an
// X-Sieve-Redirected-From field naming the recipient. A message that
// carries that field for this recipient already has been round a
// redirect loop: it is kept instead, never dropped.
func (r Request) redirect(ctx context.Context, m *Message, sm *sieve.Message, env Envelope, addr string) error {
	if autoreply.RedirectLoop(sieveHeader{sm}, env.Recipient) {
		r.Log.Warn("sieve: redirect loop; keeping the message instead", "rcpt", env.Recipient, "to", addr)
		_, _, err := r.doStep(ctx, m, sm, env, step{store: true})
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(autoreply.WriteRedirect(pw, m.Reader(), env.Recipient))
	}()
	defer pr.Close()
	return sendmail.Send(ctx, r.Config.SendmailPath, env.Sender, []string{addr}, pr)
}

// vacation sends the auto-reply v asks for, if RFC 3834 and RFC 5230 allow
// one and this sender has not had one for this handle within its interval
// (the vacation state file). It runs after the message is delivered; its
// failures are logged, never the MTA's business.
func (r Request) vacation(ctx context.Context, sm *sieve.Message, env Envelope, v sieve.Vacation, st *stateFiles) {
	log := r.Log.With("rcpt", env.Recipient, "sender", env.Sender)
	h := sieveHeader{sm}
	av := autoreply.Vacation{Reason: v.Reason, Subject: v.Subject, From: v.From, Addresses: v.Addresses, Handle: v.Handle, Seconds: v.Seconds, Mime: v.Mime}
	aenv := autoreply.Envelope{Sender: env.Sender, OriginalRecipient: env.OriginalRecipient}
	if ok, why := autoreply.ShouldReply(h, aenv, env.Recipient, av); !ok {
		log.Info("sieve: vacation: no reply", "reason", why)
		return
	}
	key := autoreply.TrackKey(env.Sender, v.Handle)
	var answered bool
	if err := st.update(ctx, vacationFile, func(t *statefile.Table) error {
		_, answered = t.Get(key)
		return nil
	}); err != nil {
		log.Warn("sieve: vacation: cannot read the state; no reply", "err", err)
		return
	}
	if answered {
		log.Info("sieve: vacation: already answered within the interval")
		return
	}
	id, err := r.Sys.Identity()
	if err != nil {
		log.Warn("sieve: vacation", "err", err)
		return
	}
	var buf bytes.Buffer
	from, to, err := autoreply.Compose(&buf, h, aenv, av, env.Recipient, r.Sys.Now(), id.Host)
	if err != nil {
		log.Warn("sieve: vacation: cannot compose the reply", "err", err)
		return
	}
	if err := sendmail.Send(ctx, r.Config.SendmailPath, from, []string{to}, &buf); err != nil {
		log.Warn("sieve: vacation: cannot send the reply", "err", err)
		return
	}
	if err := st.update(ctx, vacationFile, func(t *statefile.Table) error {
		t.Put(key, r.Sys.Now().Add(time.Duration(v.Seconds)*time.Second))
		return nil
	}); err != nil {
		log.Warn("sieve: vacation: reply sent but not recorded", "err", err)
		return
	}
	log.Info("sieve: vacation: reply sent", "to", to)
}
