package operators

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SignInAttempts counts sign-in attempts per client IP in fixed windows, in PostgreSQL,
// so that every replica draws on the same allowance.
type SignInAttempts struct {
	pool *pgxpool.Pool
}

// NewSignInAttempts returns the attempts kept in pool's database.
func NewSignInAttempts(pool *pgxpool.Pool) *SignInAttempts { return &SignInAttempts{pool: pool} }

// Count records one attempt from ip in the window starting at window, with one atomic
// upsert, and returns the window's attempts so far.
func (s *SignInAttempts) Count(ctx context.Context, ip string, window time.Time) (int, error) {
	var attempts int
	err := s.pool.QueryRow(ctx, `INSERT INTO signin_attempts AS a (client_ip, window_start, attempts)
		VALUES ($1, $2, 1)
		ON CONFLICT (client_ip, window_start) DO UPDATE SET attempts = a.attempts + 1
		RETURNING attempts`, ip, window).Scan(&attempts)
	if err != nil {
		return 0, fmt.Errorf("sign-in rate limit: count attempt: %w", err)
	}
	return attempts, nil
}

// Prune removes the windows that started before before.
func (s *SignInAttempts) Prune(ctx context.Context, before time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM signin_attempts WHERE window_start < $1`, before); err != nil {
		return fmt.Errorf("sign-in rate limit: prune: %w", err)
	}
	return nil
}
