package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Head returns the seq and hash of the last event, or 0 and 32 zero bytes for an empty log.
func (s *Store) Head(ctx context.Context) (seq int64, hash []byte, err error) {
	seq, hash, err = head(ctx, s.pool)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: read head: %w", err)
	}
	return seq, hash, nil
}

// Get returns the event with the given seq, or ErrNotFound.
func (s *Store) Get(ctx context.Context, seq int64) (Event, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq = $1", seq)
	if err != nil {
		return Event{}, fmt.Errorf("audit: get event: %w", err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	if err != nil {
		return Event{}, fmt.Errorf("audit: get event: %w", err)
	}
	return e, nil
}

// rowsQuerier runs a query: a pool or one of its connections.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ReadAfter calls fn with each event after seq after, in seq order, at most limit of
// them, read in one query: what the audit stream sends next.
func ReadAfter(ctx context.Context, q rowsQuerier, after int64, limit int, fn func(Event) error) error {
	rows, err := q.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
	if err != nil {
		return fmt.Errorf("audit: read events after %d: %w", after, err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("audit: read events after %d: %w", after, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read events after %d: %w", after, err)
	}
	return nil
}

// TimelineEntry is what a target's timeline shows of one event.
type TimelineEntry struct {
	Seq       int64
	Time      time.Time
	Actor     Actor // Email and Role; OperatorID is not read
	Action    Action
	Reason    string
	Outcome   Outcome
	IntentSeq int64 // set on outcomes: the intent they close
}

// timelineRoom is how many entries a timeline has room for before it grows.
const timelineRoom = 8

// Timeline returns the newest events about one target, newest first, as a customer's
// timeline shows them: it reads only those columns, since a page view pays for it.
// limit is capped at 1000; zero or less means 50.
func (s *Store) Timeline(ctx context.Context, targetType, targetID string, limit int) ([]TimelineEntry, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	rows, err := s.pool.Query(ctx, `SELECT seq, occurred_at, actor_email, actor_role, action, reason, outcome, intent_seq
		FROM audit_events WHERE target_type = $1 AND target_id = $2 ORDER BY seq DESC LIMIT $3`, targetType, targetID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: timeline: %w", err)
	}
	// Most customers have a short history: room for a few entries, grown when there are more.
	out := make([]TimelineEntry, 0, min(limit, timelineRoom))
	for rows.Next() {
		var (
			e               TimelineEntry
			action, outcome string
			intentSeq       *int64
		)
		if err := rows.Scan(&e.Seq, &e.Time, &e.Actor.Email, &e.Actor.Role, &action, &e.Reason, &outcome, &intentSeq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: timeline: %w", err)
		}
		e.Action, e.Outcome = Action(action), Outcome(outcome)
		if intentSeq != nil {
			e.IntentSeq = *intentSeq
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: timeline: %w", err)
	}
	return out, nil
}

// scanEvent reads one row selected with eventColumns.
func scanEvent(row pgx.CollectableRow) (Event, error) {
	var (
		e                            Event
		actorID, upstream, intentSeq *int64
		action, outcome              string
		detail, before, after        []byte
	)
	err := row.Scan(&e.Seq, &e.Time, &actorID, &e.Actor.Email, &e.Actor.Role, &action,
		&e.Target.Type, &e.Target.ID, &e.Target.Label, &e.Reason, &outcome, &detail, &before, &after,
		&upstream, &e.UpstreamError, &e.TraceID, &e.RequestID, &e.ClientIP, &e.UserAgent,
		&intentSeq, &e.PrevHash, &e.Hash)
	if err != nil {
		return Event{}, err
	}
	e.Time = e.Time.UTC()
	e.Action, e.Outcome = Action(action), Outcome(outcome)
	e.Detail, e.Before, e.After = detail, before, after
	if actorID != nil {
		e.Actor.OperatorID = *actorID
	}
	if upstream != nil {
		e.UpstreamStatus = int(*upstream)
	}
	if intentSeq != nil {
		e.IntentSeq = *intentSeq
	}
	return e, nil
}
