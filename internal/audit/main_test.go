package audit

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// secondPool opens another pool on the same database, as a second process would.
func secondPool(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	other, err := pgxpool.New(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	return other
}

// adminConn is a superuser connection to the test's database.
func adminConn(t *testing.T, pool *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.AdminURL(t, pool.Config().ConnConfig.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// sampleEvent is a valid one-phase event.
func sampleEvent(i int) Event {
	return Event{
		Actor:     Actor{OperatorID: 7, Email: "ops@example.com", Role: "support"},
		Action:    ActionCustomerView,
		Target:    Target{Type: "customer", ID: "client-42", Label: "jan@example.com"},
		Reason:    "TICKET-1",
		Outcome:   OutcomeSucceeded,
		Detail:    DetailJSON(map[string]int{"n": i}),
		RequestID: "req-1",
		ClientIP:  "192.0.2.1",
		UserAgent: "test",
	}
}

func countRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustVerifyIntact(t *testing.T, s *Store, rows int64) VerifyReport {
	t.Helper()
	r, err := s.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Intact() || r.RowsChecked != rows || r.HeadSeq != rows {
		t.Fatalf("verify: %s, want intact with %d rows", r, rows)
	}
	return r
}
