package handlers

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ipLimiter rate-limits sign-in attempts per client IP, in PostgreSQL so that every
// replica draws on the same allowance: a fixed one-minute window per address, taken with
// one atomic upsert.
type ipLimiter struct {
	pool   *pgxpool.Pool
	perMin int
	now    func() time.Time
	// pruned is the Unix minute this replica last removed old windows.
	pruned atomic.Int64
}

// signInWindow is the length of one rate-limit window; windows older than
// signInWindowsKept are pruned.
const (
	signInWindow      = time.Minute
	signInWindowsKept = 10 * time.Minute
)

func newIPLimiter(pool *pgxpool.Pool, perMinute int, now func() time.Time) *ipLimiter {
	return &ipLimiter{pool: pool, perMin: perMinute, now: now}
}

// Allow takes one attempt from ip's allowance for the current window and reports whether
// the allowance held it.
func (l *ipLimiter) Allow(ctx context.Context, ip string) (bool, error) {
	now := l.now()
	window := now.Truncate(signInWindow)
	var attempts int
	err := l.pool.QueryRow(ctx, `INSERT INTO signin_attempts AS a (client_ip, window_start, attempts)
		VALUES ($1, $2, 1)
		ON CONFLICT (client_ip, window_start) DO UPDATE SET attempts = a.attempts + 1
		RETURNING attempts`, ip, window).Scan(&attempts)
	if err != nil {
		return false, fmt.Errorf("sign-in rate limit: count attempt: %w", err)
	}
	if minute := now.Unix() / 60; l.pruned.Swap(minute) != minute {
		if _, err := l.pool.Exec(ctx, `DELETE FROM signin_attempts WHERE window_start < $1`, now.Add(-signInWindowsKept)); err != nil {
			return false, fmt.Errorf("sign-in rate limit: prune: %w", err)
		}
	}
	return attempts <= l.perMin, nil
}
