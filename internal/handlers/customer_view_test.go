package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// lastViewIntent is the newest record of a customer view as written before Synerise
// answered (the intent; its outcome follows it).
func lastViewIntent(e *env) (audit.Event, bool) {
	evs := e.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == audit.ActionCustomerView && evs[i].IntentSeq == 0 {
			return evs[i], true
		}
	}
	return audit.Event{}, false
}

// countViews is how many customer views were recorded (one intent each).
func countViews(e *env) int {
	n := 0
	for _, ev := range e.events() {
		if ev.Action == audit.ActionCustomerView && ev.IntentSeq == 0 {
			n++
		}
	}
	return n
}

// viewLog is the audit log, telling the test when a view's intent and outcome are stored.
type viewLog struct {
	*audit.Store
	intents  chan audit.Event
	outcomes chan audit.Event
}

func newViewLog(s *audit.Store) viewLog {
	return viewLog{Store: s, intents: make(chan audit.Event, 16), outcomes: make(chan audit.Event, 16)}
}

func (v viewLog) Intent(ctx context.Context, e audit.Event) (audit.Event, error) {
	stored, err := v.Store.Intent(ctx, e)
	if err == nil && e.Action == audit.ActionCustomerView {
		v.intents <- stored
	}
	return stored, err
}

func (v viewLog) Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error) {
	stored, err := v.Store.Outcome(ctx, intent, o, change)
	if err == nil && intent.Action == audit.ActionCustomerView {
		v.outcomes <- stored
	}
	return stored, err
}

func (v viewLog) OutcomeLater(intent audit.Event, o audit.Outcome, change func(*audit.Event), done func(audit.Event, error)) error {
	return v.Store.OutcomeLater(intent, o, change, func(stored audit.Event, err error) {
		if err == nil && intent.Action == audit.ActionCustomerView {
			v.outcomes <- stored
		}
		if done != nil {
			done(stored, err)
		}
	})
}

// waitFor is the next event of ch; a test that waits in vain fails instead of hanging.
func waitFor(t *testing.T, ch <-chan audit.Event, what string) audit.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		return audit.Event{}
	}
}

// recordFirst is Synerise answering a customer read only once the view has been recorded.
type recordFirst struct {
	*synerise.ProfilesService
	recorded <-chan audit.Event
}

func (r recordFirst) Get(ctx context.Context, id int64) (*synerise.Profile, error) {
	select {
	case <-r.recorded:
		return r.ProfilesService.Get(ctx, id)
	case <-time.After(10 * time.Second):
		return nil, errors.New("the read was made before the view was recorded, not beside it")
	}
}

// With Synerise taking 30 ms per read, the view is recorded while the profile is being
// read, not after it: here Synerise answers only once the record is stored, which deadlocks
// a handler that records after reading. The page shows the customer, the record names the
// customer by clientId and the operator, and its outcome follows as succeeded, labelled with
// the e-mail Synerise gave, so a search of the log by e-mail finds the view.
func TestCustomerViewIsRecordedWhileSyneriseIsAsked(t *testing.T) {
	var log viewLog
	recorded := make(chan audit.Event, 1)
	e := newEnv(t, func(d *handlers.Deps) {
		log = newViewLog(d.Audit.(*audit.Store))
		d.Audit = log
		d.Profiles = recordFirst{ProfilesService: d.Profiles.(*synerise.ProfilesService), recorded: recorded}
	})
	e.sim.SetFault(simulator.RouteProfileGet, simulator.Fault{Latency: 30 * time.Millisecond})
	go func() { recorded <- waitFor(t, log.intents, "view intent") }()

	b, op := e.signedIn(operators.RoleSupport)
	res := b.do(http.MethodGet, "/customers/"+annaID+"?reason=TICKET-30", nil, sameOrigin)
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, annaMail) {
		t.Fatalf("customer page: %d\n%s", res.StatusCode, page)
	}
	intent, ok := lastViewIntent(e)
	if !ok || intent.Outcome != audit.OutcomePending || intent.Target.ID != annaID || intent.Target.Label != "" ||
		intent.Actor.OperatorID != op.ID || intent.Reason != "TICKET-30" {
		t.Fatalf("the view's record, stored before the page was sent: %+v", intent)
	}
	out := waitFor(t, log.outcomes, "view outcome")
	if out.IntentSeq != intent.Seq || out.Outcome != audit.OutcomeSucceeded || out.Target.ID != annaID || out.Target.Label != annaMail {
		t.Fatalf("the view's outcome: %+v", out)
	}
}

// A customer Synerise does not have leaves the attempt and its failure in the audit log,
// and no record that claims the customer was shown.
func TestViewOfAMissingCustomerIsNotRecordedAsShown(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	if res := b.get("/customers/999999999"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing customer: %d", res.StatusCode)
	}
	var views []audit.Event
	for _, ev := range e.events() {
		if ev.Action == audit.ActionCustomerView {
			views = append(views, ev)
		}
	}
	if len(views) != 2 {
		t.Fatalf("%d view records, want the intent and its outcome: %+v", len(views), views)
	}
	intent, failed := views[0], views[1]
	if intent.Outcome != audit.OutcomePending || intent.Target.ID != "999999999" || intent.Actor.OperatorID != op.ID {
		t.Errorf("the attempt: %+v", intent)
	}
	if failed.IntentSeq != intent.Seq || failed.Outcome != audit.OutcomeFailed || failed.UpstreamStatus != http.StatusNotFound {
		t.Errorf("its outcome: %+v", failed)
	}
}

// Every page shown has its record, stored before the page was sent.
func TestEveryCustomerPageShownHasItsRecord(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	for i := 0; i < 5; i++ {
		res := b.get("/customers/" + annaID)
		if page := body(res); res.StatusCode != http.StatusOK || !strings.Contains(page, annaMail) {
			t.Fatalf("view %d: %d", i, res.StatusCode)
		}
		if n := countViews(e); n != i+1 {
			t.Fatalf("after %d pages shown, %d views recorded", i+1, n)
		}
	}
}
