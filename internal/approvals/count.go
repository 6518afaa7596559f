package approvals

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/listen"
)

// Channel is the PostgreSQL notification channel on which the database announces every
// change to the change requests (migration 00014).
const Channel = "console_approvals"

// ListenerName is the application_name of the listener's connection, so that it can be
// told apart in pg_stat_activity.
const ListenerName = "console approvals listener"

// approvable appends to actions the kinds of change an operator of role may approve.
func approvable(actions []string, role string) []string {
	for _, k := range kinds {
		if slices.Contains(k.approvers, role) {
			actions = append(actions, k.action)
		}
	}
	return actions
}

// CountWaitingFor counts the requests pending at now that operator id of role may
// decide: someone else's, of a kind their role may approve, not about id themselves.
// While the listener runs (see Listen) it counts from a copy of the pending requests
// kept in memory; otherwise, and with more than MaxWaitingInMemory pending, it counts in
// the database.
func (s *Store) CountWaitingFor(ctx context.Context, id int64, role string, now time.Time) (int, error) {
	var kindsOf [len(kinds)]string // on the stack: counting from memory allocates nothing
	actions := approvable(kindsOf[:0], role)
	if len(actions) == 0 {
		return 0, nil
	}
	src, rows, epoch := s.waiting.source()
	switch src {
	case fromMemory:
		return countWaiting(rows, id, actions, now), nil
	case toLoad:
		rows, complete, err := s.loadPending(ctx)
		if err != nil {
			s.waiting.abandon(epoch)
			return 0, err
		}
		s.waiting.keep(rows, complete, epoch)
		if complete {
			return countWaiting(rows, id, actions, now), nil
		}
	}
	return s.countInDatabase(ctx, id, actions, now)
}

// countInDatabase is CountWaitingFor without the copy in memory.
func (s *Store) countInDatabase(ctx context.Context, id int64, actions []string, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM approval_requests WHERE state = 'pending'
		AND expires_at > $1 AND requested_by <> $2 AND action = ANY($3)
		AND NOT (target_type = 'operator' AND target_id = $2::text)`, now, id, slices.Clone(actions)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("approvals: count waiting: %w", err)
	}
	return n, nil
}

// loadPending reads every pending request, expired or not (expiry is judged at each
// count, by the caller's clock), unless there are more than the copy may hold: then
// complete is false and rows is not all of them.
func (s *Store) loadPending(ctx context.Context) (rows []pendingRow, complete bool, err error) {
	res, err := s.pool.Query(ctx, `SELECT id, action, requested_by, target_type, target_id, expires_at
		FROM approval_requests WHERE state = 'pending' LIMIT $1`, s.waiting.max+1)
	if err != nil {
		return nil, false, fmt.Errorf("approvals: load pending: %w", err)
	}
	rows, err = pgx.CollectRows(res, func(row pgx.CollectableRow) (r pendingRow, err error) {
		err = row.Scan(&r.id, &r.action, &r.requestedBy, &r.targetType, &r.targetID, &r.expiresAt)
		return r, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("approvals: load pending: %w", err)
	}
	return rows, len(rows) <= s.waiting.max, nil
}

// WaitingStats reports what the Store's copy of the pending requests did.
func (s *Store) WaitingStats() WaitingStats { return s.waiting.stats() }

// Listen keeps the Store's copy of the pending requests coherent with the database until
// ctx ends: on its own connection it listens on Channel and drops the copy at each
// notification. The copy is used only while it is connected; when its connection is
// lost, every count reads the database until it has connected again, and then starts
// with no copy (notifications may have been missed meanwhile). Without Listen running, a
// Store counts in the database every time.
func (s *Store) Listen(ctx context.Context, logger *slog.Logger) {
	s.listen(ctx, listen.Dial(s.pool, ListenerName), logger)
}

func (s *Store) listen(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), logger *slog.Logger) {
	listen.Listener{
		Channel: Channel,
		Name:    "approvals listener",
		Connect: connect,
		Live:    func(leaseUntil time.Time) { s.waiting.setLive(true, leaseUntil) },
		Heard:   s.waiting.extendLease,
		Notify:  func(string) { s.waiting.drop() },
		Down:    func() { s.waiting.setLive(false, time.Time{}) },
		Logger:  logger,
	}.Run(ctx)
}
