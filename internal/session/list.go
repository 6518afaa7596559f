package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
)

// ErrNotFound is returned when an operator has no active session with a ref.
var ErrNotFound = errors.New("session: not found")

// Info is one active session as its operator sees it. Ref is the only handle a page shows
// or posts: never the session's id or its hash.
type Info struct {
	Ref        int64     `db:"ref"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	ClientIP   string    `db:"client_ip"`
	UserAgent  string    `db:"user_agent"`
	// Method is how the operator signed in: "password", "sso" or "passkey".
	Method string `db:"auth_method"`
}

// infoColumns are the columns Info is read from, for SELECT and RETURNING alike.
const infoColumns = `ref, created_at, last_seen_at, expires_at, client_ip, user_agent, auth_method`

// Ref is the ref of a session loaded or saved by a Store; false for one never stored.
func Ref(sess *sessions.Session) (int64, bool) {
	ref, ok := sess.Values[refKey].(int64)
	return ref, ok
}

// List returns the operator's sessions that have not ended, the most recently used first.
func (s *Store) List(ctx context.Context, operatorID int64) ([]Info, error) {
	return s.collect(ctx, "list", `SELECT `+infoColumns+` FROM sessions
		WHERE operator_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, ref DESC`, operatorID, s.opts.Now())
}

// End ends the operator's active session ref and returns what it was. A ref of another
// operator's session, or of one already ended, is ErrNotFound: guessing refs ends nothing.
func (s *Store) End(ctx context.Context, operatorID, ref int64) (Info, error) {
	ended, err := s.collect(ctx, "end", `DELETE FROM sessions
		WHERE operator_id = $1 AND ref = $2 AND expires_at > $3 RETURNING `+infoColumns, operatorID, ref, s.opts.Now())
	// The ended session's next request may reach this replica before the notification does.
	s.cache.dropOperator(operatorID)
	if err != nil {
		return Info{}, err
	}
	if len(ended) == 0 {
		return Info{}, ErrNotFound
	}
	return ended[0], nil
}

// EndOthers ends every session of the operator but keep (their current one) and returns
// the active ones it ended.
func (s *Store) EndOthers(ctx context.Context, operatorID, keep int64) ([]Info, error) {
	defer s.cache.dropOperator(operatorID)
	return s.endWhere(ctx, "end others", `operator_id = $1 AND ref <> $2`, operatorID, keep)
}

// EndAll ends every session of the operator and returns the active ones it ended.
func (s *Store) EndAll(ctx context.Context, operatorID int64) ([]Info, error) {
	defer s.cache.dropOperator(operatorID)
	return s.endWhere(ctx, "end all", `operator_id = $1`, operatorID)
}

// endWhere deletes the sessions matching where (expired ones too: they are dead anyway)
// and returns those that were still active.
func (s *Store) endWhere(ctx context.Context, verb, where string, args ...any) ([]Info, error) {
	ended, err := s.collect(ctx, verb, `DELETE FROM sessions WHERE `+where+` RETURNING `+infoColumns, args...)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	active := ended[:0]
	for _, e := range ended {
		if now.Before(e.ExpiresAt) {
			active = append(active, e)
		}
	}
	return active, nil
}

func (s *Store) collect(ctx context.Context, verb, sql string, args ...any) ([]Info, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("session: %s: %w", verb, err)
	}
	infos, err := pgx.CollectRows(rows, pgx.RowToStructByName[Info])
	if err != nil {
		return nil, fmt.Errorf("session: %s: %w", verb, err)
	}
	return infos, nil
}
