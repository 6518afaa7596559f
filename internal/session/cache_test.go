package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

// hangGuard ends a wait that would otherwise never end. It is not a bound on how fast
// anything must happen: the tests assert what happens once the notification is applied,
// and BenchmarkRevocationDelay measures how long that takes.
const hangGuard = 10 * time.Second

// replicaStores returns two Stores on one database, each on its own pool as two console
// processes would be, with their listeners running and caching.
func replicaStores(t testing.TB, c *clock) (a, b *session.Store) {
	t.Helper()
	pool := dbtest.New(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO operators (email, name, role, password_hash) VALUES ('a@example.com','A','admin','h')`); err != nil {
		t.Fatal(err)
	}
	a = replicaOn(t, pool, c)
	other, err := database.Open(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	b = replicaOn(t, other, c)
	listen(t, a, nil)
	listen(t, b, nil)
	return a, b
}

func replicaOn(t testing.TB, pool *pgxpool.Pool, c *clock) *session.Store {
	return session.NewStore(pool, session.Options{Secret: []byte(strings.Repeat("s", 32)),
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: c.Now})
}

// listen runs s's listener until the test ends (connections refused while gate errs) and
// waits until it caches.
func listen(t testing.TB, s *session.Store, gate func() error) {
	t.Helper()
	if gate == nil {
		gate = func() error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.ListenGated(ctx, gate); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the listener connects", func() bool { return s.CacheStats().Live })
}

// waitFor polls cond until it holds and returns how long that took.
func waitFor(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > hangGuard {
			t.Fatalf("%s: still not after %v", what, hangGuard)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// loadSession is the session the cookie names as s loads it, nil when there is none.
func loadSession(t testing.TB, s *session.Store, c *http.Cookie) *sessions.Session {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	sess, err := s.Get(r, s.CookieName())
	if err != nil {
		t.Fatal(err)
	}
	if sess.IsNew {
		return nil
	}
	return sess
}

// cacheOn loads the session on s until a load is answered from memory. (A notification
// still on its way from an earlier change may drop what the first load cached.)
func cacheOn(t testing.TB, s *session.Store, c *http.Cookie) {
	t.Helper()
	waitFor(t, "the session is served from memory", func() bool {
		before := s.CacheStats()
		if loadSession(t, s, c) == nil {
			t.Fatal("the session does not load")
		}
		after := s.CacheStats()
		return after.Hits == before.Hits+1 && after.Misses == before.Misses && s.Cached(c)
	})
}

func TestCachedLoadReadsTheDatabaseOnce(t *testing.T) {
	c := &clock{t: time.Now()}
	a, b := replicaStores(t, c)
	cookie, _ := signInFrom(t, a, 1, "10.0.0.1", "Firefox", "password")
	cacheOn(t, b, cookie)
	before := b.CacheStats()
	for range 10 {
		sess := loadSession(t, b, cookie)
		if op, ok := session.SignedIn(sess); !ok || op.ID != 1 || op.Role != operators.RoleAdmin {
			t.Fatalf("cached session's operator: %+v, %v", op, ok)
		}
		if m, _ := sess.Values[session.MethodKey].(string); m != "password" {
			t.Fatalf("cached session's method: %q", m)
		}
	}
	if st := b.CacheStats(); st.Misses != before.Misses || st.Hits != before.Hits+10 {
		t.Fatalf("10 loads of a cached session: %+v, before %+v; want 10 more hits", st, before)
	}
}

// revocation is a change made on replica A to a session replica B has cached, and what B
// must load afterwards.
type revocation struct {
	name   string
	revoke func(t *testing.T, a *session.Store, op int64, cookie *http.Cookie, ref int64)
	check  func(t *testing.T, sess *sessions.Session)
}

func exec(sql string) func(*testing.T, *session.Store, int64, *http.Cookie, int64) {
	return func(t *testing.T, a *session.Store, op int64, _ *http.Cookie, ref int64) {
		if _, err := a.Pool().Exec(context.Background(), sql, op, ref); err != nil {
			t.Fatal(err)
		}
	}
}

func refused(t *testing.T, sess *sessions.Session) {
	t.Helper()
	if sess != nil {
		t.Fatalf("the revoked session still loads: %v", sess.Values)
	}
}

func operatorIs(want func(operators.Operator) bool) func(*testing.T, *sessions.Session) {
	return func(t *testing.T, sess *sessions.Session) {
		t.Helper()
		if sess == nil {
			t.Fatal("the session no longer loads")
		}
		if op, ok := session.SignedIn(sess); !ok || !want(op) {
			t.Fatalf("operator after the change: %+v, %v", op, ok)
		}
	}
}

var revocations = []revocation{
	{"sign-out", func(t *testing.T, a *session.Store, _ int64, cookie *http.Cookie, _ int64) {
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(cookie)
		sess, _ := a.Get(r, a.CookieName())
		sess.Options.MaxAge = -1
		if err := a.Save(r, httptest.NewRecorder(), sess); err != nil {
			t.Fatal(err)
		}
	}, refused},
	{"session ended", func(t *testing.T, a *session.Store, op int64, _ *http.Cookie, ref int64) {
		if _, err := a.End(context.Background(), op, ref); err != nil {
			t.Fatal(err)
		}
	}, refused},
	{"other sessions ended", func(t *testing.T, a *session.Store, op int64, _ *http.Cookie, _ int64) {
		_, keep := signInFrom(t, a, op, "10.0.0.9", "Kept", "password")
		if _, err := a.EndOthers(context.Background(), op, keep); err != nil {
			t.Fatal(err)
		}
	}, refused},
	{"all sessions ended", func(t *testing.T, a *session.Store, op int64, _ *http.Cookie, _ int64) {
		if _, err := a.EndAll(context.Background(), op); err != nil {
			t.Fatal(err)
		}
	}, refused},
	{"operator disabled", exec(`UPDATE operators SET disabled = true WHERE id = $1 AND $2::bigint IS NOT NULL`),
		operatorIs(func(op operators.Operator) bool { return op.Disabled })},
	{"role changed", exec(`UPDATE operators SET role = 'auditor' WHERE id = $1 AND $2::bigint IS NOT NULL`),
		operatorIs(func(op operators.Operator) bool { return op.Role == operators.RoleAuditor })},
	{"password reset", exec(`UPDATE operators SET must_change_password = true WHERE id = $1 AND $2::bigint IS NOT NULL`),
		operatorIs(func(op operators.Operator) bool { return op.MustChangePassword })},
	{"operator deleted", exec(`DELETE FROM operators WHERE id = $1 AND $2::bigint IS NOT NULL`), refused},
	{"session cut short", exec(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE operator_id = $1 AND ref = $2`), refused},
	{"sessions truncated", func(t *testing.T, a *session.Store, _ int64, _ *http.Cookie, _ int64) {
		if _, err := dbtest.Owner(t, a.Pool()).Exec(context.Background(), `TRUNCATE sessions`); err != nil {
			t.Fatal(err)
		}
	}, refused},
	{"session data saved", func(t *testing.T, a *session.Store, _ int64, cookie *http.Cookie, _ int64) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		sess, _ := a.Get(r, a.CookieName())
		sess.Values["note"] = "written on A"
		if err := a.Save(r, httptest.NewRecorder(), sess); err != nil {
			t.Fatal(err)
		}
	}, func(t *testing.T, sess *sessions.Session) {
		if sess == nil || sess.Values["note"] != "written on A" {
			t.Fatalf("B does not see what A saved: %v", sess)
		}
	}},
}

// TestRevocationReachesTheOtherReplica: whatever A changes about a session B has cached,
// B drops it when the notification arrives and its next load reads the change.
func TestRevocationReachesTheOtherReplica(t *testing.T) {
	c := &clock{t: time.Now()}
	a, b := replicaStores(t, c)
	for i, rv := range revocations {
		t.Run(rv.name, func(t *testing.T) {
			op := addOperator(t, a, "op"+string(rune('a'+i))+"@example.com")
			cookie, ref := signInFrom(t, a, op, "10.0.0.1", "Firefox", "password")
			cacheOn(t, b, cookie)
			rv.revoke(t, a, op, cookie, ref)
			delay := waitFor(t, "B drops the session", func() bool { return !b.Cached(cookie) })
			t.Logf("B dropped the session %v after the change committed", delay)
			rv.check(t, loadSession(t, b, cookie))
		})
	}
}

func TestCachedSessionHonoursItsEnd(t *testing.T) {
	c := &clock{t: time.Now()}
	_, b := replicaStores(t, c)
	cookie, _ := signInFrom(t, b, 1, "10.0.0.1", "Firefox", "password")
	cacheOn(t, b, cookie)
	c.Add(31 * time.Minute) // past the idle timeout; nothing announces that
	if sess := loadSession(t, b, cookie); sess != nil {
		t.Fatal("a cached session outlived its idle timeout")
	}
}

func TestCacheReadsTheDatabaseAgainAfterMaxAge(t *testing.T) {
	c := &clock{t: time.Now()}
	a, b := replicaStores(t, c)
	cookie, _ := signInFrom(t, a, 1, "10.0.0.1", "Firefox", "password")
	cacheOn(t, b, cookie)
	c.Add(session.DefaultCacheMaxAge)
	before := b.CacheStats()
	loadSession(t, b, cookie)
	if after := b.CacheStats(); after.Misses != before.Misses+1 {
		t.Fatalf("a session cached %v ago was not read again: %+v", session.DefaultCacheMaxAge, after)
	}
}

// TestListenerDownReadsTheDatabase: with the listener's connection gone, every load reads
// the database, so a revocation is honoured at once; once the listener is back, caching
// resumes from an empty cache.
func TestListenerDownReadsTheDatabase(t *testing.T) {
	c := &clock{t: time.Now()}
	pool := dbtest.New(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO operators (email, name, role, password_hash) VALUES ('a@example.com','A','admin','h')`); err != nil {
		t.Fatal(err)
	}
	a, b := replicaOn(t, pool, c), replicaOn(t, pool, c)
	var refuse atomic.Bool
	listen(t, b, func() error {
		if refuse.Load() {
			return errors.New("connection refused by the test")
		}
		return nil
	})
	cookie, _ := signInFrom(t, a, 1, "10.0.0.1", "Firefox", "password")
	cacheOn(t, b, cookie)

	refuse.Store(true)
	var killed bool
	if err := pool.QueryRow(t.Context(), `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, session.ListenerName).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listener's backend: %v, %v", killed, err)
	}
	waitFor(t, "B notices its listener is gone", func() bool { return !b.CacheStats().Live })
	before := b.CacheStats()
	for range 3 {
		if loadSession(t, b, cookie) == nil {
			t.Fatal("the session does not load while the listener is down")
		}
	}
	if after := b.CacheStats(); after.Misses != before.Misses+3 || after.Hits != before.Hits || after.Size != 0 {
		t.Fatalf("loads while the listener is down: before %+v, after %+v; want 3 database reads", before, after)
	}
	// Nothing will tell B; its next load must still refuse the ended session.
	if _, err := a.EndAll(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if loadSession(t, b, cookie) != nil {
		t.Fatal("a session ended while the listener was down still loads")
	}

	refuse.Store(false)
	waitFor(t, "the listener reconnects", func() bool { return b.CacheStats().Live })
	fresh, _ := signInFrom(t, a, 1, "10.0.0.2", "Firefox", "password")
	cacheOn(t, b, fresh)
}

// A listener that hears nothing for longer than the cache's lease keeps its connection
// (it pings) and the cache stays in use.
func TestQuietListenerKeepsTheCache(t *testing.T) {
	c := &clock{t: time.Now()}
	b := newStore(t, c, false)
	listen(t, b, nil)
	pid := func() (pid int) {
		if err := b.Pool().QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, session.ListenerName).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := pid()
	time.Sleep(session.Lease + time.Second)
	if st := b.CacheStats(); !st.Live || pid() != before {
		t.Fatalf("after %v of quiet: %+v, listener backend %d (was %d)", session.Lease+time.Second, st, pid(), before)
	}
	cookie, _ := signInFrom(t, b, 1, "10.0.0.1", "Firefox", "password")
	cacheOn(t, b, cookie)
}
