package session

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/listen"
)

// Pool lets the external tests look at the table itself.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// ListenGated runs the listener as Listen does, except that each connection attempt first
// asks gate, which refuses it by returning an error: tests keep the listener down with it.
func (s *Store) ListenGated(ctx context.Context, gate func() error) {
	s.listen(ctx, func(ctx context.Context) (*pgx.Conn, error) {
		if err := gate(); err != nil {
			return nil, err
		}
		return s.dial(ctx)
	}, slog.New(slog.DiscardHandler))
}

// Cached reports whether the session the cookie names is in the Store's cache.
func (s *Store) Cached(c *http.Cookie) bool {
	var id string
	if securecookie.DecodeMulti(s.CookieName(), c.Value, &id, s.codecs...) != nil {
		return false
	}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	_, ok := s.cache.entries[keyOf(id)]
	return ok
}

// Lease is how long the cache trusts the listener's last word from the database.
const Lease = listen.Lease
