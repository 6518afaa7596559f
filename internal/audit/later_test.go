package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
)

// viewIntents writes n intents of customer views, unlabelled, as the console writes them
// before Synerise has answered.
func viewIntents(t *testing.T, s *Store, n int) []Event {
	t.Helper()
	var out []Event
	for i := range n {
		intent, err := s.Intent(context.Background(), Event{
			Actor:  Actor{OperatorID: 4, Email: "support@example.com", Role: "support"},
			Action: ActionCustomerView, Target: Target{Type: "customer", ID: fmt.Sprint(5010001 + i)},
			RequestID: fmt.Sprintf("req-%d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, intent)
	}
	return out
}

type laterResult struct {
	event Event
	err   error
}

func TestOutcomesWrittenLaterShareOneTransaction(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	intents := viewIntents(t, s, 5)
	done := make(chan laterResult, len(intents))
	for i, intent := range intents {
		label := fmt.Sprintf("customer%d@example.com", i)
		err := s.OutcomeLater(intent, OutcomeSucceeded, func(e *Event) { e.Target.Label = label },
			func(e Event, err error) { done <- laterResult{e, err} })
		if err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	for range intents {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			seqs = append(seqs, r.event.Seq)
		case <-time.After(10 * time.Second):
			t.Fatal("a queued outcome was never written")
		}
	}
	for i, intent := range intents {
		outs, err := s.Outcomes(ctx, intent.Seq)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("customer%d@example.com", i)
		if len(outs) != 1 || outs[0].Outcome != OutcomeSucceeded || outs[0].Target.Label != want ||
			outs[0].Actor != intent.Actor || outs[0].RequestID != intent.RequestID {
			t.Fatalf("outcomes of intent %d: %+v, want one succeeded labelled %s", intent.Seq, outs, want)
		}
	}
	var txs int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM audit_events WHERE seq = ANY($1)`, seqs).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	if txs != 1 {
		t.Fatalf("the %d outcomes queued together were written in %d transactions, want 1", len(seqs), txs)
	}
	mustVerifyIntact(t, s, 10)
}

func TestFlushWritesQueuedOutcomesAtOnce(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	intents := viewIntents(t, s, 2)
	for _, intent := range intents {
		if err := s.OutcomeLater(intent, OutcomeSucceeded, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	for _, intent := range intents {
		outs, err := s.Outcomes(ctx, intent.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 {
			t.Fatalf("intent %d has %d outcomes right after Flush, want 1", intent.Seq, len(outs))
		}
	}
	s.Flush() // nothing queued: nothing written
	mustVerifyIntact(t, s, 4)
}

func TestOutcomeLaterRefusesAndQueuesNothing(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	intent := viewIntents(t, s, 1)[0]
	refused := map[string]error{
		"pending":        s.OutcomeLater(intent, OutcomePending, nil, nil),
		"not an outcome": s.OutcomeLater(intent, Outcome("shown"), nil, nil),
		"not an intent":  s.OutcomeLater(Event{Seq: 7, Outcome: OutcomeSucceeded}, OutcomeSucceeded, nil, nil),
		"bad detail":     s.OutcomeLater(intent, OutcomeFailed, func(e *Event) { e.Detail = []byte("{not json") }, nil),
	}
	for what, err := range refused {
		if err == nil {
			t.Errorf("OutcomeLater accepted %s", what)
		}
	}
	s.Flush()
	mustVerifyIntact(t, s, 1)
}
