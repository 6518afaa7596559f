package approvals_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// hangGuard ends a wait that would otherwise never end. It is not a bound on how fast a
// notification must arrive: the tests assert what the count says once it has.
const hangGuard = 10 * time.Second

// replicas are two Stores on one database, each on its own pool as two console processes
// would be: A listens and counts, B (and hand-written SQL) changes the requests.
type replicas struct {
	a, b *approvals.Store
	pool *pgxpool.Pool // A's
	// requester asks for changes; approver (an admin) counts what waits for them.
	requester, approver int64
	now                 time.Time
}

// newReplicas starts A's listener, refused while gate errs (nil: never), and waits until
// it is live.
func newReplicas(t testing.TB, gate func() error) *replicas {
	t.Helper()
	pool := dbtest.New(t)
	r := &replicas{pool: pool, now: time.Now()}
	for _, op := range []struct {
		email, role string
		id          *int64
	}{{"requester@example.com", "support", &r.requester}, {"approver@example.com", "admin", &r.approver}} {
		if err := pool.QueryRow(t.Context(), `INSERT INTO operators (email, name, role, password_hash)
			VALUES ($1, 'Name', $2, 'h') RETURNING id`, op.email, op.role).Scan(op.id); err != nil {
			t.Fatal(err)
		}
	}
	other, err := database.Open(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	r.a, r.b = approvals.NewStore(pool), approvals.NewStore(other)
	if gate == nil {
		gate = func() error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.a.ListenGated(ctx, gate); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "A's listener connects", func() bool { return r.a.WaitingStats().Live })
	return r
}

// create asks on B for an erasure (which admins approve) expiring after ttl.
func (r *replicas) create(t testing.TB, ttl time.Duration) approvals.Request {
	t.Helper()
	req, err := r.b.Create(t.Context(), approvals.Request{Action: approvals.ActionCustomerErase,
		TargetType: "customer", TargetID: "5010001", Reason: "asked by the customer",
		RequestedBy: r.requester, RequestedByEmail: "requester@example.com",
		RequestedAt: r.now, ExpiresAt: r.now.Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// count is what A counts for the approver at now.
func (r *replicas) count(t testing.TB, now time.Time) int {
	t.Helper()
	n, err := r.a.CountWaitingFor(t.Context(), r.approver, "admin", now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countsFromMemory asserts that A counts want at now from its copy, without the database.
func (r *replicas) countsFromMemory(t testing.TB, want int) {
	t.Helper()
	before := r.a.WaitingStats()
	if n := r.count(t, r.now); n != want || !before.Loaded {
		t.Fatalf("A counts %d (want %d) with a copy held: %v", n, want, before.Loaded)
	}
	if after := r.a.WaitingStats(); after.Hits != before.Hits+1 || after.Misses != before.Misses || after.Loads != before.Loads {
		t.Fatalf("A's count read the database: before %+v, after %+v", before, after)
	}
}

// announced runs change, which commits n transactions that change requests, and waits
// until A has heard of them all, so that no notification of theirs arrives later.
func (r *replicas) announced(t testing.TB, n int, change func()) {
	t.Helper()
	before := r.a.WaitingStats().Invalidations
	change()
	waitFor(t, "A hears of the change", func() bool { return r.a.WaitingStats().Invalidations >= before+int64(n) })
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > hangGuard {
			t.Fatalf("%s: still not after %v", what, hangGuard)
		}
	}
}

func exec(sql string) func(*testing.T, *replicas, int64) {
	return func(t *testing.T, r *replicas, id int64) {
		if _, err := r.pool.Exec(t.Context(), sql, id); err != nil {
			t.Fatal(err)
		}
	}
}

// A change made on replica B or by hand reaches A's count, which A makes from memory
// before and after: the notification dropped A's copy and A read the requests again.
func TestCountFollowsChangesMadeElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pending, want int
		change        func(*testing.T, *replicas, int64)
	}{
		{"created on B", 0, 1, func(t *testing.T, r *replicas, _ int64) { r.create(t, time.Hour) }},
		{"approved on B", 1, 0, func(t *testing.T, r *replicas, id int64) {
			if _, err := r.b.Decide(t.Context(), id, approvals.Decision{State: approvals.StateApproved,
				By: r.approver, ByEmail: "approver@example.com", At: r.now}); err != nil {
				t.Fatal(err)
			}
		}},
		{"expired by B's expiry job", 1, 0, func(t *testing.T, r *replicas, _ int64) {
			if _, err := r.b.Expire(t.Context(), r.now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"rejected by a hand-written UPDATE", 1, 0, exec(`UPDATE approval_requests
			SET state = 'rejected', comment = 'by hand', decided_at = now() WHERE id = $1`)},
		{"handed to the approver by a hand-written UPDATE", 1, 0, exec(`UPDATE approval_requests
			SET requested_by = (SELECT id FROM operators WHERE email = 'approver@example.com') WHERE id = $1`)},
		{"deleted by hand", 1, 0, exec(`DELETE FROM approval_requests WHERE id = $1`)},
		{"truncated", 1, 0, func(t *testing.T, r *replicas, _ int64) {
			if _, err := dbtest.Owner(t, r.pool).Exec(t.Context(), `TRUNCATE approval_requests`); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplicas(t, nil)
			var id int64
			r.announced(t, tc.pending, func() {
				for range tc.pending {
					id = r.create(t, time.Hour).ID
				}
			})
			waitFor(t, "A counts what is pending", func() bool { return r.count(t, r.now) == tc.pending })
			r.countsFromMemory(t, tc.pending)

			tc.change(t, r, id)
			waitFor(t, "A counts the change", func() bool { return r.count(t, r.now) == tc.want })
			r.countsFromMemory(t, tc.want)
		})
	}
}

// A request that expires by time alone leaves the count at its expiry, with no
// notification and from memory.
func TestCountHonoursExpiryWithoutANotification(t *testing.T) {
	r := newReplicas(t, nil)
	r.announced(t, 1, func() { r.create(t, time.Hour) })
	waitFor(t, "A counts the request", func() bool { return r.count(t, r.now) == 1 })
	r.countsFromMemory(t, 1)
	before := r.a.WaitingStats()
	if n := r.count(t, r.now.Add(time.Hour)); n != 0 {
		t.Fatalf("at its expiry the request still counts: %d", n)
	}
	if n := r.count(t, r.now.Add(time.Hour-time.Microsecond)); n != 1 {
		t.Fatalf("a microsecond before its expiry the request does not count: %d", n)
	}
	if after := r.a.WaitingStats(); after.Hits != before.Hits+2 || after.Invalidations != before.Invalidations {
		t.Fatalf("the expiry was not judged from memory: before %+v, after %+v", before, after)
	}
}

// With its listener down, A counts in the database, so a change nobody announces to it
// is counted at once; back, it starts with no copy (what it held may have been changed
// meanwhile) and counts from memory again.
func TestListenerDownCountsInTheDatabase(t *testing.T) {
	var refuse atomic.Bool
	r := newReplicas(t, func() error {
		if refuse.Load() {
			return errors.New("connection refused by the test")
		}
		return nil
	})
	if n := r.count(t, r.now); n != 0 {
		t.Fatalf("count of nothing: %d", n)
	}
	r.countsFromMemory(t, 0)

	refuse.Store(true)
	var killed bool
	if err := r.pool.QueryRow(t.Context(), `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, approvals.ListenerName).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listener's backend: %v, %v", killed, err)
	}
	waitFor(t, "A notices its listener is gone", func() bool { return !r.a.WaitingStats().Live })
	before := r.a.WaitingStats()
	req := r.create(t, time.Hour)
	if n := r.count(t, r.now); n != 1 {
		t.Fatalf("a request created while A's listener is down counts %d", n)
	}
	if _, err := r.b.Decide(t.Context(), req.ID, approvals.Decision{State: approvals.StateRejected,
		By: r.approver, ByEmail: "approver@example.com", Comment: "no", At: r.now}); err != nil {
		t.Fatal(err)
	}
	if n := r.count(t, r.now); n != 0 {
		t.Fatalf("a request rejected while A's listener is down counts %d", n)
	}
	r.create(t, time.Hour)
	if after := r.a.WaitingStats(); after.Misses != before.Misses+2 || after.Hits != before.Hits || after.Loaded {
		t.Fatalf("counts while the listener is down: before %+v, after %+v; want 2 in the database", before, after)
	}

	refuse.Store(false)
	waitFor(t, "A's listener reconnects", func() bool { return r.a.WaitingStats().Live })
	if n := r.count(t, r.now); n != 1 {
		t.Fatalf("after reconnecting, A counts %d; want the request created while it was down", n)
	}
	r.countsFromMemory(t, 1)
}

// With more pending requests than it may hold, A keeps no copy and counts in the database
// until a change brings them back under the bound.
func TestCountWithTooManyPendingReadsTheDatabase(t *testing.T) {
	r := newReplicas(t, nil)
	r.announced(t, 1, func() {
		if _, err := r.pool.Exec(t.Context(), `INSERT INTO approval_requests (action, target_type, target_id,
			reason, requested_by, requested_by_email, requested_at, expires_at)
			SELECT 'customer.erase', 'customer', i::text, 'load', $1, 'requester@example.com', $2, $3
			FROM generate_series(1, $4) AS i`, r.requester, r.now, r.now.Add(time.Hour), approvals.MaxWaitingInMemory+1); err != nil {
			t.Fatal(err)
		}
	})
	want := approvals.MaxWaitingInMemory + 1
	waitFor(t, "A counts every request", func() bool { return r.count(t, r.now) == want })
	before := r.a.WaitingStats()
	if n := r.count(t, r.now); n != want {
		t.Fatalf("A counts %d; want %d", n, want)
	}
	if after := r.a.WaitingStats(); after.Loaded || after.Misses != before.Misses+1 || after.Loads != before.Loads {
		t.Fatalf("with %d pending: before %+v, after %+v; want a count in the database and no load", want, before, after)
	}
	// The count in the database sees the deletion at once: wait for the notification
	// that lets A hold a copy again.
	r.announced(t, 1, func() {
		if _, err := r.pool.Exec(t.Context(), `DELETE FROM approval_requests WHERE target_id = '1'`); err != nil {
			t.Fatal(err)
		}
	})
	if n := r.count(t, r.now); n != want-1 {
		t.Fatalf("after a deletion A counts %d; want %d", n, want-1)
	}
	r.countsFromMemory(t, want-1)
}

// The count from memory follows the predicates of the count in the database for every
// role and operator: someone else's request, of a kind the role approves, not about the
// operator themselves, pending and not expired.
func TestCountFromMemoryMatchesTheDatabase(t *testing.T) {
	r := newReplicas(t, nil)
	target := strconv.FormatInt(r.approver, 10)
	for _, req := range []approvals.Request{
		{Action: approvals.ActionSettings, TargetType: "settings", TargetID: "raas"},
		{Action: approvals.ActionCustomerEmail, TargetType: "customer", TargetID: target},
		{Action: approvals.ActionOperatorRole, TargetType: "operator", TargetID: target},
		{Action: approvals.ActionOperatorRole, TargetType: "operator", TargetID: "0"},
		{Action: approvals.ActionCustomerErase, TargetType: "customer", TargetID: "1", RequestedBy: r.approver},
	} {
		if req.RequestedBy == 0 {
			req.RequestedBy = r.requester
		}
		req.Reason, req.RequestedByEmail, req.RequestedAt, req.ExpiresAt = "r", "x@example.com", r.now, r.now.Add(time.Hour)
		if _, err := r.b.Create(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	plain := approvals.NewStore(r.pool) // no listener: counts in the database
	for _, role := range []string{"admin", "support", "auditor"} {
		for _, id := range []int64{r.approver, r.requester, 0} {
			for _, at := range []time.Time{r.now, r.now.Add(time.Hour)} {
				want, err := plain.CountWaitingFor(t.Context(), id, role, at)
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "A holds a copy", func() bool {
					_, _ = r.a.CountWaitingFor(t.Context(), id, role, at)
					return r.a.WaitingStats().Loaded
				})
				got, err := r.a.CountWaitingFor(t.Context(), id, role, at)
				if err != nil || got != want {
					t.Errorf("%s %d at +%v: from memory %d, %v; in the database %d", role, id, at.Sub(r.now), got, err, want)
				}
			}
		}
	}
}
