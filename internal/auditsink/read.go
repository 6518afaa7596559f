package auditsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
)

// eventColumns are audit_events' columns in the order scanEvent reads them.
const eventColumns = `seq, occurred_at, actor_id, actor_email, actor_role, action,
	target_type, target_id, target_label, reason, outcome, detail, before, after,
	upstream_status, upstream_error, trace_id, request_id, client_ip, user_agent,
	intent_seq, prev_hash, hash`

// pending is events read and encoded, not yet delivered.
type pending struct {
	first, last int64
	lines       [][]byte
	times       []time.Time // each event's time, for the lag
	lastHash    []byte
}

func (p *pending) len() int { return len(p.lines) }

func (p *pending) batch() Batch { return Batch{First: p.first, Last: p.last, Lines: p.lines} }

// readAfter appends to p the events after seq after, at most limit, read in one query
// and encoded as export lines.
func readAfter(ctx context.Context, pool *pgxpool.Pool, after int64, limit int, p *pending) error {
	rows, err := pool.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
	if err != nil {
		return fmt.Errorf("auditsink: read events after %d: %w", after, err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the export writes it
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("auditsink: read events after %d: %w", after, err)
		}
		buf.Reset()
		if err := enc.Encode(audit.RecordOf(e)); err != nil {
			return fmt.Errorf("auditsink: encode event %d: %w", e.Seq, err)
		}
		p.add(e, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("auditsink: read events after %d: %w", after, err)
	}
	return nil
}

func (p *pending) add(e audit.Event, line []byte) {
	if len(p.lines) == 0 {
		p.first = e.Seq
	}
	p.last, p.lastHash = e.Seq, e.Hash
	p.lines = append(p.lines, bytes.Clone(line))
	p.times = append(p.times, e.Time)
}

// Line is e as one line of the NDJSON export, without the newline: what sinks receive.
func Line(e audit.Event) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(audit.RecordOf(e)); err != nil {
		return nil, fmt.Errorf("auditsink: encode event %d: %w", e.Seq, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// scanEvent reads one row selected with eventColumns.
func scanEvent(row pgx.Row) (audit.Event, error) {
	var (
		e                            audit.Event
		actorID, upstream, intentSeq *int64
		action, outcome              string
		detail, before, after        []byte
	)
	err := row.Scan(&e.Seq, &e.Time, &actorID, &e.Actor.Email, &e.Actor.Role, &action,
		&e.Target.Type, &e.Target.ID, &e.Target.Label, &e.Reason, &outcome, &detail, &before, &after,
		&upstream, &e.UpstreamError, &e.TraceID, &e.RequestID, &e.ClientIP, &e.UserAgent,
		&intentSeq, &e.PrevHash, &e.Hash)
	if err != nil {
		return audit.Event{}, err
	}
	e.Time = e.Time.UTC()
	e.Action, e.Outcome = audit.Action(action), audit.Outcome(outcome)
	e.Detail, e.Before, e.After = detail, before, after
	if actorID != nil {
		e.Actor.OperatorID = *actorID
	}
	if upstream != nil {
		e.UpstreamStatus = int(*upstream)
	}
	if intentSeq != nil {
		e.IntentSeq = *intentSeq
	}
	return e, nil
}
