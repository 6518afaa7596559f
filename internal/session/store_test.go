package session_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t testing.TB, c *clock, secure bool) *session.Store {
	pool := dbtest.New(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO operators (email, name, role, password_hash) VALUES ('a@example.com','A','admin','h')`); err != nil {
		t.Fatal(err)
	}
	return session.NewStore(pool, session.Options{
		Secret: []byte(strings.Repeat("s", 32)), Secure: secure,
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: c.Now,
	})
}

// signIn creates a session for operator 1 and returns its cookie.
func signIn(t testing.TB, s *session.Store) *http.Cookie {
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	sess, _ := s.Get(r, s.CookieName())
	sess.Values[session.OperatorKey] = int64(1)
	if err := s.Renew(r, w, sess); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

func load(t *testing.T, s *session.Store, c *http.Cookie) (int64, bool) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	sess, err := s.Get(r, s.CookieName())
	if err != nil {
		t.Fatal(err)
	}
	id, ok := sess.Values[session.OperatorKey].(int64)
	return id, ok && !sess.IsNew
}

func TestCookieAttributes(t *testing.T) {
	c := &clock{t: time.Now()}
	cookie := signIn(t, newStore(t, c, true))
	if cookie.Name != "__Host-console_session" || !cookie.HttpOnly || !cookie.Secure ||
		cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Domain != "" {
		t.Fatalf("unsafe cookie: %+v", cookie)
	}
	plain := signIn(t, newStore(t, c, false))
	if plain.Name != "console_session" || plain.Secure || !plain.HttpOnly {
		t.Fatalf("plain-http cookie: %+v", plain)
	}
}

func TestIdleTimeout(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, true)
	cookie := signIn(t, s)
	c.Add(29 * time.Minute)
	if id, ok := load(t, s, cookie); !ok || id != 1 {
		t.Fatal("session ended before the idle timeout")
	}
	c.Add(29 * time.Minute) // activity above moved the idle deadline
	if _, ok := load(t, s, cookie); !ok {
		t.Fatal("activity did not extend the session")
	}
	c.Add(31 * time.Minute)
	if _, ok := load(t, s, cookie); ok {
		t.Fatal("session survived 31 idle minutes")
	}
}

func TestAbsoluteLifetime(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, true)
	cookie := signIn(t, s)
	for i := 0; i < 24; i++ { // active every 25 minutes for 10 hours
		c.Add(25 * time.Minute)
		if _, ok := load(t, s, cookie); !ok {
			t.Fatalf("session ended after %v of activity", time.Duration(i+1)*25*time.Minute)
		}
	}
	c.Add(2*time.Hour + time.Minute) // 12h01m after sign-in, though only 25 idle minutes
	c.Add(-100 * time.Minute)
	if _, ok := load(t, s, cookie); !ok {
		t.Fatal("session ended before 12h")
	}
	c.Add(100 * time.Minute)
	if _, ok := load(t, s, cookie); ok {
		t.Fatal("session outlived the 12h absolute lifetime")
	}
}

func TestRenewKillsOldIDAndDeleteEnds(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, true)
	old := signIn(t, s)

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(old)
	w := httptest.NewRecorder()
	sess, _ := s.Get(r, s.CookieName())
	if err := s.Renew(r, w, sess); err != nil {
		t.Fatal(err)
	}
	fresh := w.Result().Cookies()[0]
	if _, ok := load(t, s, old); ok {
		t.Fatal("the id from before renewal still works")
	}
	if _, ok := load(t, s, fresh); !ok {
		t.Fatal("renewed session does not load")
	}

	r = httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(fresh)
	w = httptest.NewRecorder()
	sess, _ = s.Get(r, s.CookieName())
	sess.Options.MaxAge = -1
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	if _, ok := load(t, s, fresh); ok {
		t.Fatal("replaying the cookie after sign-out still works")
	}
}

func TestForgedCookieIsIgnored(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, true)
	cookie := signIn(t, s)
	cookie.Value = cookie.Value[:len(cookie.Value)-4] + "AAAA"
	if _, ok := load(t, s, cookie); ok {
		t.Fatal("tampered cookie accepted")
	}
}

func TestOperatorIsReadWithTheSession(t *testing.T) {
	c := &clock{t: time.Now()}
	pool := dbtest.New(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO operators (email, name, role, password_hash) VALUES ('a@example.com','A','admin','h')`); err != nil {
		t.Fatal(err)
	}
	s := session.NewStore(pool, session.Options{Secret: []byte(strings.Repeat("s", 32)),
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: c.Now})
	cookie := signIn(t, s)
	signedIn := func() (operators.Operator, bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		sess, err := s.Get(r, s.CookieName())
		if err != nil {
			t.Fatal(err)
		}
		return session.SignedIn(sess)
	}
	op, ok := signedIn()
	if want := (operators.Operator{ID: 1, Email: "a@example.com", Name: "A", Role: operators.RoleAdmin}); !ok || op != want {
		t.Fatalf("operator read with the session = %+v, %v; want %+v", op, ok, want)
	}
	// A change made straight in the table, which ends no session, is seen on the next load.
	if _, err := pool.Exec(t.Context(), `UPDATE operators SET disabled = true, role = 'auditor' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if op, ok := signedIn(); !ok || !op.Disabled || op.Role != "auditor" {
		t.Fatalf("after the change: %+v, %v; want disabled auditor", op, ok)
	}

	// The operator read with a session is not saved into it.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	sess, _ := s.Get(r, s.CookieName())
	sess.Values["note"] = "kept"
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	var data string
	if err := pool.QueryRow(t.Context(), `SELECT data::text FROM sessions`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if data != `{"note": "kept"}` {
		t.Fatalf("session data saved as %s", data)
	}

	// A session without an operator has none.
	anon := httptest.NewRequest("GET", "/", nil)
	fresh, _ := s.Get(anon, s.CookieName())
	if op, ok := session.SignedIn(fresh); ok {
		t.Fatalf("a new session reports operator %+v", op)
	}
}
