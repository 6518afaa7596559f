// Package forms remembers which one-time form tokens were claimed, in PostgreSQL, so that
// a form sent twice — to the same replica or to another — acts once.
package forms

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Claims is the store of claimed form tokens.
type Claims struct {
	pool *pgxpool.Pool
}

// NewClaims returns the claims kept in pool's database.
func NewClaims(pool *pgxpool.Pool) *Claims { return &Claims{pool: pool} }

// Claim claims key at now and reports whether it was not claimed before.
func (s *Claims) Claim(ctx context.Context, key string, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO form_submissions (key, claimed_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, now)
	if err != nil {
		return false, fmt.Errorf("forms: claim token: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Release forgets the claim of key, so the same form may be sent again.
func (s *Claims) Release(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM form_submissions WHERE key = $1`, key); err != nil {
		return fmt.Errorf("forms: release token: %w", err)
	}
	return nil
}

// Prune forgets the tokens claimed before before and returns how many.
func (s *Claims) Prune(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM form_submissions WHERE claimed_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune form tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}
