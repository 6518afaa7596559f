package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

// secondReplica serves the console a second time on e's database, with a session store
// of its own, as another console process would; both stores listen for the database's
// announcements and cache what they validated. It returns the second console and its
// session store.
func (e *env) secondReplica(deps handlers.Deps) (*env, *session.Store) {
	e.t.Helper()
	store := session.NewStore(e.pool, session.Options{Secret: bytes.Repeat([]byte("k"), 32), Secure: false,
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: e.clock.Now})
	for _, s := range []*session.Store{e.sessions, store} {
		listenSessions(e.t, s)
	}
	deps.Sessions, deps.SessionList = store, store
	other := *e
	other.sessions = store
	other.handler = handlers.New(deps)
	other.srv = httptest.NewServer(other.handler.Echo())
	e.t.Cleanup(other.srv.Close)
	return &other, store
}

func listenSessions(t *testing.T, s *session.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Listen(ctx, slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the session listener connects", func() bool { return s.CacheStats().Live })
}

// waitUntil polls cond until it holds. The limit only ends a wait that would never end;
// it is below session.DefaultCacheMaxAge, so what happens within it is the notification's
// doing, not the cache reading the database again on its own.
func waitUntil(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > session.DefaultCacheMaxAge/2 {
			t.Fatalf("%s: still not after %v", what, session.DefaultCacheMaxAge/2)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// on is the same browser (its cookies) talking to another replica.
func (b *browser) on(other *env) *browser {
	return &browser{e: other, client: b.client}
}

// An admin disables an operator on replica A; the operator's next request on replica B,
// which had their session cached, is refused and the session is gone.
func TestDisabledOperatorIsRefusedOnTheOtherReplica(t *testing.T) {
	var deps handlers.Deps
	e := newEnv(t, func(d *handlers.Deps) { deps = *d })
	b, bStore := e.secondReplica(deps)
	admin, _ := e.signedIn(operators.RoleAdmin)
	victim, op := e.signedIn(operators.RoleSupport)
	onB := victim.on(b)
	// The sign-in's own announcements (the operator's row was updated) may still be on
	// their way to B and drop what it cached first: ask until B answers from memory.
	waitUntil(t, "replica B serves the session from memory", func() bool {
		hits := bStore.CacheStats().Hits
		if res := onB.get("/customers"); res.StatusCode != http.StatusOK {
			t.Fatalf("support on replica B before: %d", res.StatusCode)
		}
		return bStore.CacheStats().Hits > hits
	})
	if st := bStore.CacheStats(); st.Size != 1 {
		t.Fatalf("replica B caches %d sessions, want the operator's one", st.Size)
	}

	if res := admin.post("/operators/"+itoa(op.ID)+"/disabled", url.Values{"disabled": {"true"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable on replica A: %d %s", res.StatusCode, body(res))
	}
	delay := waitUntil(t, "replica B drops the disabled operator's session", func() bool { return bStore.CacheStats().Size == 0 })
	t.Logf("replica B dropped the session %v after the disable was answered", delay)

	res := onB.get("/customers")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fcustomers" {
		t.Fatalf("disabled operator's next request on replica B: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	var left int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE operator_id = $1`, op.ID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("sessions left for the disabled operator: %d, %v", left, err)
	}
}
