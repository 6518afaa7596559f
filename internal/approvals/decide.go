package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Decision is an operator's answer to a request.
type Decision struct {
	// State is StateApproved or StateRejected.
	State   string
	By      int64
	ByEmail string
	Comment string
	At      time.Time
}

// Decide records d on request id if it is still pending at d.At, atomically: of two
// operators deciding at once, one wins and the other gets ErrNotPending, so an approved
// change is executed once.
func (s *Store) Decide(ctx context.Context, id int64, d Decision) (Request, error) {
	if d.State != StateApproved && d.State != StateRejected {
		return Request{}, fmt.Errorf("approvals: decide: %q is not a decision", d.State)
	}
	defer s.waiting.drop()
	r, err := s.one(ctx, "decide", `UPDATE approval_requests SET state = $2, decided_by = $3,
		decided_by_email = $4, comment = $5, decided_at = $6
		WHERE id = $1 AND state = 'pending' AND expires_at > $6 AND requested_by <> $3
		RETURNING `+columns, id, d.State, d.By, d.ByEmail, d.Comment, d.At)
	if errors.Is(err, ErrNotFound) {
		return Request{}, ErrNotPending
	}
	return r, err
}

// Reopen puts an approved request back to pending with outcome saying why it was not
// executed (its target moved since it was asked for): it waits for a decision again.
func (s *Store) Reopen(ctx context.Context, id int64, outcome string) (Request, error) {
	return s.finish(ctx, "reopen", `UPDATE approval_requests SET state = 'pending', decided_by = NULL,
		decided_by_email = '', comment = '', decided_at = NULL, outcome = $2
		WHERE id = $1 AND state = 'approved' RETURNING `+columns, id, outcome)
}

// MarkExecuted records that an approved request was carried out, and how.
func (s *Store) MarkExecuted(ctx context.Context, id int64, outcome string) (Request, error) {
	return s.finish(ctx, "mark executed", `UPDATE approval_requests SET state = 'executed', outcome = $2
		WHERE id = $1 AND state = 'approved' RETURNING `+columns, id, outcome)
}

// MarkFailed records that executing an approved request failed, and why.
func (s *Store) MarkFailed(ctx context.Context, id int64, outcome string) (Request, error) {
	return s.finish(ctx, "mark failed", `UPDATE approval_requests SET state = 'failed', outcome = $2
		WHERE id = $1 AND state = 'approved' RETURNING `+columns, id, outcome)
}

func (s *Store) finish(ctx context.Context, verb, sql string, args ...any) (Request, error) {
	defer s.waiting.drop()
	r, err := s.one(ctx, verb, sql, args...)
	if errors.Is(err, ErrNotFound) {
		return Request{}, fmt.Errorf("approvals: %s: the request is not approved and waiting to run", verb)
	}
	return r, err
}

// Expire marks every request still pending at now past its expiry as expired and
// returns them, so that the caller records each.
func (s *Store) Expire(ctx context.Context, now time.Time) ([]Request, error) {
	out, err := s.list(ctx, "expire", `UPDATE approval_requests SET state = 'expired',
		outcome = 'Expired without a decision; nothing was done.'
		WHERE state = 'pending' AND expires_at <= $1 RETURNING `+columns, now)
	if err != nil || len(out) > 0 {
		s.waiting.drop()
	}
	return out, err
}

// Link records the audit seq of the request's event: kind is "request" or "decision". The
// execution's own rows name the request ("request #N") and sit inside the decision's
// intent and outcome.
func (s *Store) Link(ctx context.Context, id int64, kind string, seq int64) error {
	col := map[string]string{"request": "request_seq", "decision": "decision_seq"}[kind]
	if col == "" {
		return fmt.Errorf("approvals: link: unknown event kind %q", kind)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE approval_requests SET `+col+` = $2 WHERE id = $1`, id, seq); err != nil {
		return fmt.Errorf("approvals: link %s event: %w", kind, err)
	}
	return nil
}
