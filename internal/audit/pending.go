package audit

import (
	"context"
	"fmt"
)

// PendingIntents counts intents that have no outcome row yet.
func (s *Store) PendingIntents(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events i WHERE i.outcome = 'pending'
		AND NOT EXISTS (SELECT 1 FROM audit_events o WHERE o.intent_seq = i.seq)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("audit: count pending intents: %w", err)
	}
	return n, nil
}
