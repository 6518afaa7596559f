package audit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// staleBatch is how many stale intents CloseStaleIntents closes per transaction.
const staleBatch = 500

// staleMargin is how far before the previous cutoff CloseStaleIntents looks again: intents
// are timed by the clock of the process that wrote them, and replicas' clocks and late
// commits may put a row a little behind a cutoff already passed.
const staleMargin = time.Minute

// staleScan remembers the time before which every intent was already given an outcome, so
// that each run reads only the intents written since the last one. Customer views are
// intents too, millions of them; reading them all every minute would grow with the log.
type staleScan struct {
	mu   sync.Mutex
	from time.Time // zero until a run has finished: the first run of a process reads them all
}

func (sc *staleScan) start() time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.from
}

// done records a finished run up to cutoff.
func (sc *staleScan) done(cutoff time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if from := cutoff.Add(-staleMargin); from.After(sc.from) {
		sc.from = from
	}
}

// CloseStaleIntents gives every intent older than olderThan that has no outcome row an
// outcome row with OutcomeUnknown, and returns how many it closed. The open intents are
// found outside the append lock (only those written since the previous run, after the
// first); under the lock each is checked again, so several processes may run it at once and
// each intent is still closed only once, and appends wait only for the closing itself.
func (s *Store) CloseStaleIntents(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("audit: close stale intents: negative age %s", olderThan)
	}
	cutoff := s.clock().Add(-olderThan)
	from := s.stale.start()
	closed := 0
	for {
		var seqs []int64
		rows, err := s.pool.Query(ctx, `SELECT seq FROM audit_events i
			WHERE outcome = 'pending' AND occurred_at >= $1 AND occurred_at < $2
			  AND NOT EXISTS (SELECT 1 FROM audit_events o WHERE o.intent_seq = i.seq)
			ORDER BY occurred_at, seq LIMIT $3`, from, cutoff, staleBatch)
		if err == nil {
			seqs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		if err != nil {
			return closed, fmt.Errorf("audit: close stale intents: find: %w", err)
		}
		n, err := s.closeIntents(ctx, seqs, olderThan)
		closed += n
		if err != nil {
			return closed, fmt.Errorf("audit: close stale intents: %w", err)
		}
		if len(seqs) < staleBatch {
			s.stale.done(cutoff)
			return closed, nil
		}
	}
}

// closeIntents writes an unknown outcome for each of seqs that is still open, under the
// append lock.
func (s *Store) closeIntents(ctx context.Context, seqs []int64, olderThan time.Duration) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM audit_events i
			WHERE seq = ANY($1) AND outcome = 'pending'
			  AND NOT EXISTS (SELECT 1 FROM audit_events o WHERE o.intent_seq = i.seq)
			ORDER BY seq`, seqs)
		if err != nil {
			return err
		}
		intents, err := pgx.CollectRows(rows, scanEvent)
		if err != nil || len(intents) == 0 {
			return err
		}
		events := make([]Event, len(intents))
		for i, intent := range intents {
			events[i] = outcomeOf(intent, OutcomeUnknown)
			events[i].Detail = DetailJSON(map[string]string{
				"closedBy": "CloseStaleIntents",
				"why": fmt.Sprintf("no outcome was recorded within %s of the intent at %s; whether the change happened is not known",
					olderThan, intent.Time.Format(time.RFC3339)),
			})
			if events[i], err = prepare(events[i]); err != nil {
				return fmt.Errorf("intent %d: %w", intent.Seq, err)
			}
		}
		s.head.forget()
		if _, err := s.appendLocked(ctx, tx, events); err != nil {
			return err
		}
		n = len(events)
		return nil
	})
	return n, err
}
