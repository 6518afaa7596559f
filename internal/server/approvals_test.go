package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
)

// Each console process listens for the database's announcements of changed change
// requests from its start to its shutdown, and a request created outside the web layer
// shows in the navigation's count on a replica that had counted before.
func TestReplicasListenForApprovalChanges(t *testing.T) {
	dbURL := dbtest.URL(t)
	a := startReplica(t, dbURL)
	b := startReplica(t, dbURL)
	pool := addSupport(t, dbURL, "nora@example.com", "Nora", "replica-password-2026")
	addSupport(t, dbURL, "omar@example.com", "Omar", "replica-password-2026")
	ctx := context.Background()
	listeners := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, approvals.ListenerName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	within(t, "both replicas listen", func() bool { return listeners() == 2 })

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, client, a.URL, "nora@example.com", "replica-password-2026")
	nav := func() string {
		res, err := client.Get(a.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		page, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("home page on replica A: %d", res.StatusCode)
		}
		return string(page)
	}
	for range 3 {
		if !strings.Contains(nav(), "Approvals (0)") {
			t.Fatal("replica A does not show Approvals (0) before the request")
		}
	}
	omar, err := operators.NewStore(pool).ByEmail(ctx, "omar@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := pool.Exec(ctx, `INSERT INTO approval_requests (action, target_type, target_id, reason,
		requested_by, requested_by_email, requested_at, expires_at)
		VALUES ('customer.email', 'customer', '5010001', 'asked by phone', $1, 'omar@example.com', $2, $3)`,
		omar.ID, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	within(t, "replica A counts the request", func() bool { return strings.Contains(nav(), "Approvals (1)") })

	a.stop(t)
	b.stop(t)
	within(t, "no approvals listener is left once both replicas stopped", func() bool { return listeners() == 0 })
}
