package audit

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
)

// BenchmarkAppend measures one append on real PostgreSQL: transaction, advisory lock,
// head read, hash and insert.
func BenchmarkAppend(b *testing.B) {
	s := NewStore(dbtest.New(b))
	ctx := context.Background()
	e := sampleEvent(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel measures appends from many goroutines, which the lock serialises.
func BenchmarkAppendParallel(b *testing.B) {
	s := NewStore(dbtest.New(b))
	ctx := context.Background()
	e := sampleEvent(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchStore is the store the search and export benchmarks read: the database at
// AUDIT_BENCH_DATABASE_URL as it is (seed it with `console audit seed`), or a fresh test
// database seeded with AUDIT_BENCH_EVENTS events (default 100,000).
func benchStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	if url := os.Getenv("AUDIT_BENCH_DATABASE_URL"); url != "" {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return NewStore(pool)
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("AUDIT_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	s := NewStore(dbtest.New(b))
	if _, err := s.Seed(ctx, SeedOptions{Events: n, Seed: 42}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE audit_events"); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchLog is what the search cases are built from: the time of the newest event of a
// seeded log (`console audit seed` ends its events at the time it ran).
type benchLog struct {
	newest time.Time
}

// day is the UTC day that starts daysBack days before the newest event's day.
func (l benchLog) day(daysBack int) (time.Time, time.Time) {
	from := l.newest.UTC().Truncate(24*time.Hour).AddDate(0, 0, -daysBack)
	return from, from.Add(24 * time.Hour)
}

// searchCase is one filter, or combination, the audit log page offers.
type searchCase struct {
	name   string
	filter func(benchLog) Filter
}

func fixed(f Filter) func(benchLog) Filter { return func(benchLog) Filter { return f } }

// oldDay is a one-day range nine months back, plus f.
func oldDay(f Filter) func(benchLog) Filter {
	return func(l benchLog) Filter {
		f.From, f.To = l.day(270)
		return f
	}
}

// Seeded operators: index 0 does most of the work, index 44 the least.
const (
	busyActor = "anna.nowak0@raas.example"
	rareActor = "ewa.szymanski44@raas.example"
)

var searchCases = []searchCase{
	{"none", fixed(Filter{})},
	{"actor", fixed(Filter{Actor: busyActor})},
	{"actor rare", fixed(Filter{Actor: rareActor})},
	{"action", fixed(Filter{Action: "customer.view"})},
	{"action group", fixed(Filter{Action: "customer.*"})},
	{"action rare", fixed(Filter{Action: "settings.update"})},
	{"outcome failed", fixed(Filter{Outcome: OutcomeFailed})},
	{"outcome unknown", fixed(Filter{Outcome: OutcomeUnknown})},
	{"target id", fixed(Filter{Target: "7000001"})},
	{"target e-mail", fixed(Filter{Target: "piotr.kowalska.1@example.org"})},
	{"target none", fixed(Filter{Target: "no-such-target"})},
	{"request id", fixed(Filter{RequestID: "0123456789abcdef"})},
	{"q common (ticket)", fixed(Filter{Text: "ticket"})},
	{"q medium (GDPR)", fixed(Filter{Text: "GDPR"})},
	{"q rare (TICKET-12345)", fixed(Filter{Text: "TICKET-12345"})},
	{"q none", fixed(Filter{Text: "no such words"})},
	{"last 30 days", func(l benchLog) Filter { return Filter{From: l.newest.Add(-30 * 24 * time.Hour)} }},
	{"one day 9 months back", oldDay(Filter{})},
	{"to 9 months back", func(l benchLog) Filter { _, to := l.day(270); return Filter{To: to} }},
	{"from 9 months back", func(l benchLog) Filter { from, _ := l.day(270); return Filter{From: from} }},
	{"one day + q ticket", oldDay(Filter{Text: "ticket"})},
	{"one day + q rare", oldDay(Filter{Text: "TICKET-12345"})},
	{"one day + actor", oldDay(Filter{Actor: busyActor})},
	{"one day + action group + failed", oldDay(Filter{Action: "customer.*", Outcome: OutcomeFailed})},
	{"one day + target", oldDay(Filter{Target: "7000001"})},
	{"actor + action + outcome", fixed(Filter{Actor: busyActor, Action: "customer.update", Outcome: OutcomeSucceeded})},
	{"action + outcome, no match", fixed(Filter{Action: "customer.view", Outcome: OutcomePending})},
	{"actor + q ticket", fixed(Filter{Actor: busyActor, Text: "ticket"})},
	{"target + q ticket", fixed(Filter{Target: "7000001", Text: "ticket"})},
	{"failed + q ticket", fixed(Filter{Outcome: OutcomeFailed, Text: "ticket"})},
	{"group + q GDPR + 30 days", func(l benchLog) Filter {
		return Filter{Action: "customer.*", Text: "GDPR", From: l.newest.Add(-30 * 24 * time.Hour)}
	}},
}

// BenchmarkSearch runs every searchCase as the page does: the first page, a deep page
// (Older from far back in the case's range) and the page newer than it, each with its
// neighbour checks. It reports p50 and p95 of the single runs; use -benchtime 20x or more.
func BenchmarkSearch(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var log benchLog
	if err := s.pool.QueryRow(ctx, "SELECT occurred_at FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&log.newest); err != nil {
		b.Fatal(err)
	}
	for _, sc := range searchCases {
		f := sc.filter(log)
		deep := deepSeq(b, s, f, log)
		for _, page := range []struct {
			name string
			cur  Cursor
		}{{"first", Cursor{}}, {"deep", Cursor{Before: deep}}, {"newer", Cursor{After: deep}}} {
			b.Run(sc.name+"/"+page.name, func(b *testing.B) {
				var took []time.Duration
				rows := 0
				for b.Loop() {
					start := time.Now()
					r, err := s.Search(ctx, f, page.cur, DefaultPageSize)
					took = append(took, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					rows = len(r.Events)
				}
				reportPercentiles(b, took)
				b.ReportMetric(float64(rows), "rows")
			})
		}
	}
}

// deepSeq is the seq a tenth of the way from the oldest to the newest end of f's time
// range (of the whole log when open): the cursor of a page far back.
func deepSeq(b *testing.B, s *Store, f Filter, log benchLog) int64 {
	b.Helper()
	from, to := f.From, f.To
	if from.IsZero() {
		if err := s.pool.QueryRow(context.Background(), "SELECT occurred_at FROM audit_events ORDER BY seq LIMIT 1").Scan(&from); err != nil {
			b.Fatal(err)
		}
	}
	if to.IsZero() {
		to = log.newest
	}
	var seq int64
	err := s.pool.QueryRow(context.Background(), "SELECT seq FROM audit_events WHERE occurred_at >= $1 ORDER BY occurred_at, seq LIMIT 1",
		from.Add(to.Sub(from)/10)).Scan(&seq)
	if err != nil {
		b.Fatal(err)
	}
	return seq
}

// reportPercentiles reports the p50 and p95 of took in milliseconds.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) float64 {
		i := int(float64(len(took))*p+0.999999) - 1
		return float64(took[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
}
