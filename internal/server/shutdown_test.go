package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// The outcomes of the last customer views are written in the background, a moment after
// the page; a console that is stopped right after serving them writes them before it ends,
// so no view is left "without outcome" to be closed as unknown.
func TestShutdownWritesTheLastViewsOutcomes(t *testing.T) {
	dbURL := dbtest.URL(t)
	r := startReplica(t, dbURL)
	pool := addSupport(t, dbURL, "sana@example.com", "Sana", "replica-password-2026")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, client, r.URL, "sana@example.com", "replica-password-2026")
	const views = 5
	for range views {
		res, err := client.Get(r.URL + "/customers/4812300001")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("customer view: %d", res.StatusCode)
		}
	}
	r.stop(t)

	var intents, open int
	if err := pool.QueryRow(context.Background(), `SELECT count(*),
		count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM audit_events o WHERE o.intent_seq = i.seq))
		FROM audit_events i WHERE action = 'customer.view' AND outcome = 'pending'`).Scan(&intents, &open); err != nil {
		t.Fatal(err)
	}
	if intents != views || open != 0 {
		t.Fatalf("%d view intents, %d of them without an outcome after the console stopped; want %d and 0", intents, open, views)
	}
}
