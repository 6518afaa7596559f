package auditsink

import (
	"context"
	"fmt"
	"time"
)

// SinkStatus is what the Integrity page and /metrics show of one sink.
type SinkStatus struct {
	Name string
	// Seq is the last event the sink acknowledged (0: none yet).
	Seq int64
	// LagEvents is how many events the log holds after Seq.
	LagEvents int64
	// LagSeconds is the age of the oldest event not yet delivered, zero when none waits.
	LagSeconds float64
	// Failing says whether the last delivery failed; LastError and LastErrorAt are the
	// last failure, kept after a recovery (LastErrorAt is zero when it never failed).
	Failing     bool
	LastError   string
	LastErrorAt time.Time
}

// Status is the stream as a whole.
type Status struct {
	Sinks []SinkStatus
	// ShippingHere says whether this replica holds the shipping lock; ShippingAnywhere
	// whether any replica does.
	ShippingHere, ShippingAnywhere bool
}

// statusQuery reads each sink's cursor (a sink not yet started is at 0), the log's head
// and the time of the first event each sink still waits for.
const statusQuery = `SELECT s.sink, coalesce(c.seq, 0), coalesce(c.failing, false),
		coalesce(c.last_error, ''), c.last_error_at, h.head,
		(SELECT occurred_at FROM audit_events WHERE seq = coalesce(c.seq, 0) + 1)
	FROM unnest($1::text[]) AS s(sink)
	LEFT JOIN audit_sink_cursors c ON c.sink = s.sink
	CROSS JOIN (SELECT coalesce(max(seq), 0) AS head FROM audit_events) h
	ORDER BY s.sink`

// Status reads every configured sink's position, lag and last error.
func (s *Shipper) Status(ctx context.Context) (Status, error) {
	st := Status{ShippingHere: s.shipping.Load()}
	rows, err := s.pool.Query(ctx, statusQuery, s.names())
	if err != nil {
		return st, fmt.Errorf("auditsink: status: %w", err)
	}
	defer rows.Close()
	now := s.opts.Clock()
	for rows.Next() {
		var (
			ss       SinkStatus
			head     int64
			errAt    *time.Time
			oldestAt *time.Time
		)
		if err := rows.Scan(&ss.Name, &ss.Seq, &ss.Failing, &ss.LastError, &errAt, &head, &oldestAt); err != nil {
			return st, fmt.Errorf("auditsink: status: %w", err)
		}
		ss.LagEvents = max(head-ss.Seq, 0)
		if errAt != nil {
			ss.LastErrorAt = errAt.UTC()
		}
		if oldestAt != nil {
			ss.LagSeconds = max(now.Sub(*oldestAt).Seconds(), 0)
		}
		st.Sinks = append(st.Sinks, ss)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("auditsink: status: %w", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1)`, LockKey>>32, LockKey&0xffffffff).Scan(&st.ShippingAnywhere)
	if err != nil {
		return st, fmt.Errorf("auditsink: status: shipping lock: %w", err)
	}
	return st, nil
}
