package server

import (
	"context"
	"log/slog"
	"time"
)

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
