package server

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/session"
)

// sessionDeps gives the web layer the list of operators' sessions: the session store
// keeps them, so it lists and ends them too.
func sessionDeps(_ *pgxpool.Pool, d *handlers.Deps) {
	d.SessionList = d.Sessions
}

// listenSessions runs the session store's listener, which lets the store answer from
// memory the sessions it validated until the database announces a change to them (see
// session.Store.Listen), until the returned stop is called; stop waits for it to end.
func listenSessions(sessions *session.Store, logger *slog.Logger) (stop func()) {
	return background(func(ctx context.Context) { sessions.Listen(ctx, logger) })
}

// background runs run in its own goroutine until the returned stop is called; stop ends
// run's context and waits for run to return.
func background(run func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
