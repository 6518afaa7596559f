package approvals

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/listen"
)

// ListenGated runs the listener as Listen does, except that each connection attempt first
// asks gate, which refuses it by returning an error: tests keep the listener down with it.
func (s *Store) ListenGated(ctx context.Context, gate func() error) {
	dial := listen.Dial(s.pool, ListenerName)
	s.listen(ctx, func(ctx context.Context) (*pgx.Conn, error) {
		if err := gate(); err != nil {
			return nil, err
		}
		return dial(ctx)
	}, slog.New(slog.DiscardHandler))
}
