package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps requests in PostgreSQL. Every method takes the time as an argument, so
// that expiry follows the console's clock.
type Store struct {
	pool *pgxpool.Pool
	// waiting is the copy of the pending requests that CountWaitingFor counts from while
	// the listener runs.
	waiting *waiting
}

// NewStore returns the requests kept in pool's database.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, waiting: newWaiting(MaxWaitingInMemory)}
}

const columns = `id, action, target_type, target_id, target_label, changes, payload, fingerprint, reason,
	requested_by, requested_by_email, requested_at, expires_at, state, decided_by, decided_by_email,
	comment, decided_at, outcome`

func scanRequest(row pgx.CollectableRow) (Request, error) {
	var r Request
	var changes []byte
	err := row.Scan(&r.ID, &r.Action, &r.TargetType, &r.TargetID, &r.TargetLabel, &changes, &r.Payload,
		&r.Fingerprint, &r.Reason, &r.RequestedBy, &r.RequestedByEmail, &r.RequestedAt, &r.ExpiresAt,
		&r.State, &r.DecidedBy, &r.DecidedByEmail, &r.Comment, &r.DecidedAt, &r.Outcome)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(changes, &r.Changes)
}

func (s *Store) one(ctx context.Context, verb, sql string, args ...any) (Request, error) {
	rows, _ := s.pool.Query(ctx, sql, args...)
	r, err := pgx.CollectExactlyOneRow(rows, scanRequest)
	if errors.Is(err, pgx.ErrNoRows) {
		return Request{}, ErrNotFound
	}
	if err != nil {
		return Request{}, fmt.Errorf("approvals: %s: %w", verb, err)
	}
	return r, nil
}

func (s *Store) list(ctx context.Context, verb, sql string, args ...any) ([]Request, error) {
	rows, _ := s.pool.Query(ctx, sql, args...)
	out, err := pgx.CollectRows(rows, scanRequest)
	if err != nil {
		return nil, fmt.Errorf("approvals: %s: %w", verb, err)
	}
	return out, nil
}

// NextID reserves the id of a request about to be created, so that its audit record can
// name it before it exists.
func (s *Store) NextID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('approval_requests', 'id'))`).Scan(&id); err != nil {
		return 0, fmt.Errorf("approvals: reserve id: %w", err)
	}
	return id, nil
}

// Create stores r as a pending request with r.ID (from NextID; zero takes the next one)
// and returns it.
func (s *Store) Create(ctx context.Context, r Request) (Request, error) {
	changes, err := json.Marshal(r.Changes)
	if err != nil {
		return Request{}, fmt.Errorf("approvals: create: %w", err)
	}
	payload := r.Payload
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	if r.ID == 0 {
		if r.ID, err = s.NextID(ctx); err != nil {
			return Request{}, err
		}
	}
	defer s.waiting.drop()
	return s.one(ctx, "create", `INSERT INTO approval_requests (id, action, target_type, target_id, target_label,
		changes, payload, fingerprint, reason, requested_by, requested_by_email, requested_at, expires_at)
		VALUES ($13, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+columns,
		r.Action, r.TargetType, r.TargetID, r.TargetLabel, changes, payload, r.Fingerprint, r.Reason,
		r.RequestedBy, r.RequestedByEmail, r.RequestedAt, r.ExpiresAt, r.ID)
}

// Get returns request id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Request, error) {
	return s.one(ctx, "get", `SELECT `+columns+` FROM approval_requests WHERE id = $1`, id)
}

// ListPending returns the requests waiting for a decision at now, oldest first.
func (s *Store) ListPending(ctx context.Context, now time.Time) ([]Request, error) {
	return s.list(ctx, "list pending", `SELECT `+columns+` FROM approval_requests
		WHERE state = 'pending' AND expires_at > $1 ORDER BY requested_at, id`, now)
}

// ListRequestedBy returns operator id's newest requests, at most limit.
func (s *Store) ListRequestedBy(ctx context.Context, id int64, limit int) ([]Request, error) {
	return s.list(ctx, "list requested", `SELECT `+columns+` FROM approval_requests
		WHERE requested_by = $1 ORDER BY requested_at DESC, id DESC LIMIT $2`, id, limit)
}

// ListDecided returns the newest decided or expired requests, at most limit.
func (s *Store) ListDecided(ctx context.Context, limit int) ([]Request, error) {
	return s.list(ctx, "list decided", `SELECT `+columns+` FROM approval_requests
		WHERE state <> 'pending' ORDER BY coalesce(decided_at, expires_at) DESC, id DESC LIMIT $1`, limit)
}
