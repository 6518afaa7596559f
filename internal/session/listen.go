package session

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/listen"
)

// Channel is the PostgreSQL notification channel on which the database announces changed
// and ended sessions and changed operators (migration 00012): a payload is the hex of a
// session's stored SHA-256, "op:<operator id>", or "*" for everything.
const Channel = "console_sessions"

// ListenerName is the application_name of the listener's connection, so that it can be
// told apart in pg_stat_activity.
const ListenerName = "console session listener"

// Listen keeps the Store's cache of validated sessions coherent with the database until
// ctx ends: on its own connection it listens on Channel and drops what each notification
// names. Sessions are cached only while it is connected; when its connection is lost,
// every load reads the database until it has connected again, and then starts from an
// empty cache (notifications may have been missed meanwhile). Without Listen running, a
// Store reads the database on every load.
func (s *Store) Listen(ctx context.Context, logger *slog.Logger) {
	s.listen(ctx, s.dial, logger)
}

// dial opens the listener's own connection, configured like the pool's.
func (s *Store) dial(ctx context.Context) (*pgx.Conn, error) {
	return listen.Dial(s.pool, ListenerName)(ctx)
}

func (s *Store) listen(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), logger *slog.Logger) {
	listen.Listener{
		Channel: Channel,
		Name:    "session listener",
		Connect: connect,
		Live:    func(leaseUntil time.Time) { s.cache.setLive(true, leaseUntil) },
		Heard:   s.cache.extendLease,
		Notify:  s.apply,
		Down:    func() { s.cache.setLive(false, time.Time{}) },
		Logger:  logger,
	}.Run(ctx)
}

// apply drops what a notification names; a payload it does not understand drops
// everything.
func (s *Store) apply(payload string) {
	if rest, ok := strings.CutPrefix(payload, "op:"); ok {
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
			s.cache.dropOperator(id)
			return
		}
	}
	var k key
	if len(payload) == 2*len(k) {
		if _, err := hex.Decode(k[:], []byte(payload)); err == nil {
			s.cache.dropSession(k)
			return
		}
	}
	s.cache.dropAll()
}
