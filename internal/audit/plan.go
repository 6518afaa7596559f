package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// Text search reads in seq order the first quickWalk events the other filters select and
// stops at a full page. When that falls short, it reads them again counting each word of
// the text on them, and picks the cheaper way on: reading on in seq order as far as the
// page needs at the density the word had (at most longWalk events), or asking the trigram
// index through the word of the text that was rarest there. The trigram index answers a
// rare word at once, but a pattern that also holds a common word (TICKET-12345) makes it
// merge the huge posting lists of that word's trigrams, so it is asked for one word only
// and the whole pattern is checked on each candidate row.
const (
	quickWalk = 2000
	longWalk  = 50000
)

// tuning is the two walks' lengths: quickWalk and longWalk in Search, shorter in tests.
type tuning struct {
	quickWalk int
	longWalk  int
}

// findText is find for a filter with text.
func (s *Store) findText(ctx context.Context, f Filter, conds seqConds, dir string, limit int, tn tuning) ([]Event, error) {
	pattern := "%" + escapeLike(f.Text) + "%"
	found, err := s.walkFor(ctx, f, pattern, conds, dir, limit, tn.quickWalk)
	if err != nil || len(found) >= limit {
		return found, err
	}
	w, err := s.walk(ctx, f, pattern, conds, dir, limit, tn.quickWalk)
	if err != nil {
		return nil, err
	}
	if found, err = s.bySeq(ctx, w.hits, dir); err != nil || w.complete(limit) {
		return found, err
	}
	conds, limit = append(conds, w.beyond(dir)), limit-len(found)
	word := w.rarest()
	if budget := w.walkOn(limit, word, tn.longWalk); budget > 0 {
		more, err := s.walkFor(ctx, f, pattern, conds, dir, limit, budget)
		if err != nil || len(more) >= limit {
			return append(found, more...), err
		}
	}
	rest, err := s.byWord(ctx, f, pattern, word, conds, dir, limit)
	return append(found, rest...), err
}

// walkFor returns the first limit events whose reason matches pattern among the first
// budget events f selects without its text that meet conds, in seq order.
func (s *Store) walkFor(ctx context.Context, f Filter, pattern string, conds seqConds, dir string, limit, budget int) ([]Event, error) {
	f.Text = ""
	extra, extraArgs := conds.sql()
	inner, args := f.selectSQL(eventColumns, extra, extraArgs, dir, budget)
	args = append(args, pattern, limit)
	sql := fmt.Sprintf("SELECT * FROM (%s) w WHERE reason ILIKE $%d ORDER BY seq %s LIMIT $%d", inner, len(args)-1, dir, len(args))
	return s.collect(ctx, sql, args)
}

// walked is what a walk found: the seqs of the matching events in order, at most the
// limit, how far it read, on how many events it read each word of the text was, and the
// newest seq of the log.
type walked struct {
	hits   []int64
	read   int64 // events read
	budget int64 // events it could read
	edge   int64 // the seq of the last event read
	words  []string
	counts []int64
	head   int64
}

// walkOn is how many more events to read in seq order for limit more matches, at the
// density the pattern had in the walk with some margin, or zero when asking the trigram
// index through word costs less: it reads every event holding the word, about the
// word's density times the whole log, and one at a time.
func (w walked) walkOn(limit int, word string, longWalk int) int {
	if len(w.hits) == 0 {
		return 0
	}
	need := float64(limit) * float64(w.read) / float64(len(w.hits)) * 1.5
	if need > float64(longWalk) {
		return 0
	}
	if i := slices.Index(w.words, word); i >= 0 && need > 4*float64(w.counts[i])/float64(w.read)*float64(w.head) {
		return 0
	}
	return int(need)
}

// complete reports that the walk answered the whole search: a full page, or every event
// the other filters select was read.
func (w walked) complete(limit int) bool { return len(w.hits) >= limit || w.read < w.budget }

// beyond is the condition for the events the walk did not read.
func (w walked) beyond(dir string) seqCond {
	if dir == "ASC" {
		return seqCond{">", w.edge}
	}
	return seqCond{"<", w.edge}
}

// rarest is the word of the text on fewest of the events read (the longer on a tie), or
// "" when the text has no word the trigram index can look up.
func (w walked) rarest() string {
	best := -1
	for i, word := range w.words {
		if best < 0 || w.counts[i] < w.counts[best] || (w.counts[i] == w.counts[best] && len(word) > len(w.words[best])) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return w.words[best]
}

// walk reads up to budget of the events f selects without its text, in seq order
// from the start of conds: the first limit of them whose reason matches pattern, and
// how many hold each word of the text.
func (s *Store) walk(ctx context.Context, f Filter, pattern string, conds seqConds, dir string, limit, budget int) (walked, error) {
	w := walked{words: indexWords(f.Text), budget: int64(budget)}
	f.Text = ""
	extra, extraArgs := conds.sql()
	inner, args := f.selectSQL("seq, reason", extra, extraArgs, dir, budget)
	counts := make([]string, len(w.words))
	for i, word := range w.words {
		args = append(args, "%"+escapeLike(word)+"%")
		counts[i] = fmt.Sprintf("count(*) FILTER (WHERE reason ILIKE $%d)", len(args))
	}
	edge := "min"
	if dir == "ASC" {
		edge = "max"
	}
	args = append(args, pattern, limit)
	n := len(args)
	sql := fmt.Sprintf(`SELECT count(*), coalesce(%s(seq), 0),
		coalesce((array_agg(seq ORDER BY seq %s) FILTER (WHERE reason ILIKE $%d))[1:$%d], '{}'),
		ARRAY[%s]::bigint[], (SELECT coalesce(max(seq), 0) FROM audit_events)
		FROM (%s) w`, edge, dir, n-1, n, strings.Join(counts, ", "), inner)
	err := s.pool.QueryRow(ctx, sql, append([]any{customPlan}, args...)...).Scan(&w.read, &w.edge, &w.hits, &w.counts, &w.head)
	if err != nil {
		return walked{}, fmt.Errorf("audit: search: %w", err)
	}
	return w, nil
}

// indexWords are the words of text the trigram index can look up: runs of three or more
// letters or digits, at most eight of them.
func indexWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	words = slices.DeleteFunc(words, func(w string) bool { return utf8.RuneCountInString(w) < 3 })
	return words[:min(len(words), 8)]
}

// byWord returns the first limit events f selects that meet conds, ordered by seq in dir,
// finding the candidates through the trigram index on word alone (a word of f's text)
// and checking the whole pattern on their rows. Without a word it leaves the choice of
// index to the planner.
func (s *Store) byWord(ctx context.Context, f Filter, pattern, word string, conds seqConds, dir string, limit int) ([]Event, error) {
	extra, extraArgs := conds.sql()
	if word == "" {
		sql, args := f.selectSQL(eventColumns, extra, extraArgs, dir, limit)
		return s.collect(ctx, sql, args)
	}
	f.Text = ""
	// (reason || '') is the reason, but not what the index is on: the planner checks the
	// pattern on each candidate row instead of asking the index for its every trigram.
	candidates := "seq = ANY(ARRAY(SELECT seq FROM audit_events WHERE reason ILIKE ? AND (reason || '') ILIKE ?"
	args := []any{"%" + escapeLike(word) + "%", pattern}
	if extra != "" {
		candidates += " AND " + extra
		args = append(args, extraArgs...)
		extra += " AND "
	}
	sql, qargs := f.selectSQL(eventColumns, extra+candidates+"))", append(extraArgs, args...), dir, limit)
	return s.collect(ctx, sql, qargs)
}

// collect runs a search query and reads its events.
func (s *Store) collect(ctx context.Context, sql string, args []any) ([]Event, error) {
	rows, err := s.pool.Query(ctx, sql, append([]any{customPlan}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	return events, nil
}

// bySeq reads the events with the given seqs, ordered by seq in dir.
func (s *Store) bySeq(ctx context.Context, seqs []int64, dir string) ([]Event, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	return s.collect(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE seq = ANY($1) ORDER BY seq "+dir, []any{seqs})
}
