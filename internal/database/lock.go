package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLockBusy is returned by AdvisoryLock.Do when the lock was not free in time.
var ErrLockBusy = errors.New("database: lock busy")

// AdvisoryLock is a PostgreSQL transaction-level advisory lock: it serialises work across
// every replica, and ends with its transaction even if the process holding it dies.
type AdvisoryLock struct {
	pool *pgxpool.Pool
	key  int64
	wait string
}

// NewAdvisoryLock returns the lock named key in pool's database; Do waits up to wait for it.
func NewAdvisoryLock(pool *pgxpool.Pool, key int64, wait time.Duration) *AdvisoryLock {
	return &AdvisoryLock{pool: pool, key: key, wait: fmt.Sprintf("%dms", wait.Milliseconds())}
}

// Do runs fn holding the lock. When another holder keeps it longer than the wait, fn is
// not run and the error wraps ErrLockBusy.
func (l *AdvisoryLock) Do(ctx context.Context, fn func() error) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("database: advisory lock: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", l.wait); err != nil {
		return fmt.Errorf("database: advisory lock: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", l.key); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
			return fmt.Errorf("%w: %w", ErrLockBusy, err)
		}
		return fmt.Errorf("database: advisory lock: %w", err)
	}
	return fn()
}
