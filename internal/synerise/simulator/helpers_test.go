package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a simulator behind httptest with a fake clock and a logged-in token.
type harness struct {
	t     *testing.T
	sim   *Simulator
	srv   *httptest.Server
	clock *fakeClock
	token string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := newFakeClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Customers == 0 {
		opts.Customers = 300
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, srv: srv, clock: clock}
	h.token = h.login(DefaultAPIKey)
	return h
}

func (h *harness) login(key string) string {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"apiKey": key})
	res := h.do(http.MethodPost, "/uauth/v2/auth/login/profile", string(body), nil)
	if res.status != http.StatusOK {
		h.t.Fatalf("login: status %d: %s", res.status, res.body)
	}
	var out struct{ Token string }
	res.decode(h.t, &out)
	return out.Token
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// profileErr decodes the profile error shape, failing on any other shape.
func (r response) profileErr(t *testing.T) profileError {
	t.Helper()
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	for _, k := range []string{"error", "status", "timestamp", "path", "message", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("profile error shape lacks %q: %s", k, r.body)
		}
	}
	var e profileError
	r.decode(t, &e)
	if e.Status != r.status {
		t.Fatalf("body status %d, response status %d", e.Status, r.status)
	}
	return e
}

func (r response) hasField(field string) bool {
	var e profileError
	json.Unmarshal([]byte(r.body), &e)
	for _, f := range e.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

// do sends a request with the harness token (unless headers set Authorization).
func (h *harness) do(method, path, body string, headers map[string]string) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Api-Version", "4.4")
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (h *harness) get(path string) response { return h.do(http.MethodGet, path, "", nil) }

func (h *harness) post(path string, body any) response {
	h.t.Helper()
	s, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		s = string(b)
	}
	return h.do(http.MethodPost, path, s, nil)
}

// profile fetches a profile as a generic map.
func (h *harness) profile(clientID int64) map[string]any {
	h.t.Helper()
	raw, ok := h.sim.Profile(clientID)
	if !ok {
		h.t.Fatalf("no profile %d", clientID)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) example(state string) ExampleCustomer {
	h.t.Helper()
	e, ok := h.sim.ExampleIn(state)
	if !ok {
		h.t.Fatalf("no example in state %s", state)
	}
	return e
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
}
