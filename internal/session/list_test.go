package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/session"
)

// signInFrom creates a session for operator id as a sign-in does (where, with what, how)
// and returns its cookie and ref.
func signInFrom(t *testing.T, s *session.Store, id int64, ip, ua, method string) (*http.Cookie, int64) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	sess, _ := s.Get(r, s.CookieName())
	sess.Values[session.OperatorKey] = id
	sess.Values[session.MethodKey] = method
	sess.Values[session.ClientIPKey] = ip
	sess.Values[session.UserAgentKey] = ua
	if err := s.Renew(r, w, sess); err != nil {
		t.Fatal(err)
	}
	ref, ok := session.Ref(sess)
	if !ok || ref == 0 {
		t.Fatal("a saved session has no ref")
	}
	return w.Result().Cookies()[0], ref
}

func addOperator(t *testing.T, s *session.Store, email string) int64 {
	t.Helper()
	var id int64
	err := s.Pool().QueryRow(context.Background(), `INSERT INTO operators (email, name, role, password_hash)
		VALUES ($1, 'B', 'support', 'h') RETURNING id`, email).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestListShowsWhereWithWhatAndHow(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, false)
	longUA := "Mozilla/5.0 " + strings.Repeat("x", 2000) + "\x01"
	cookie, first := signInFrom(t, s, 1, "10.0.0.1", longUA, "password")
	c.Add(2 * time.Minute)
	_, second := signInFrom(t, s, 1, "10.0.0.2", "Firefox", "passkey")
	other := addOperator(t, s, "b@example.com")
	signInFrom(t, s, other, "10.9.9.9", "Other", "sso")

	// A later save without the sign-in values (a flash) keeps what the sign-in wrote, and
	// the method is still in Values after a load.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	sess, _ := s.Get(r, s.CookieName())
	if m, _ := sess.Values[session.MethodKey].(string); m != "password" {
		t.Fatalf("method after load: %q", m)
	}
	if ref, _ := session.Ref(sess); ref != first {
		t.Fatalf("loaded ref %d, want %d", ref, first)
	}
	sess.AddFlash("hello")
	if err := s.Save(r, httptest.NewRecorder(), sess); err != nil {
		t.Fatal(err)
	}

	list, err := s.List(t.Context(), 1)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v, %+v", err, list)
	}
	if list[0].Ref != second || list[1].Ref != first {
		t.Fatalf("not the most recently used first: %+v", list)
	}
	got := list[1]
	if got.ClientIP != "10.0.0.1" || got.Method != "password" || len(got.UserAgent) != 512 ||
		!strings.HasPrefix(got.UserAgent, "Mozilla/5.0 x") || strings.ContainsRune(got.UserAgent, 1) {
		t.Fatalf("first session: %+v (ua %d bytes)", got, len(got.UserAgent))
	}
	if got.CreatedAt.IsZero() || !got.ExpiresAt.After(c.Now()) {
		t.Fatalf("times: %+v", got)
	}
	var data string
	_ = s.Pool().QueryRow(t.Context(), `SELECT data::text FROM sessions WHERE ref = $1`, first).Scan(&data)
	if strings.Contains(data, "10.0.0.1") || strings.Contains(data, "Mozilla") {
		t.Fatalf("IP or User-Agent kept in the data too: %s", data)
	}

	c.Add(31 * time.Minute) // both idle past the timeout
	if list, _ := s.List(t.Context(), 1); len(list) != 0 {
		t.Fatalf("ended sessions listed: %+v", list)
	}
}

func TestEndOnlyTheOperatorsOwn(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, false)
	mine, ref := signInFrom(t, s, 1, "10.0.0.1", "UA", "password")
	other := addOperator(t, s, "b@example.com")
	theirs, theirRef := signInFrom(t, s, other, "10.9.9.9", "UA", "password")

	if _, err := s.End(t.Context(), 1, theirRef); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("ended another operator's session: %v", err)
	}
	if _, ok := load(t, s, theirs); !ok {
		t.Fatal("another operator's session is gone")
	}
	ended, err := s.End(t.Context(), 1, ref)
	if err != nil || ended.Ref != ref || ended.ClientIP != "10.0.0.1" {
		t.Fatalf("end: %+v, %v", ended, err)
	}
	if _, ok := load(t, s, mine); ok {
		t.Fatal("an ended session still loads")
	}
	if _, err := s.End(t.Context(), 1, ref); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("ended twice: %v", err)
	}
}

func TestEndOthersAndEndAll(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newStore(t, c, false)
	keep, keepRef := signInFrom(t, s, 1, "10.0.0.1", "UA", "password")
	a, _ := signInFrom(t, s, 1, "10.0.0.2", "UA", "password")
	b, _ := signInFrom(t, s, 1, "10.0.0.3", "UA", "password")
	other := addOperator(t, s, "b@example.com")
	theirs, _ := signInFrom(t, s, other, "10.9.9.9", "UA", "password")

	ended, err := s.EndOthers(t.Context(), 1, keepRef)
	if err != nil || len(ended) != 2 {
		t.Fatalf("end others: %v, %+v", err, ended)
	}
	if _, ok := load(t, s, a); ok {
		t.Fatal("another session survived")
	}
	if _, ok := load(t, s, b); ok {
		t.Fatal("another session survived")
	}
	if _, ok := load(t, s, keep); !ok {
		t.Fatal("the kept session ended")
	}
	ended, err = s.EndAll(t.Context(), 1)
	if err != nil || len(ended) != 1 || ended[0].Ref != keepRef {
		t.Fatalf("end all: %v, %+v", err, ended)
	}
	if _, ok := load(t, s, keep); ok {
		t.Fatal("a session survived end all")
	}
	if _, ok := load(t, s, theirs); !ok {
		t.Fatal("end all ended another operator's session")
	}
}
