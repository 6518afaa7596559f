package audit

import (
	"context"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
)

// After its first run CloseStaleIntents reads only what was written since, yet still closes
// every intent that went stale in between — also one stamped a little behind the previous
// cutoff by a replica whose clock is late.
func TestCloseStaleIntentsRunAfterRunClosesNewOnes(t *testing.T) {
	pool := dbtest.New(t)
	clock := newFakeClock()
	late := &fakeClock{t: clock.Now()}
	s := NewStore(pool, WithClock(clock.Now))
	replica := NewStore(secondPool(t, pool), WithClock(late.Now))
	ctx := context.Background()
	intent := func(st *Store) Event {
		t.Helper()
		e, err := st.Intent(ctx, Event{Action: ActionCustomerPINResend, Target: Target{Type: "customer", ID: "c"}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := intent(s)
	clock.Advance(2 * time.Hour)
	if n, err := s.CloseStaleIntents(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("first run = %d, %v; want 1", n, err)
	}
	// The previous cutoff was clock-1h; the replica's clock is 30 s behind it.
	late.Advance(time.Hour - 30*time.Second)
	behind := intent(replica)
	between := intent(s)
	clock.Advance(2 * time.Hour)
	if n, err := s.CloseStaleIntents(ctx, time.Hour); err != nil || n != 2 {
		t.Fatalf("second run = %d, %v; want 2 (the replica's and the new one)", n, err)
	}
	for _, e := range []Event{first, behind, between} {
		if got := outcomesOf(t, s, e.Seq); len(got) != 1 || got[0].Outcome != OutcomeUnknown {
			t.Fatalf("intent %d: outcomes %+v, want one unknown", e.Seq, got)
		}
	}
	mustVerifyIntact(t, s, 6)
}
