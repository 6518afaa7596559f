package handlers

import (
	"context"
	"time"
)

// ipLimiter rate-limits sign-in attempts per client IP, counted in the database so that
// every replica draws on the same allowance: a fixed one-minute window per address.
type ipLimiter struct {
	attempts signInAttempts
	perMin   int
	now      func() time.Time
}

// signInWindow is the length of one rate-limit window; windows older than
// signInWindowsKept are pruned by the periodic job (PruneSignIns).
const (
	signInWindow      = time.Minute
	signInWindowsKept = 10 * time.Minute
)

func newIPLimiter(attempts signInAttempts, perMinute int, now func() time.Time) *ipLimiter {
	return &ipLimiter{attempts: attempts, perMin: perMinute, now: now}
}

// Allow takes one attempt from ip's allowance for the current window and reports whether
// the allowance held it.
func (l *ipLimiter) Allow(ctx context.Context, ip string) (bool, error) {
	now := l.now()
	attempts, err := l.attempts.Count(ctx, ip, now.Truncate(signInWindow))
	if err != nil {
		return false, err
	}
	return attempts <= l.perMin, nil
}

// PruneSignIns forgets sign-in rate-limit windows too old to matter; the periodic job of
// every replica may run it.
func (h *Handler) PruneSignIns(ctx context.Context) error {
	return h.limiter.attempts.Prune(ctx, h.Now().Add(-signInWindowsKept))
}
