package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// customPlan makes PostgreSQL plan each search with its actual values: the best index
// for a filter depends on how selective its values are (one operator or all of them, the
// last hour or the last year), which a cached generic plan cannot know.
const customPlan = pgx.QueryExecModeCacheDescribe

// Page sizes for Search.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Filter selects events for the auditor's screens and exports. Zero fields match every
// event; set fields combine with AND.
type Filter struct {
	From      time.Time // events at or after From; zero is open
	To        time.Time // events before To; zero is open
	Actor     string    // the operator's e-mail, any case
	Action    string    // an action ("customer.update") or a group ("customer.*")
	Target    string    // a target id (customer id, uuid) or label (e-mail, any case)
	Outcome   Outcome
	RequestID string
	Text      string // words within the reason, any case
}

// IsZero reports whether f matches every event.
func (f Filter) IsZero() bool { return f == Filter{} }

// ErrInvalidFilter is wrapped by Validate's errors.
var ErrInvalidFilter = errors.New("audit: invalid filter")

// Validate reports the first thing wrong with f: an unknown action or group, an unknown
// outcome, or a time range that ends before it starts.
func (f Filter) Validate() error {
	if f.Action != "" && len(f.actions()) == 0 {
		return fmt.Errorf("%w: unknown action %q", ErrInvalidFilter, f.Action)
	}
	if f.Outcome != "" && !f.Outcome.Valid() {
		return fmt.Errorf("%w: unknown outcome %q", ErrInvalidFilter, f.Outcome)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return fmt.Errorf("%w: the time range ends before it starts", ErrInvalidFilter)
	}
	return nil
}

// ActionGroups lists the group of every defined action, in name order.
func ActionGroups() []string {
	var groups []string
	for _, a := range Actions() {
		if g := a.Group(); !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return groups
}

// actions are the defined actions f.Action selects: one action, or a whole group
// written "group.*" or "group".
func (f Filter) actions() []string {
	if f.Action == "" {
		return nil
	}
	group, isGroup := strings.CutSuffix(f.Action, ".*")
	if !isGroup && !strings.Contains(f.Action, ".") {
		group, isGroup = f.Action, true
	}
	var out []string
	for _, a := range Actions() {
		if (isGroup && a.Group() == group) || (!isGroup && string(a) == f.Action) {
			out = append(out, string(a))
		}
	}
	return out
}

// branches are the SQL conditions for f, with their arguments numbered from
// len(args)+1: one condition, or two when f has a target, which may be an id or a label.
// Each branch is served by its own seq-ordered index, so the query reads them as a
// UNION ALL of two ordered scans rather than one OR that would have to sort every match.
// The branches never select the same row.
func (f Filter) branches(args []any) ([]string, []any) {
	conds := []string{"TRUE"}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// A time range is read through the seq bounds of its span (plan.go); written as
	// occurred_at + '0 s' the range checks rows without tempting the planner to read every
	// event of the range from audit_events_time_idx and sort them, which its estimate
	// (taking time and seq for independent) makes look cheap.
	if !f.From.IsZero() {
		conds = append(conds, "occurred_at + interval '0 s' >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		conds = append(conds, "occurred_at + interval '0 s' < "+arg(f.To.UTC()))
	}
	if f.Actor != "" {
		conds = append(conds, "lower(actor_email) = lower("+arg(f.Actor)+")")
	}
	if actions := f.actions(); len(actions) == 1 {
		conds = append(conds, "action = "+arg(actions[0]))
	} else if len(actions) > 1 {
		conds = append(conds, "action = ANY("+arg(actions)+")")
	} else if f.Action != "" {
		conds = append(conds, "FALSE")
	}
	if f.Outcome != "" {
		conds = append(conds, "outcome = "+arg(string(f.Outcome)))
	}
	if f.RequestID != "" {
		conds = append(conds, "request_id = "+arg(f.RequestID))
	}
	if f.Text != "" {
		conds = append(conds, "reason ILIKE "+arg("%"+escapeLike(f.Text)+"%"))
	}
	common := strings.Join(conds, " AND ")
	if f.Target == "" {
		return []string{common}, args
	}
	p := arg(f.Target)
	return []string{
		common + " AND target_id = " + p,
		common + " AND lower(target_label) = lower(" + p + ") AND target_id <> " + p,
	}, args
}

// selectSQL is the query for cols (eventColumns, or fewer) of the events f selects that
// also meet extra (conditions on seq with ? for their arguments, or ""), ordered by seq in
// dir, at most limit of them when limit > 0.
func (f Filter) selectSQL(cols, extra string, extraArgs []any, dir string, limit int) (string, []any) {
	branches, args := f.branches(nil)
	for _, a := range extraArgs {
		args = append(args, a)
		extra = strings.Replace(extra, "?", "$"+strconv.Itoa(len(args)), 1)
	}
	limitSQL := ""
	if limit > 0 {
		args = append(args, limit)
		limitSQL = " LIMIT $" + strconv.Itoa(len(args))
	}
	parts := make([]string, len(branches))
	for i, b := range branches {
		if extra != "" {
			b += " AND " + extra
		}
		parts[i] = "SELECT " + cols + " FROM audit_events WHERE " + b + " ORDER BY seq " + dir + limitSQL
	}
	if len(parts) == 1 {
		return parts[0], args
	}
	return "SELECT * FROM ((" + strings.Join(parts, ") UNION ALL (") + ")) u ORDER BY seq " + dir + limitSQL, args
}

// escapeLike makes s match itself literally in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Cursor is a keyset position in the newest-first list. Before asks for the events just
// older than seq Before (the next page); After for those just newer than seq After (the
// previous page). Both zero is the newest page.
type Cursor struct {
	Before int64
	After  int64
}

// Results is one page of events, newest first, with the cursors of its neighbours: Older
// is the Before of the next page and Newer the After of the previous one, zero when there
// is no such page.
type Results struct {
	Events []Event
	Newer  int64
	Older  int64
}

// Search returns one page of the events f selects, newest first, at cursor. Pages are
// keyed by seq, so events appended meanwhile never shift a page, and any page costs
// what the first does. limit zero or less means DefaultPageSize; it is capped at
// MaxPageSize.
func (s *Store) Search(ctx context.Context, f Filter, cur Cursor, limit int) (Results, error) {
	return s.search(ctx, f, cur, limit, tuning{quickWalk, longWalk})
}

// search is Search with the text search tuned by tn.
func (s *Store) search(ctx context.Context, f Filter, cur Cursor, limit int, tn tuning) (Results, error) {
	if err := f.Validate(); err != nil {
		return Results{}, err
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	sp, err := s.span(ctx, f)
	if err != nil || sp.empty {
		return Results{}, err
	}
	forward := cur.After > 0 && cur.Before == 0
	var events []Event
	switch {
	case forward:
		events, err = s.find(ctx, f, sp.conds(seqCond{">", cur.After}), "ASC", limit+1, tn)
	case cur.Before > 0:
		events, err = s.find(ctx, f, sp.conds(seqCond{"<", cur.Before}), "DESC", limit+1, tn)
	default:
		events, err = s.find(ctx, f, sp.conds(), "DESC", limit+1, tn)
	}
	if err != nil {
		return Results{}, err
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	if forward {
		slices.Reverse(events)
	}
	r := Results{Events: events}
	if len(events) == 0 {
		return r, nil
	}
	newest, oldest := events[0].Seq, events[len(events)-1].Seq
	switch {
	case forward:
		if more {
			r.Newer = newest
		}
		r.Older, err = s.neighbour(ctx, f, sp, seqCond{"<", oldest}, tn)
	case cur.Before > 0:
		if more {
			r.Older = oldest
		}
		r.Newer, err = s.neighbour(ctx, f, sp, seqCond{">", newest}, tn)
	default:
		if more {
			r.Older = oldest
		}
	}
	if err != nil {
		return Results{}, err
	}
	return r, nil
}

// neighbour returns c.seq when an event f selects lies beyond it (c is "seq < N" or
// "seq > N"), and zero otherwise.
func (s *Store) neighbour(ctx context.Context, f Filter, sp span, c seqCond, tn tuning) (int64, error) {
	dir := "ASC"
	if c.op == "<" {
		dir = "DESC"
	}
	// Not EXISTS (...): inside EXISTS the planner drops ORDER BY and LIMIT and may scan
	// the table from the wrong end.
	events, err := s.find(ctx, f, sp.conds(c), dir, 1, tn)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	return c.seq, nil
}

// find returns up to limit of the events f selects that meet conds, ordered by seq in dir
// (limit > 0).
func (s *Store) find(ctx context.Context, f Filter, conds seqConds, dir string, limit int, tn tuning) ([]Event, error) {
	if f.Text != "" {
		return s.findText(ctx, f, conds, dir, limit, tn)
	}
	extra, extraArgs := conds.sql()
	sql, args := f.selectSQL(eventColumns, extra, extraArgs, dir, limit)
	return s.collect(ctx, sql, args)
}

// Each calls fn with every event f selects up to seq through (zero means no bound),
// newest first, as rows arrive from one query: memory stays flat however many match.
// It stops at fn's first error and returns how many events fn accepted.
func (s *Store) Each(ctx context.Context, f Filter, through int64, fn func(Event) error) (int64, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	sp, err := s.span(ctx, f)
	if err != nil || sp.empty {
		return 0, err
	}
	conds := sp.conds()
	if through > 0 {
		conds = append(conds, seqCond{"<=", through})
	}
	extra, extraArgs := conds.sql()
	sql, args := f.selectSQL(eventColumns, extra, extraArgs, "DESC", 0)
	rows, err := s.pool.Query(ctx, sql, append([]any{customPlan}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("audit: read events: %w", err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return n, fmt.Errorf("audit: read events: %w", err)
		}
		if err := fn(e); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("audit: read events: %w", err)
	}
	return n, nil
}

// Outcomes returns the outcome rows of the intent with seq intentSeq, oldest first.
func (s *Store) Outcomes(ctx context.Context, intentSeq int64) ([]Event, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE intent_seq = $1 ORDER BY seq", intentSeq)
	if err != nil {
		return nil, fmt.Errorf("audit: list outcomes: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("audit: list outcomes: %w", err)
	}
	return events, nil
}
