package synerise

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testAPIKey = "test-api-key-0123456789abcdef"

// fakeClock advances only when told to, or when the client sleeps.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Truncate(time.Second)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeClock) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

var jwtSeq atomic.Int64

// makeJWT returns an unsigned JWT carrying iat and exp.
func makeJWT(iat, exp time.Time) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body := enc.EncodeToString(fmt.Appendf(nil, `{"iat":%d,"exp":%d,"jti":"%d"}`, iat.Unix(), exp.Unix(), jwtSeq.Add(1)))
	return head + "." + body + ".c2lnbmF0dXJl"
}

// makeOpaqueToken returns a token whose payload cannot be read, like a workspace's
// encrypted JWT: three parts, the middle one not base64-encoded JSON.
func makeOpaqueToken() string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM"}`)) + "." +
		enc.EncodeToString(fmt.Appendf(nil, "\x8f\x01ciphertext-%d\xff", jwtSeq.Add(1))) + ".dGFn"
}

// upstream is a fake Synerise: login and refresh are built in, tests add routes to mux.
type upstream struct {
	*httptest.Server
	mux       *http.ServeMux
	clock     *fakeClock
	tokenTTL  time.Duration
	requests  atomic.Int32 // every request, login and refresh included
	logins    atomic.Int32
	refreshes atomic.Int32
	loginGate chan struct{} // when non-nil, login waits for it to close
	opaque    atomic.Bool   // when true, issued tokens have an unreadable payload
	keyGone   atomic.Bool   // when true, login refuses the API key
	// reject answers a request whose token is not (or no longer) accepted; tokenExpired
	// when nil.
	reject http.HandlerFunc

	mu     sync.Mutex
	issued map[string]bool
}

func newUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{mux: http.NewServeMux(), clock: newFakeClock(), tokenTTL: time.Hour, issued: map[string]bool{}}
	u.mux.HandleFunc("POST "+loginPath, func(w http.ResponseWriter, r *http.Request) {
		u.logins.Add(1)
		if u.loginGate != nil {
			<-u.loginGate
		}
		var in struct {
			APIKey string `json:"apiKey"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.APIKey != testAPIKey || r.Header.Get("Authorization") != "" || u.keyGone.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"path":"/uauth/v2/auth/login/profile","timestamp":"2024-01-01T00:00:00Z","errorCode":"UAUTH-401","status":401,"message":"Bad API key","traceId":"trace-123"}`)
			return
		}
		writeJSON(w, 200, map[string]string{"token": u.issue()})
	})
	u.mux.HandleFunc("GET "+refreshPath, func(w http.ResponseWriter, r *http.Request) {
		if !u.authorized(r) {
			tokenExpired(w)
			return
		}
		u.refreshes.Add(1)
		writeJSON(w, 200, map[string]string{"token": u.issue()})
	})
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		u.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) issue() string {
	now := u.clock.Now()
	tok := makeJWT(now, now.Add(u.tokenTTL))
	if u.opaque.Load() {
		tok = makeOpaqueToken()
	}
	u.mu.Lock()
	u.issued[tok] = true
	u.mu.Unlock()
	return tok
}

// revokeAll makes every issued token refused (u.reject, "Token expired." by default).
func (u *upstream) revokeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	clear(u.issued)
}

func (u *upstream) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	u.mu.Lock()
	defer u.mu.Unlock()
	return ok && u.issued[tok]
}

// handle registers an API route that insists on a valid token.
func (u *upstream) handle(pattern string, h http.HandlerFunc) {
	u.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !u.authorized(r) {
			if u.reject != nil {
				u.reject(w, r)
				return
			}
			tokenExpired(w)
			return
		}
		h(w, r)
	})
}

func tokenExpired(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"error":"Token expired.","status":401,"timestamp":"2024-01-01T00:00:00Z","path":"/v4","message":"Token expired."}`)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newTestClient builds a client on u with fast retries and the fake clock.
func newTestClient(t testing.TB, u *upstream, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithClock(u.clock), WithRetry(2, time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := NewClient(u.URL, testAPIKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// observation is one ObserveCall.
type observation struct {
	op     string
	status int
	err    error
}

type recordingObserver struct {
	mu  sync.Mutex
	obs []observation
}

func (r *recordingObserver) ObserveCall(op string, status int, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, observation{op, status, err})
}

func (r *recordingObserver) all() []observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observation(nil), r.obs...)
}
