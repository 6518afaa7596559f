// Package operators stores the people who use the console: their role, password hash,
// disabled flag and failed-sign-in state.
package operators

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Role is what an operator may do.
type Role string

// The roles.
const (
	RoleSupport Role = "support"
	RoleAdmin   Role = "admin"
	RoleAuditor Role = "auditor"
)

// Roles lists every role.
func Roles() []Role { return []Role{RoleSupport, RoleAdmin, RoleAuditor} }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: want support, admin or auditor", s)
}

// Errors the store returns.
var (
	ErrNotFound = errors.New("operators: no such operator")
	ErrExists   = errors.New("operators: an operator with this e-mail already exists")
)

// Lockout policy: after MaxFailures failed sign-ins in a row, from any IP, the account
// is locked for LockDuration.
const (
	MaxFailures  = 5
	LockDuration = 15 * time.Minute
)

// Operator is one person who signs in to the console.
type Operator struct {
	ID            int64      `db:"id"`
	Email         string     `db:"email"`
	Name          string     `db:"name"`
	Role          Role       `db:"role"`
	PasswordHash  string     `db:"password_hash"`
	Disabled      bool       `db:"disabled"`
	FailedSignins int        `db:"failed_signins"`
	LockedUntil   *time.Time `db:"locked_until"`
	LastSigninAt  *time.Time `db:"last_signin_at"`
	CreatedAt     time.Time  `db:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at"`
}

// Locked reports whether sign-in is paused at now.
func (o Operator) Locked(now time.Time) bool {
	return o.LockedUntil != nil && now.Before(*o.LockedUntil)
}

// Store reads and writes operators in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `id, email::text AS email, name, role, password_hash, disabled, failed_signins,
	locked_until, last_signin_at, created_at, updated_at`

// Create adds an operator with an already hashed password.
func (s *Store) Create(ctx context.Context, email, name string, role Role, passwordHash string) (Operator, error) {
	rows, _ := s.pool.Query(ctx, `INSERT INTO operators (email, name, role, password_hash)
		VALUES ($1, $2, $3, $4) RETURNING `+columns, strings.TrimSpace(email), strings.TrimSpace(name), role, passwordHash)
	op, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Operator])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Operator{}, ErrExists
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operators: create: %w", err)
	}
	return op, nil
}

// ByEmail finds an operator by e-mail, case-insensitively.
func (s *Store) ByEmail(ctx context.Context, email string) (Operator, error) {
	return s.one(ctx, `SELECT `+columns+` FROM operators WHERE email = $1`, strings.TrimSpace(email))
}

// ByID finds an operator by id.
func (s *Store) ByID(ctx context.Context, id int64) (Operator, error) {
	return s.one(ctx, `SELECT `+columns+` FROM operators WHERE id = $1`, id)
}

// List returns every operator, by e-mail.
func (s *Store) List(ctx context.Context) ([]Operator, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+columns+` FROM operators ORDER BY email`)
	ops, err := pgx.CollectRows(rows, pgx.RowToStructByName[Operator])
	if err != nil {
		return nil, fmt.Errorf("operators: list: %w", err)
	}
	return ops, nil
}

// Count returns how many operators exist.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM operators`).Scan(&n); err != nil {
		return 0, fmt.Errorf("operators: count: %w", err)
	}
	return n, nil
}

// SetDisabled disables or enables an operator and, when disabling, ends their sessions.
func (s *Store) SetDisabled(ctx context.Context, id int64, disabled bool) (Operator, error) {
	return s.updateAndEndSessions(ctx, `UPDATE operators SET disabled = $2, updated_at = now()
		WHERE id = $1 RETURNING `+columns, id, disabled)
}

// SetRole changes an operator's role and ends their sessions.
func (s *Store) SetRole(ctx context.Context, id int64, role Role) (Operator, error) {
	return s.updateAndEndSessions(ctx, `UPDATE operators SET role = $2, updated_at = now()
		WHERE id = $1 RETURNING `+columns, id, role)
}

// SetPassword replaces an operator's password hash, clears the lockout and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, id int64, passwordHash string) (Operator, error) {
	return s.updateAndEndSessions(ctx, `UPDATE operators SET password_hash = $2, failed_signins = 0,
		locked_until = NULL, updated_at = now() WHERE id = $1 RETURNING `+columns, id, passwordHash)
}

// RecordFailure counts a failed sign-in and locks the account once MaxFailures is
// reached. It reports whether this failure locked it.
func (s *Store) RecordFailure(ctx context.Context, id int64, now time.Time) (locked bool, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE operators SET
			failed_signins = failed_signins + 1,
			locked_until = CASE WHEN failed_signins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
		WHERE id = $1 RETURNING failed_signins >= $2 AND failed_signins % $2 = 0`,
		id, MaxFailures, now.Add(LockDuration)).Scan(&locked)
	if err != nil {
		return false, fmt.Errorf("operators: record failure: %w", err)
	}
	return locked, nil
}

// RecordSuccess clears the failure count after a good sign-in.
func (s *Store) RecordSuccess(ctx context.Context, id int64, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE operators SET failed_signins = 0, locked_until = NULL,
		last_signin_at = $2 WHERE id = $1`, id, now)
	if err != nil {
		return fmt.Errorf("operators: record success: %w", err)
	}
	return nil
}

func (s *Store) updateAndEndSessions(ctx context.Context, sql string, args ...any) (Operator, error) {
	var op Operator
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, sql, args...)
		var err error
		if op, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Operator]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE operator_id = $1`, op.ID)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Operator{}, ErrNotFound
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operators: update: %w", err)
	}
	return op, nil
}

func (s *Store) one(ctx context.Context, sql string, args ...any) (Operator, error) {
	rows, _ := s.pool.Query(ctx, sql, args...)
	op, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Operator])
	if errors.Is(err, pgx.ErrNoRows) {
		return Operator{}, ErrNotFound
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operators: get: %w", err)
	}
	return op, nil
}
