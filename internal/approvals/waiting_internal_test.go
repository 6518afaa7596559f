package approvals

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/listen"
)

func liveWaiting() *waiting {
	w := newWaiting(MaxWaitingInMemory)
	w.setLive(true, time.Now().Add(time.Hour))
	return w
}

func mustSource(t *testing.T, w *waiting, want source) ([]pendingRow, uint64) {
	t.Helper()
	got, rows, epoch := w.source()
	if got != want {
		t.Fatalf("source %d, want %d (%+v)", got, want, w.stats())
	}
	return rows, epoch
}

var oneRow = []pendingRow{{id: 1, action: ActionCustomerErase, requestedBy: 2, expiresAt: time.Now().Add(time.Hour)}}

// A load that began before an invalidation must not keep what it read: the change the
// invalidation announced may have committed after the load's snapshot.
func TestLoadOverlappedByAnInvalidationIsNotKept(t *testing.T) {
	w := liveWaiting()
	_, epoch := mustSource(t, w, toLoad)
	w.drop()
	w.keep(oneRow, true, epoch)
	if w.stats().Loaded {
		t.Fatal("a load overtaken by an invalidation was kept")
	}
	_, epoch = mustSource(t, w, toLoad)
	w.keep(oneRow, true, epoch)
	if rows, _ := mustSource(t, w, fromMemory); len(rows) != 1 {
		t.Fatalf("an undisturbed load kept %d rows", len(rows))
	}
}

// One load runs at a time; counts meanwhile read the database. A failed load lets the
// next count load.
func TestOneLoadAtATime(t *testing.T) {
	w := liveWaiting()
	_, epoch := mustSource(t, w, toLoad)
	mustSource(t, w, fromDatabase)
	w.abandon(epoch)
	_, epoch = mustSource(t, w, toLoad)
	w.drop() // a load overtaken by a change does not hold the next one back
	mustSource(t, w, toLoad)
	w.abandon(epoch) // the overtaken load failing changes nothing
	mustSource(t, w, fromDatabase)
}

// A load that found more than the copy may hold keeps nothing, and counts read the
// database without loading again until a change.
func TestTooManyPendingAreNotLoadedAgainUntilAChange(t *testing.T) {
	w := liveWaiting()
	_, epoch := mustSource(t, w, toLoad)
	w.keep(nil, false, epoch)
	mustSource(t, w, fromDatabase)
	mustSource(t, w, fromDatabase)
	w.drop()
	mustSource(t, w, toLoad)
}

func TestCopyIsUsedOnlyWhileLiveAndLeased(t *testing.T) {
	w := newWaiting(MaxWaitingInMemory)
	_, epoch := mustSource(t, w, fromDatabase)
	w.keep(oneRow, true, epoch)
	if w.stats().Loaded {
		t.Fatal("kept while no listener is connected")
	}

	w.setLive(true, time.Now().Add(-time.Millisecond)) // connected, but not heard from lately
	mustSource(t, w, fromDatabase)

	w.setLive(true, time.Now().Add(time.Hour))
	_, epoch = mustSource(t, w, toLoad)
	w.keep(oneRow, true, epoch)
	w.leaseUntil = time.Now().Add(-time.Millisecond)
	mustSource(t, w, fromDatabase)
	w.extendLease(time.Now().Add(time.Hour))
	if w.stats().Loaded {
		t.Fatal("a lease renewed after it ran out kept the copy held before")
	}

	_, epoch = mustSource(t, w, toLoad)
	w.keep(oneRow, true, epoch)
	w.setLive(false, time.Time{})
	mustSource(t, w, fromDatabase)
	w.setLive(true, time.Now().Add(time.Hour))
	if w.stats().Loaded {
		t.Fatal("a reconnected listener kept the copy held before")
	}
}

// The same, end to end: a request created on the database while a count's load is under
// way is announced, and the load's stale copy is not kept.
func TestLoadOverlappedByAChangeIsNotKept(t *testing.T) {
	pool := dbtest.New(t)
	var requester, approver int64
	for email, id := range map[string]*int64{"r@example.com": &requester, "a@example.com": &approver} {
		if err := pool.QueryRow(t.Context(), `INSERT INTO operators (email, name, role, password_hash)
			VALUES ($1, 'Name', 'admin', 'h') RETURNING id`, email).Scan(id); err != nil {
			t.Fatal(err)
		}
	}
	s := NewStore(pool)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.listen(ctx, listen.Dial(pool, ListenerName), slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); !s.WaitingStats().Live; time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the listener does not connect")
		}
	}

	_, epoch := mustSource(t, s.waiting, toLoad)
	rows, complete, err := s.loadPending(t.Context())
	if err != nil || !complete || len(rows) != 0 {
		t.Fatalf("load: %d rows, complete %v, %v", len(rows), complete, err)
	}
	now := time.Now()
	if _, err := pool.Exec(t.Context(), `INSERT INTO approval_requests (action, target_type, target_id, reason,
		requested_by, requested_by_email, requested_at, expires_at)
		VALUES ('customer.erase', 'customer', '1', 'r', $1, 'r@example.com', $2, $3)`,
		requester, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); s.WaitingStats().Invalidations == 0; time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the creation is not announced")
		}
	}
	s.waiting.keep(rows, complete, epoch)
	if n, err := s.CountWaitingFor(t.Context(), approver, "admin", now); err != nil || n != 1 {
		t.Fatalf("after a load overtaken by a creation, the count is %d, %v; want 1", n, err)
	}
}
