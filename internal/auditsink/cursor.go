package auditsink

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cursors keeps each sink's position in audit_sink_cursors.
type cursors struct{ pool *pgxpool.Pool }

// cursor is a sink's stored position and health.
type cursor struct {
	seq     int64
	failing bool
}

// load returns the sink's cursor, creating it at seq 0 (the whole log) for a new sink.
func (c cursors) load(ctx context.Context, sink string) (cursor, error) {
	var cur cursor
	err := c.pool.QueryRow(ctx, `INSERT INTO audit_sink_cursors (sink) VALUES ($1)
		ON CONFLICT (sink) DO UPDATE SET sink = EXCLUDED.sink
		RETURNING seq, failing`, sink).Scan(&cur.seq, &cur.failing)
	if err != nil {
		return cursor{}, fmt.Errorf("auditsink: load cursor of %s: %w", sink, err)
	}
	return cur, nil
}

// advance records that the sink acknowledged everything through seq, whose hash is hash.
// It never moves the cursor back: a replica that lost the lock
// without noticing yet cannot undo what the new shipper recorded.
func (c cursors) advance(ctx context.Context, sink string, seq int64, hash []byte) error {
	_, err := c.pool.Exec(ctx, `UPDATE audit_sink_cursors
		SET seq = $2, hash = $3, updated_at = now(), delivered_at = now()
		WHERE sink = $1 AND seq < $2`, sink, seq, hash)
	if err != nil {
		return fmt.Errorf("auditsink: advance cursor of %s to %d: %w", sink, seq, err)
	}
	return nil
}

// rewind moves the cursor back to seq when it is beyond it, for a sink that may have
// lost events after seq.
func (c cursors) rewind(ctx context.Context, sink string, seq int64) error {
	_, err := c.pool.Exec(ctx, `UPDATE audit_sink_cursors
		SET seq = $2, hash = (SELECT hash FROM audit_events WHERE seq = $2), updated_at = now()
		WHERE sink = $1 AND seq > $2`, sink, seq)
	if err != nil {
		return fmt.Errorf("auditsink: rewind cursor of %s to %d: %w", sink, seq, err)
	}
	return nil
}

// failed records the sink's last error (already free of secrets) and whether its failure
// has been audited.
func (c cursors) failed(ctx context.Context, sink, msg string, failing bool) error {
	_, err := c.pool.Exec(ctx, `UPDATE audit_sink_cursors
		SET failing = $3, last_error = $2, last_error_at = now(), updated_at = now()
		WHERE sink = $1`, sink, msg, failing)
	if err != nil {
		return fmt.Errorf("auditsink: record failure of %s: %w", sink, err)
	}
	return nil
}

// recovered marks the sink healthy without moving it (a rewind after a success).
func (c cursors) recovered(ctx context.Context, sink string) error {
	_, err := c.pool.Exec(ctx, `UPDATE audit_sink_cursors SET failing = false, updated_at = now() WHERE sink = $1`, sink)
	if err != nil {
		return fmt.Errorf("auditsink: record recovery of %s: %w", sink, err)
	}
	return nil
}
