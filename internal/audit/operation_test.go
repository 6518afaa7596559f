package audit

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
)

// sampleIntent is the intent of a change made outside the console.
func sampleIntent() Event {
	e := sampleEvent(1)
	e.Action, e.Outcome = ActionCustomerUpdate, ""
	return e
}

// errNoAnswer is a call that ended without an answer: whether it acted is not known.
var errNoAnswer = errors.New("connection reset before the answer")

// unknownWithoutAnswer is a classifier that says unknown for errNoAnswer.
func unknownWithoutAnswer(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeSucceeded
	case errors.Is(err, errNoAnswer):
		return OutcomeUnknown
	}
	return OutcomeFailed
}

func TestPerformRecordsIntentAndOutcome(t *testing.T) {
	refused := errors.New("refused")
	tests := []struct {
		name     string
		callErr  error
		classify func(error) Outcome
		want     Outcome
	}{
		{"succeeds", nil, nil, OutcomeSucceeded},
		{"fails by default on an error", refused, nil, OutcomeFailed},
		{"fails with an answer", refused, unknownWithoutAnswer, OutcomeFailed},
		{"without an answer is unknown", errNoAnswer, unknownWithoutAnswer, OutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(dbtest.New(t))
			calls := 0
			res, err := Perform(context.Background(), s, Operation{
				Intent:   sampleIntent(),
				Call:     func(context.Context) error { calls++; return tt.callErr },
				Classify: tt.classify,
				Record: func(e *Event, err error) {
					if e.Outcome != tt.want {
						t.Errorf("Record saw outcome %q, want %q", e.Outcome, tt.want)
					}
					e.After = json.RawMessage(`{"city":"B"}`)
					if err != nil {
						e.UpstreamError = err.Error()
					}
				},
			})
			if !errors.Is(err, tt.callErr) || (tt.callErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want the call's %v", err, tt.callErr)
			}
			if calls != 1 || res.Outcome != tt.want || res.OutcomeErr != nil {
				t.Fatalf("calls %d, result %+v", calls, res)
			}
			stored, gerr := s.Get(context.Background(), res.Event.Seq)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if stored.IntentSeq != res.Intent.Seq || stored.Outcome != tt.want || string(stored.After) != `{"city":"B"}` ||
				stored.Action != ActionCustomerUpdate || stored.Reason != "TICKET-1" {
				t.Fatalf("outcome row %+v", stored)
			}
			if tt.callErr != nil && stored.UpstreamError != tt.callErr.Error() {
				t.Fatalf("upstream error %q", stored.UpstreamError)
			}
			if intent, _ := s.Get(context.Background(), res.Intent.Seq); intent.Outcome != OutcomePending {
				t.Fatalf("intent row %+v", intent)
			}
			mustVerifyIntact(t, s, 2)
		})
	}
}

func TestPerformWithoutIntentMakesNoCall(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the intent's write fails: the request is gone before anything was recorded
	called := false
	res, err := Perform(ctx, s, Operation{Intent: sampleIntent(), Call: func(context.Context) error { called = true; return nil }})
	if !errors.Is(err, ErrIntentNotWritten) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrIntentNotWritten wrapping the cause", err)
	}
	if called || res.Intent.Seq != 0 || res.Event.Seq != 0 {
		t.Fatalf("called %v, result %+v", called, res)
	}
	if n := countRows(t, pool); n != 0 {
		t.Fatalf("%d rows written", n)
	}
}

func TestPerformOutlivesTheCaller(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	var callCtxErr error
	done := make(chan Result)
	go func() {
		res, _ := Perform(ctx, s, Operation{Intent: sampleIntent(), Call: func(ctx context.Context) error {
			close(started)
			<-release
			callCtxErr = ctx.Err()
			return nil
		}})
		done <- res
	}()
	<-started
	cancel() // the operator's browser goes away mid-call
	close(release)
	var res Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Perform did not return")
	}
	if callCtxErr != nil {
		t.Fatalf("the call's context ended with its caller: %v", callCtxErr)
	}
	if res.OutcomeErr != nil || res.Outcome != OutcomeSucceeded || res.Event.IntentSeq != res.Intent.Seq {
		t.Fatalf("result %+v", res)
	}
	mustVerifyIntact(t, s, 2)
}

// failingOutcomes is a Store whose outcome rows cannot be written.
type failingOutcomes struct{ *Store }

var errOutcomeWrite = errors.New("database went away")

func (failingOutcomes) Outcome(context.Context, Event, Outcome, func(*Event)) (Event, error) {
	return Event{}, errOutcomeWrite
}

func TestPerformReportsALostOutcome(t *testing.T) {
	s := NewStore(dbtest.New(t))
	res, err := Perform(context.Background(), failingOutcomes{s}, Operation{Intent: sampleIntent(),
		Call: func(context.Context) error { return nil }})
	if err != nil || !errors.Is(res.OutcomeErr, errOutcomeWrite) || res.Intent.Seq == 0 || res.Event.Seq != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if n, _ := s.PendingIntents(context.Background()); n != 1 {
		t.Fatalf("%d open intents, want the one whose outcome was lost", n)
	}
}

// Without a Record of its own, a failed operation's outcome row still says why.
func TestPerformRecordsTheErrorByDefault(t *testing.T) {
	s := NewStore(dbtest.New(t))
	res, err := Perform(context.Background(), s, Operation{Intent: sampleIntent(),
		Call: func(context.Context) error { return errors.New("operator exists") }})
	if err == nil || res.OutcomeErr != nil {
		t.Fatalf("err %v, outcome err %v", err, res.OutcomeErr)
	}
	var d map[string]string
	if json.Unmarshal(res.Event.Detail, &d) != nil || d["error"] != "operator exists" {
		t.Fatalf("outcome detail %s, want the error", res.Event.Detail)
	}
}
