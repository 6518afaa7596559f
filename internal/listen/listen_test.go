package listen_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/listen"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// hangGuard ends a wait that would otherwise never end; it bounds nothing the tests assert.
const hangGuard = 10 * time.Second

const name = "console listen test"

// recorder keeps what a Listener told it, in order.
type recorder struct {
	mu       sync.Mutex
	events   []string
	lives    int
	downs    int
	payloads []string
	lease    time.Time
}

func (r *recorder) listener(pool *pgxpool.Pool, gate func() error) listen.Listener {
	dial := listen.Dial(pool, name)
	return listen.Listener{
		Channel: "listen_test",
		Name:    "test listener",
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			if err := gate(); err != nil {
				return nil, err
			}
			return dial(ctx)
		},
		Live:   func(until time.Time) { r.record("live", func() { r.lives++; r.lease = until }) },
		Heard:  func(until time.Time) { r.record("heard", func() { r.lease = until }) },
		Notify: func(p string) { r.record("notify", func() { r.payloads = append(r.payloads, p) }) },
		Down:   func() { r.record("down", func() { r.downs++ }) },
		Logger: slog.New(slog.DiscardHandler),
	}
}

func (r *recorder) record(event string, f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event)
	f()
}

func (r *recorder) read(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// run runs l until the test ends.
func run(t *testing.T, l listen.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > hangGuard {
			t.Fatalf("%s: still not after %v", what, hangGuard)
		}
	}
}

func notify(t *testing.T, pool *pgxpool.Pool, payload string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify('listen_test', $1)`, payload); err != nil {
		t.Fatal(err)
	}
}

// A listener goes live once it listens, passes on each payload after extending the lease,
// and, when its connection is killed, says so and comes back live on a new connection that
// hears what is sent from then on.
func TestListenerPassesPayloadsAndReconnects(t *testing.T) {
	pool := dbtest.New(t)
	r := &recorder{}
	run(t, r.listener(pool, func() error { return nil }))
	waitFor(t, "the listener goes live", func() (ok bool) { r.read(func() { ok = r.lives == 1 }); return })
	r.read(func() {
		if until := time.Until(r.lease); until <= 0 || until > listen.Lease {
			t.Errorf("lease at going live runs %v from now; want within (0, %v]", until, listen.Lease)
		}
	})

	notify(t, pool, "first")
	waitFor(t, "the payload arrives", func() (ok bool) { r.read(func() { ok = len(r.payloads) == 1 }); return })
	r.read(func() {
		if got := r.events[len(r.events)-2:]; got[0] != "heard" || got[1] != "notify" || r.payloads[0] != "first" {
			t.Fatalf("events %v, payloads %q: want heard then notify with \"first\"", r.events, r.payloads)
		}
	})

	var killed bool
	if err := pool.QueryRow(t.Context(), `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, name).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listener's backend: %v, %v", killed, err)
	}
	waitFor(t, "the listener is live again", func() (ok bool) { r.read(func() { ok = r.lives == 2 }); return })
	r.read(func() {
		if r.downs != 1 {
			t.Fatalf("events %v: want one down between the two connections", r.events)
		}
	})
	notify(t, pool, "second")
	waitFor(t, "the payload after reconnecting arrives", func() (ok bool) {
		r.read(func() { ok = len(r.payloads) == 2 && r.payloads[1] == "second" })
		return
	})
}

// A connection refused is a down, retried until the database accepts it again.
func TestListenerRetriesARefusedConnection(t *testing.T) {
	pool := dbtest.New(t)
	r := &recorder{}
	var refusals atomic.Int32
	run(t, r.listener(pool, func() error {
		if refusals.Add(1) <= 3 {
			return errors.New("refused by the test")
		}
		return nil
	}))
	waitFor(t, "the listener goes live", func() (ok bool) { r.read(func() { ok = r.lives == 1 }); return })
	r.read(func() {
		if r.downs != 3 || r.events[0] != "down" || r.events[3] != "live" {
			t.Fatalf("events %v: want three downs, then live", r.events)
		}
	})
}

// A quiet listener pings: the database answers, and the lease moves on without any
// notification.
func TestQuietListenerExtendsItsLease(t *testing.T) {
	pool := dbtest.New(t)
	r := &recorder{}
	run(t, r.listener(pool, func() error { return nil }))
	var first time.Time
	waitFor(t, "the listener goes live", func() (ok bool) { r.read(func() { ok = r.lives == 1; first = r.lease }); return })
	waitFor(t, "a ping extends the lease", func() (ok bool) { r.read(func() { ok = r.lease.After(first) }); return })
	r.read(func() {
		if len(r.payloads) != 0 || r.downs != 0 {
			t.Fatalf("events %v: want the lease extended by pings alone", r.events)
		}
	})
}
