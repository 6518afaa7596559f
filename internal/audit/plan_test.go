package audit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
)

// refEvent is what the reference search needs of an event.
type refEvent struct {
	seq                    int64
	at                     time.Time
	actor, action, outcome string
	targetID, targetLabel  string
	requestID, reason      string
}

// refLog is every event of a log, oldest first, read with one plain query.
func refLog(t *testing.T, s *Store) []refEvent {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT seq, occurred_at, actor_email, action, outcome,
		target_id, target_label, request_id, reason FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refEvent
	for rows.Next() {
		var e refEvent
		if err := rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.outcome, &e.targetID, &e.targetLabel, &e.requestID, &e.reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// refSearch is what f selects, newest first, decided in Go event by event.
func refSearch(log []refEvent, f Filter) []int64 {
	actions := f.actions()
	var out []int64
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		switch {
		case !f.From.IsZero() && e.at.Before(f.From),
			!f.To.IsZero() && !e.at.Before(f.To),
			f.Actor != "" && !strings.EqualFold(e.actor, f.Actor),
			f.Action != "" && !slices.Contains(actions, e.action),
			f.Outcome != "" && e.outcome != string(f.Outcome),
			f.RequestID != "" && e.requestID != f.RequestID,
			f.Target != "" && e.targetID != f.Target && !strings.EqualFold(e.targetLabel, f.Target),
			f.Text != "" && !strings.Contains(strings.ToLower(e.reason), strings.ToLower(f.Text)):
			continue
		}
		out = append(out, e.seq)
	}
	return out
}

// pageThrough reads every page of f with Older links, then back with Newer links, checks
// that each page's links are the ones its neighbours need, and returns the seqs read.
func pageThrough(t *testing.T, s *Store, f Filter, size int, tn tuning) []int64 {
	t.Helper()
	ctx := context.Background()
	var all []int64
	var pages []Results
	cur := Cursor{}
	for {
		r, err := s.search(ctx, f, cur, size, tn)
		if err != nil {
			t.Fatal(err)
		}
		got := seqs(r.Events)
		if len(pages) > 0 && (r.Newer != got[0]) {
			t.Fatalf("page %d: newer %d, want %d", len(pages)+1, r.Newer, got[0])
		}
		all = append(all, got...)
		pages = append(pages, r)
		if r.Older == 0 {
			break
		}
		if r.Older != got[len(got)-1] || len(pages) > 10000 {
			t.Fatalf("page %d: older %d, last seq %d", len(pages), r.Older, got[len(got)-1])
		}
		cur = Cursor{Before: r.Older}
	}
	for i := len(pages) - 1; i > 0; i-- {
		r, err := s.search(ctx, f, Cursor{After: pages[i].Newer}, size, tn)
		if err != nil {
			t.Fatal(err)
		}
		want := pages[i-1]
		if !slices.Equal(seqs(r.Events), seqs(want.Events)) || r.Older != want.Older || (r.Newer != 0) != (i-1 > 0) {
			t.Fatalf("back to page %d: %v newer %d older %d, want %v older %d",
				i, seqs(r.Events), r.Newer, r.Older, seqs(want.Events), want.Older)
		}
	}
	return all
}

// TestSearchMatchesAPlainReading seeds a log with the benchmark's mix of events over 40
// days and checks that every filter and combination of the audit log page, read page by
// page in both directions, gives exactly the events a plain reading selects: time ranges
// on exact event times and whole days, words on most events, some and none, text searches
// that fill a page from the newest events and ones that must ask the trigram index.
func TestSearchMatchesAPlainReading(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	end := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Seed(ctx, SeedOptions{Events: 20000, Span: 40 * 24 * time.Hour, End: end, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE audit_events"); err != nil {
		t.Fatal(err)
	}
	log := refLog(t, s)
	at := func(i int) time.Time { return log[i].at }
	day := func(daysBack int) (time.Time, time.Time) {
		from := end.Truncate(24*time.Hour).AddDate(0, 0, -daysBack)
		return from, from.Add(24 * time.Hour)
	}
	d30from, d30to := day(30)
	d0from, d0to := day(0)
	ticket := ""
	for i := len(log) / 2; ticket == ""; i++ {
		if strings.HasPrefix(log[i].reason, "TICKET-") {
			ticket = log[i].reason[:len("TICKET-12345")]
		}
	}
	busy, rare := log[len(log)-1].actor, ""
	for _, e := range log {
		if e.actor != busy && strings.Contains(e.actor, "44@") {
			rare = e.actor
		}
	}
	tests := []struct {
		name string
		f    Filter
		size int
	}{
		{"everything", Filter{}, MaxPageSize},
		{"actor", Filter{Actor: strings.ToUpper(busy)}, MaxPageSize},
		{"rare actor", Filter{Actor: rare}, 50},
		{"action group", Filter{Action: "customer.*"}, MaxPageSize},
		{"outcome", Filter{Outcome: OutcomeFailed}, 50},
		{"target", Filter{Target: "7000001"}, 10},
		{"target e-mail", Filter{Target: "PIOTR.kowalska.1@example.org"}, 10},
		{"word on most events", Filter{Text: "ticket"}, MaxPageSize},
		{"word on most events, small pages", Filter{Text: "TICKET"}, 50},
		{"word on some events", Filter{Text: "gdpr"}, MaxPageSize},
		{"word on few events", Filter{Text: "adjust loyalty"}, MaxPageSize},
		{"word on few events, small pages", Filter{Text: "adjust loyalty"}, 50},
		{"word on some events, small pages", Filter{Text: "GDPR"}, 50},
		{"a word and a rare one", Filter{Text: "ticket-1"}, 50},
		{"no word the index can look up", Filter{Text: "e-"}, MaxPageSize},
		{"rare word", Filter{Text: ticket}, 50},
		{"word on no event", Filter{Text: "no such words"}, 50},
		{"from an event's time", Filter{From: at(15000)}, MaxPageSize},
		{"to an event's time", Filter{To: at(3000)}, MaxPageSize},
		{"between two events' times", Filter{From: at(12000), To: at(12345)}, 50},
		{"a microsecond inside", Filter{From: at(12000).Add(time.Microsecond), To: at(12345).Add(time.Microsecond)}, 50},
		{"a microsecond outside", Filter{From: at(12000).Add(-time.Microsecond), To: at(12345).Add(-time.Microsecond)}, 50},
		{"one day 30 days back", Filter{From: d30from, To: d30to}, 50},
		{"the last day", Filter{From: d0from, To: d0to}, 50},
		{"before the first event", Filter{To: at(0)}, 50},
		{"after the last event", Filter{From: at(len(log) - 1).Add(time.Microsecond)}, 50},
		{"between two neighbours", Filter{From: at(500).Add(time.Microsecond), To: at(501)}, 50},
		{"one event", Filter{From: at(500), To: at(501)}, 50},
		{"one day + common word", Filter{From: d30from, To: d30to, Text: "ticket"}, 50},
		{"one day + rare word", Filter{From: d30from, To: d30to, Text: "adjust loyalty"}, 50},
		{"one day + actor + group + outcome", Filter{From: d30from, To: d30to, Actor: busy, Action: "customer.*", Outcome: OutcomeSucceeded}, 10},
		{"actor + common word", Filter{Actor: busy, Text: "ticket"}, 50},
		{"target + common word", Filter{Target: "7000001", Text: "ticket"}, 10},
		{"outcome + some word", Filter{Outcome: OutcomeFailed, Text: "gdpr"}, 10},
		{"group + word + days", Filter{Action: "customer.*", Text: "missing", From: at(9000), To: at(19000)}, MaxPageSize},
		{"no match", Filter{Action: "customer.view", Outcome: OutcomePending}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := refSearch(log, tt.f)
			// As Search reads, and with walks short enough for every way on to be taken.
			for _, tn := range []tuning{{quickWalk, longWalk}, {300, 3000}} {
				if got := pageThrough(t, s, tt.f, tt.size, tn); !slices.Equal(got, want) {
					t.Fatalf("%v: paged %d events, want %d (first %v, want %v)", tn, len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
				}
			}
			var each []int64
			if _, err := s.Each(ctx, tt.f, 0, func(e Event) error { each = append(each, e.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(each, want) {
				t.Fatalf("Each gave %d events, want %d", len(each), len(want))
			}
		})
	}
}

// TestSearchTimeRangeWithAClockSteppedBack: events stamped out of seq order by less than
// clockSlack (a second console's clock a few minutes behind) are still selected by their
// time, exactly.
func TestSearchTimeRangeWithAClockSteppedBack(t *testing.T) {
	clock := newFakeClock()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := NewStore(dbtest.New(t), WithClock(clock.Now))
	ctx := context.Background()
	for _, m := range []int{0, 5, -2, 10, 3, 20} { // minutes after 10:00, in seq order
		clock.t = base.Add(time.Duration(m) * time.Minute)
		if _, err := s.Append(ctx, sampleEvent(m)); err != nil {
			t.Fatal(err)
		}
	}
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, tt := range []struct {
		from, to time.Time
		want     []int64
	}{
		{min(0), min(4), []int64{5, 1}},
		{min(-5), min(0), []int64{3}},
		{min(4), min(11), []int64{4, 2}},
		{min(10), time.Time{}, []int64{6, 4}},
		{time.Time{}, min(3), []int64{3, 1}},
		{min(11), min(19), nil},
	} {
		f := Filter{From: tt.from, To: tt.to}
		r, err := s.Search(ctx, f, Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(r.Events); !slices.Equal(got, tt.want) {
			t.Errorf("%s – %s: %v, want %v", tt.from.Format("15:04"), tt.to.Format("15:04"), got, tt.want)
		}
	}
}
