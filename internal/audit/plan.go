package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// How a search reaches its rows in a large log. Two filters defeat the planner's estimates:
//
//   - A time range. seq grows with time, so the range is a seq range, found in two probes
//     of the occurred_at index (span); the search then reads the primary key, or any
//     seq-ordered filter index, from the right place instead of walking from the newest
//     event and discarding everything after the range.
//   - Words in the reason. A word on most events is found fastest by reading the newest
//     events in seq order and keeping those that match; the trigram index would collect
//     every match only to sort them and keep one page. A rare word is the other way round.
//     So a text search first reads a bounded number of events in seq order (walk) and
//     asks the trigram index only for what that left open.
//
// Both only change how rows are found: a search returns the same rows in the same order.

// clockSlack is how much earlier than an event appended before it an event may be
// stamped. Events are stamped under the append lock, so within one console occurred_at
// follows seq; consoles whose clocks are apart, or a clock stepped back, may break that
// order by up to this much and a time range still selects exactly the events stamped
// inside it.
const clockSlack = 10 * time.Minute

// span is a seq range that holds every event inside a filter's time range: seq >= lo and
// seq <= hi, zero for an open end. empty means no event can be inside the range.
type span struct {
	lo, hi int64
	empty  bool
}

// spanQuery finds the newest event stamped before $1 and the oldest stamped at or after
// $2, each in one probe of audit_events_time_idx; a NULL bound finds nothing.
const spanQuery = `SELECT
	(SELECT seq FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at DESC, seq DESC LIMIT 1),
	(SELECT seq FROM audit_events WHERE occurred_at >= $2 ORDER BY occurred_at, seq LIMIT 1)`

// span returns the seq range of f's time range. An event stamped before From-clockSlack
// was appended before every event stamped at or after From (for a later one is stamped
// at most clockSlack earlier), so the range starts just after it; likewise it ends just
// before the first event stamped at or after To+clockSlack.
func (s *Store) span(ctx context.Context, f Filter) (span, error) {
	if f.From.IsZero() && f.To.IsZero() {
		return span{}, nil
	}
	var before, after *time.Time
	if !f.From.IsZero() {
		t := f.From.UTC().Add(-clockSlack)
		before = &t
	}
	if !f.To.IsZero() {
		t := f.To.UTC().Add(clockSlack)
		after = &t
	}
	var below, above *int64
	if err := s.pool.QueryRow(ctx, spanQuery, before, after).Scan(&below, &above); err != nil {
		return span{}, fmt.Errorf("audit: search: %w", err)
	}
	var sp span
	if below != nil {
		sp.lo = *below + 1
	}
	if above != nil {
		sp.hi = *above - 1
		sp.empty = sp.hi < max(sp.lo, 1)
	}
	return sp, nil
}

// conds are the span's bounds and then extra.
func (sp span) conds(extra ...seqCond) seqConds {
	var c seqConds
	if sp.lo > 0 {
		c = append(c, seqCond{">=", sp.lo})
	}
	if sp.hi > 0 {
		c = append(c, seqCond{"<=", sp.hi})
	}
	return append(c, extra...)
}

// seqCond is the condition "seq op seq".
type seqCond struct {
	op  string // <, <=, > or >=
	seq int64
}

// seqConds are conditions that all hold.
type seqConds []seqCond

// sql is conds for selectSQL's extra: a condition with ? for each argument, or "".
func (conds seqConds) sql() (string, []any) {
	parts := make([]string, len(conds))
	args := make([]any, len(conds))
	for i, c := range conds {
		parts[i], args[i] = "seq "+c.op+" ?", c.seq
	}
	return strings.Join(parts, " AND "), args
}

// walkBudget is how many events a text search reads in seq order before it asks the
// trigram index: a word on one event in 200 or more fills a page of 50 within it.
const walkBudget = 10000

// walked is what a walk found: the seqs of the matching events in order, at most the
// limit, and how far it read.
type walked struct {
	hits []int64
	read int64 // events read, at most walkBudget
	edge int64 // the seq of the last event read
}

// complete reports that the walk answered the whole search: a full page, or every event
// the other filters select was read.
func (w walked) complete(limit int) bool { return len(w.hits) >= limit || w.read < walkBudget }

// beyond is the condition for the events the walk did not read.
func (w walked) beyond(dir string) seqCond {
	if dir == "ASC" {
		return seqCond{">", w.edge}
	}
	return seqCond{"<", w.edge}
}

// walk reads up to walkBudget of the events f selects without its text, in seq order
// from the start of conds, and returns the first limit of them whose reason matches.
func (s *Store) walk(ctx context.Context, f Filter, conds seqConds, dir string, limit int) (walked, error) {
	pattern := "%" + escapeLike(f.Text) + "%"
	f.Text = ""
	extra, extraArgs := conds.sql()
	inner, args := f.selectSQL("seq, reason", extra, extraArgs, dir, walkBudget)
	edge := "min"
	if dir == "ASC" {
		edge = "max"
	}
	args = append(args, pattern, limit)
	n := len(args)
	sql := fmt.Sprintf(`SELECT count(*), coalesce(%s(seq), 0),
		coalesce((array_agg(seq ORDER BY seq %s) FILTER (WHERE reason ILIKE $%d))[1:$%d], '{}')
		FROM (%s) w`, edge, dir, n-1, n, inner)
	var w walked
	if err := s.pool.QueryRow(ctx, sql, append([]any{customPlan}, args...)...).Scan(&w.read, &w.edge, &w.hits); err != nil {
		return walked{}, fmt.Errorf("audit: search: %w", err)
	}
	return w, nil
}

// bySeq reads the events with the given seqs, ordered by seq in dir.
func (s *Store) bySeq(ctx context.Context, seqs []int64, dir string) ([]Event, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq = ANY($1) ORDER BY seq "+dir, seqs)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	return events, nil
}
