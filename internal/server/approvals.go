package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/handlers"
)

// approvalDeps gives the web layer a store of change requests whose listener runs until
// the returned stop is called (stop waits for it to end): while it runs, the store counts
// the requests waiting for a decision, shown in every page's navigation, from memory
// until the database announces a change to them (see approvals.Store.Listen).
func approvalDeps(d *handlers.Deps, pool *pgxpool.Pool, logger *slog.Logger) (stop func()) {
	store := approvals.NewStore(pool)
	d.Approvals = store
	return background(func(ctx context.Context) { store.Listen(ctx, logger) })
}

// runApprovalExpiry expires, every minute until ctx ends, the change requests left
// undecided past their expiry, each recorded in the audit log.
func runApprovalExpiry(ctx context.Context, logger *slog.Logger, expire func(context.Context) (int, error)) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if n, err := expire(ctx); err != nil && ctx.Err() == nil {
			logger.Error("expire change requests", "err", err)
		} else if n > 0 {
			logger.Info("change requests expired without a decision", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
