package server_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

// Each console process listens for the database's session announcements from its start
// to its shutdown, and an operator disabled from outside the web layer (as `console
// operator disable` does) is refused at their next request on a replica that had served
// them.
func TestReplicasListenForSessionChanges(t *testing.T) {
	dbURL := dbtest.URL(t)
	a := startReplica(t, dbURL)
	b := startReplica(t, dbURL)
	pool := addSupport(t, dbURL, "lena@example.com", "Lena", "replica-password-2026")
	ctx := context.Background()
	listeners := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, session.ListenerName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A replica serves before its listener has connected (it reads the database until then).
	within(t, "both replicas listen", func() bool { return listeners() == 2 })

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, client, a.URL, "lena@example.com", "replica-password-2026")
	status := func() int {
		res, err := client.Get(b.URL + "/customers")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for range 3 {
		if got := status(); got != http.StatusOK {
			t.Fatalf("on replica B before: %d", got)
		}
	}
	ops := operators.NewStore(pool)
	op, err := ops.ByEmail(ctx, "lena@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.SetDisabled(ctx, op.ID, true); err != nil {
		t.Fatal(err)
	}
	within(t, "replica B refuses the disabled operator", func() bool { return status() == http.StatusSeeOther })

	a.stop(t)
	b.stop(t)
	within(t, "no listener is left once both replicas stopped", func() bool { return listeners() == 0 })
}

// within polls cond until it holds. Its limit only ends a wait that would never end; it
// is below session.DefaultCacheMaxAge, so a refusal within it is the notification's doing.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := session.DefaultCacheMaxAge / 2
	for start := time.Now(); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Since(start) > limit {
			t.Fatalf("%s: still not after %v", what, limit)
		}
	}
}
