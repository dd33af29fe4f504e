package deliver

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"letterbox/config"
	"letterbox/sieve"
	"letterbox/statefile"
)

// The per-user state of Sieve deliveries (docs/design.md §10.2), each a
// statefile below state_dir, changed only under its lock.
const (
	journalFile   = "delivered"        // steps of a message already done, for the MTA's retry
	duplicateFile = "duplicate"        // ids the duplicate test recorded (RFC 7352)
	vacationFile  = "vacation"         // senders answered, per handle (RFC 5230 §4.2)
	journalKeep   = 7 * 24 * time.Hour // past Postfix's maximal_queue_lifetime of 5 days
)

// stateFiles are r's recipient's state files; dir "" when there is no
// place for them (no home for a "~/" state_dir): then nothing is
// remembered, and every question is answered "not seen" — a retry of a
// half-done delivery may then store twice (docs/design.md §10.2).
type stateFiles struct {
	r   Request
	dir string
}

func (r Request) stateFiles() *stateFiles {
	dir, err := config.HomePath(r.Config.StateDir, r.Home)
	if err != nil {
		dir = ""
	}
	return &stateFiles{r: r, dir: dir}
}

func (s *stateFiles) now() time.Time { return s.r.Sys.Now() }

// update runs fn on the table of file under its lock.
func (s *stateFiles) update(ctx context.Context, file string, fn func(t *statefile.Table) error) error {
	if s.dir == "" {
		return nil
	}
	path := filepath.Join(s.dir, file)
	if err := statefile.Update(ctx, s.r.Sys, path, s.r.Config.LockPolicy(), s.now(), fn); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	return nil
}

// journalDone reports which of the steps ids of the message key an
// earlier try finished, in one read of the journal.
func (s *stateFiles) journalDone(ctx context.Context, key string, ids []string) (map[string]bool, error) {
	done := map[string]bool{}
	err := s.update(ctx, journalFile, func(t *statefile.Table) error {
		for _, id := range ids {
			if _, ok := t.Get(statefile.Key(key, id)); ok {
				done[id] = true
			}
		}
		return nil
	})
	return done, err
}

func (s *stateFiles) journalMark(ctx context.Context, key, id string) error {
	return s.update(ctx, journalFile, func(t *statefile.Table) error {
		t.Put(statefile.Key(key, id), s.now().Add(journalKeep))
		return nil
	})
}

func (s *stateFiles) duplicateSeen(ctx context.Context, handle, id string) (bool, error) {
	var seen bool
	err := s.update(ctx, duplicateFile, func(t *statefile.Table) error {
		_, seen = t.Get(statefile.Key(handle, id))
		return nil
	})
	return seen, err
}

func (s *stateFiles) duplicateMark(ctx context.Context, d sieve.Duplicate) error {
	return s.update(ctx, duplicateFile, func(t *statefile.Table) error {
		t.Put(statefile.Key(d.Handle, d.ID), s.now().Add(time.Duration(d.Seconds)*time.Second))
		return nil
	})
}
