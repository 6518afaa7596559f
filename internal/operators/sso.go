package operators

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrSSOOnly refuses to unlink an operator single sign-on created: they have no password,
// so it is their only way in.
var ErrSSOOnly = errors.New("operators: operator has no password; single sign-on is their only way in")

// BySubject finds the operator a single sign-on has bound to the provider's
// "issuer|sub".
func (s *Store) BySubject(ctx context.Context, subject string) (Operator, error) {
	return s.one(ctx, `SELECT `+columns+` FROM operators WHERE sso_subject = $1`, subject)
}

// CreateSSO adds an operator on their first single sign-on: no password (password sign-in
// is refused for them), bound to the provider's subject.
func (s *Store) CreateSSO(ctx context.Context, email, name string, role Role, subject string) (Operator, error) {
	rows, _ := s.pool.Query(ctx, `INSERT INTO operators (email, name, role, password_hash, must_change_password, sso, sso_subject)
		VALUES ($1, $2, $3, '', false, true, $4) RETURNING `+columns, strings.TrimSpace(email), strings.TrimSpace(name), role, subject)
	op, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Operator])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Operator{}, ErrExists
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operators: create sso: %w", err)
	}
	return op, nil
}

// BindSubject records the provider's subject for an operator an admin linked to single
// sign-on, at their first single sign-on. It binds only a linked operator not yet bound
// to another subject.
func (s *Store) BindSubject(ctx context.Context, id int64, subject string) (Operator, error) {
	return s.one(ctx, `UPDATE operators SET sso_subject = $2, updated_at = now()
		WHERE id = $1 AND sso AND (sso_subject IS NULL OR sso_subject = $2) RETURNING `+columns, id, subject)
}

// SetSSOLink lets a password operator sign in through single sign-on too (allowed), or
// stops it: unlinking forgets the bound subject. Either way their sessions end. An
// operator created by single sign-on (no password) cannot be unlinked.
func (s *Store) SetSSOLink(ctx context.Context, id int64, allowed bool) (Operator, error) {
	before, err := s.ByID(ctx, id)
	if err != nil {
		return Operator{}, err
	}
	if !allowed && before.PasswordHash == "" {
		return Operator{}, ErrSSOOnly
	}
	return s.updateAndEndSessions(ctx, `UPDATE operators SET sso = $2,
		sso_subject = CASE WHEN $2 THEN sso_subject END, updated_at = now()
		WHERE id = $1 RETURNING `+columns, id, allowed)
}

// SetBreakGlass marks an operator who may sign in with a password while local sign-in is
// off, or removes the mark.
func (s *Store) SetBreakGlass(ctx context.Context, id int64, breakGlass bool) (Operator, error) {
	return s.one(ctx, `UPDATE operators SET break_glass = $2, updated_at = now()
		WHERE id = $1 RETURNING `+columns, id, breakGlass)
}

// SetRoleFromProvider sets the role the provider's groups map to at a single sign-on. It
// ends no session itself: the sign-in starting now is about to replace the browser's,
// and any other session of the operator still carries the old role, which ends it at its
// next request. changed reports whether the role was different.
func (s *Store) SetRoleFromProvider(ctx context.Context, id int64, role Role) (op Operator, changed bool, err error) {
	before, err := s.ByID(ctx, id)
	if err != nil {
		return Operator{}, false, err
	}
	if before.Role == role {
		return before, false, nil
	}
	op, err = s.one(ctx, `UPDATE operators SET role = $2, updated_at = now() WHERE id = $1 RETURNING `+columns, id, role)
	return op, err == nil, err
}
