package audit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
)

// filterFixture appends a small log, one event per hour from 2026-03-01 09:00 UTC, and
// returns the store. The seq of each event is its index + 1.
func filterFixture(t *testing.T) *Store {
	t.Helper()
	clock := newFakeClock()
	clock.t = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := NewStore(dbtest.New(t), WithClock(clock.Now))
	ann := Actor{OperatorID: 1, Email: "ann@example.com", Role: "support"}
	bob := Actor{OperatorID: 2, Email: "Bob@Example.com", Role: "admin"}
	jan := Target{Type: "customer", ID: "7001", Label: "jan@example.org"}
	eva := Target{Type: "customer", ID: "3f2b9c1e-0000-4000-8000-000000000001", Label: "eva@example.org"}
	events := []Event{
		{Actor: ann, Action: ActionSignIn, Outcome: OutcomeSucceeded, RequestID: "r1"},                                                         // 1
		{Actor: ann, Action: ActionCustomerView, Target: jan, Reason: "TICKET-100 reward missing", Outcome: OutcomeSucceeded, RequestID: "r2"}, // 2
		{Actor: bob, Action: ActionCustomerView, Target: eva, Reason: "ticket-200 GDPR request", Outcome: OutcomeSucceeded, RequestID: "r3"},   // 3
		{Actor: ann, Action: ActionCustomerPINResend, Target: jan, Reason: "PIN 100% lost", Outcome: OutcomeFailed, RequestID: "r4"},           // 4
		{Actor: bob, Action: ActionSettingsView, Outcome: OutcomeSucceeded, RequestID: "r5"},                                                   // 5
		{Actor: ann, Action: ActionAccessDenied, Target: Target{Type: "route", ID: "GET /settings"}, Outcome: OutcomeDenied, RequestID: "r6"},  // 6
		{Actor: bob, Action: ActionCustomerView, Target: jan, Reason: "reward_missing follow-up", Outcome: OutcomeSucceeded, RequestID: "r7"},  // 7
		{Actor: ann, Action: ActionSignOut, Outcome: OutcomeSucceeded, RequestID: "r8"},                                                        // 8
	}
	for _, e := range events {
		if _, err := s.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	return s
}

func at(hour int) time.Time { return time.Date(2026, 3, 1, hour, 0, 0, 0, time.UTC) }

func TestSearchFilters(t *testing.T) {
	s := filterFixture(t)
	tests := []struct {
		name   string
		filter Filter
		want   []int64
	}{
		{"none", Filter{}, []int64{8, 7, 6, 5, 4, 3, 2, 1}},
		{"from", Filter{From: at(14)}, []int64{8, 7, 6}},
		{"to excludes its end", Filter{To: at(11)}, []int64{2, 1}},
		{"from and to", Filter{From: at(10), To: at(12)}, []int64{3, 2}},
		{"actor", Filter{Actor: "ann@example.com"}, []int64{8, 6, 4, 2, 1}},
		{"actor any case", Filter{Actor: "bob@example.COM"}, []int64{7, 5, 3}},
		{"action", Filter{Action: "customer.view"}, []int64{7, 3, 2}},
		{"action group", Filter{Action: "customer.*"}, []int64{7, 4, 3, 2}},
		{"action group without star", Filter{Action: "auth"}, []int64{8, 1}},
		{"target id", Filter{Target: "7001"}, []int64{7, 4, 2}},
		{"target uuid", Filter{Target: "3f2b9c1e-0000-4000-8000-000000000001"}, []int64{3}},
		{"target e-mail any case", Filter{Target: "JAN@example.org"}, []int64{7, 4, 2}},
		{"outcome", Filter{Outcome: OutcomeFailed}, []int64{4}},
		{"outcome denied", Filter{Outcome: OutcomeDenied}, []int64{6}},
		{"request id", Filter{RequestID: "r5"}, []int64{5}},
		{"text any case", Filter{Text: "TICKET"}, []int64{3, 2}},
		{"text percent is literal", Filter{Text: "100%"}, []int64{4}},
		{"text underscore is literal", Filter{Text: "reward_"}, []int64{7}},
		{"combined actor and group", Filter{Actor: "ann@example.com", Action: "customer.*"}, []int64{4, 2}},
		{"combined target, outcome and time", Filter{Target: "7001", Outcome: OutcomeSucceeded, From: at(12)}, []int64{7}},
		{"combined all", Filter{From: at(9), To: at(17), Actor: "bob@example.com", Action: "customer.view", Target: "jan@example.org",
			Outcome: OutcomeSucceeded, RequestID: "r7", Text: "follow"}, []int64{7}},
		{"nothing matches", Filter{Actor: "ann@example.com", RequestID: "r7"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Search(context.Background(), tt.filter, Cursor{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(r.Events); !slices.Equal(got, tt.want) {
				t.Fatalf("Search = %v, want %v", got, tt.want)
			}
			if r.Newer != 0 || r.Older != 0 {
				t.Fatalf("one page has neighbours %d/%d", r.Newer, r.Older)
			}
			var each []int64
			if _, err := s.Each(context.Background(), tt.filter, 0, func(e Event) error { each = append(each, e.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(each, tt.want) {
				t.Fatalf("Each = %v, want %v", each, tt.want)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	for _, f := range []Filter{
		{Action: "customer.nope"},
		{Action: "nogroup.*"},
		{Action: "nogroup"},
		{Outcome: "maybe"},
		{From: at(10), To: at(10)},
		{From: at(11), To: at(10)},
	} {
		if err := f.Validate(); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidFilter", f, err)
		}
	}
	if err := (Filter{Action: "customer.*", Outcome: OutcomePending, From: at(9), To: at(10)}).Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ActionGroups(), "customer") || !slices.Contains(ActionGroups(), "audit") {
		t.Fatalf("ActionGroups = %v", ActionGroups())
	}
}

func TestSearchPagesByKeyset(t *testing.T) {
	s := NewStore(dbtest.New(t))
	appendN(t, s, 25)
	ctx := context.Background()
	page := func(cur Cursor) Results {
		t.Helper()
		r, err := s.Search(ctx, Filter{}, cur, 10)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p1 := page(Cursor{})
	if got := seqs(p1.Events); got[0] != 25 || got[9] != 16 || p1.Newer != 0 || p1.Older != 16 {
		t.Fatalf("page 1 = %v newer %d older %d", got, p1.Newer, p1.Older)
	}
	p2 := page(Cursor{Before: p1.Older})
	if got := seqs(p2.Events); got[0] != 15 || got[9] != 6 || p2.Newer != 15 || p2.Older != 6 {
		t.Fatalf("page 2 = %v newer %d older %d", got, p2.Newer, p2.Older)
	}
	p3 := page(Cursor{Before: p2.Older})
	if got := seqs(p3.Events); !slices.Equal(got, []int64{5, 4, 3, 2, 1}) || p3.Newer != 5 || p3.Older != 0 {
		t.Fatalf("page 3 = %v newer %d older %d", got, p3.Newer, p3.Older)
	}
	back := page(Cursor{After: p3.Newer})
	if !slices.Equal(seqs(back.Events), seqs(p2.Events)) || back.Newer != 15 || back.Older != 6 {
		t.Fatalf("newer than page 3 = %v newer %d older %d, want page 2", seqs(back.Events), back.Newer, back.Older)
	}
	first := page(Cursor{After: back.Newer})
	if !slices.Equal(seqs(first.Events), seqs(p1.Events)) || first.Newer != 0 || first.Older != 16 {
		t.Fatalf("newer than page 2 = %v newer %d older %d, want page 1", seqs(first.Events), first.Newer, first.Older)
	}
	// A filtered page: only even-numbered details are customer views here.
	r, err := s.Search(ctx, Filter{Action: "customer.view"}, Cursor{Before: 3}, 10)
	if err != nil || !slices.Equal(seqs(r.Events), []int64{2, 1}) || r.Newer != 2 {
		t.Fatalf("filtered page = %v %v newer %d", seqs(r.Events), err, r.Newer)
	}
}

func TestSearchPageIsStableUnderConcurrentInserts(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	appendN(t, s, 60)
	ctx := context.Background()
	p1, err := s.Search(ctx, Filter{Action: "customer.*"}, Cursor{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Search(ctx, Filter{Action: "customer.*"}, Cursor{Before: p1.Older}, 20)
	if err != nil {
		t.Fatal(err)
	}
	writer := NewStore(secondPool(t, pool))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := writer.Append(ctx, sampleEvent(1000*w+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 30 {
		got, err := s.Search(ctx, Filter{Action: "customer.*"}, Cursor{Before: p1.Older}, 20)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(got.Events), seqs(want.Events)) || got.Older != want.Older {
			t.Fatalf("page 2 moved while events were appended: %v, was %v", seqs(got.Events), seqs(want.Events))
		}
	}
	close(stop)
	wg.Wait()
	r := mustVerifyIntact(t, s, int64(countRows(t, pool)))
	if r.HeadSeq <= 60 {
		t.Fatalf("no events were appended meanwhile (head %d)", r.HeadSeq)
	}
}

func TestSearchCapsThePageSize(t *testing.T) {
	s := NewStore(dbtest.New(t))
	if _, err := s.Seed(context.Background(), SeedOptions{Events: MaxPageSize + 10, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(context.Background(), Filter{}, Cursor{}, 10*MaxPageSize)
	if err != nil || len(r.Events) != MaxPageSize || r.Older == 0 {
		t.Fatalf("%d events, older %d, %v", len(r.Events), r.Older, err)
	}
}

func TestOutcomesOfAnIntent(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	intent, err := s.Intent(ctx, sampleEvent(1))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 2)
	out, err := s.Outcome(ctx, intent, OutcomeSucceeded, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Outcomes(ctx, intent.Seq)
	if err != nil || len(got) != 1 || got[0].Seq != out.Seq {
		t.Fatalf("Outcomes = %v, %v; want [%d]", seqs(got), err, out.Seq)
	}
	if got, err := s.Outcomes(ctx, out.Seq); err != nil || len(got) != 0 {
		t.Fatalf("outcomes of an outcome = %v, %v", seqs(got), err)
	}
}
