package synerise

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHeaders(t *testing.T) {
	u := newUpstream(t)
	var get, post http.Header
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		get = r.Header.Clone()
		io.WriteString(w, `{"clientId":1}`)
	})
	u.handle("POST /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		post = r.Header.Clone()
		w.WriteHeader(202)
	})
	c := newTestClient(t, u, WithUserAgent("console-test/1"))
	ctx := context.Background()
	_, err := c.Profiles.Get(ctx, 1)
	must(t, err)
	var up ProfileUpdate
	must(t, up.Set("city", "Łódź"))
	must(t, c.Profiles.Update(ctx, 1, up))
	for name, h := range map[string]http.Header{"GET": get, "POST": post} {
		if !strings.HasPrefix(h.Get("Authorization"), "Bearer ey") || h.Get("Api-Version") != "4.4" ||
			h.Get("Accept") != "application/json" || h.Get("User-Agent") != "console-test/1" {
			t.Errorf("%s headers: %v", name, h)
		}
	}
	if get.Get("Content-Type") != "" || post.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type: GET %q, POST %q", get.Get("Content-Type"), post.Get("Content-Type"))
	}
}

// countingUpstream answers every call to path with status, counting calls.
func failing(t *testing.T, u *upstream, pattern string, status int, hits *atomic.Int32) {
	u.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, status, map[string]any{"error": http.StatusText(status), "status": status, "message": "upstream trouble"})
	})
}

// dropping hijacks and closes the connection without answering.
func dropping(u *upstream, pattern string, hits *atomic.Int32) {
	u.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
}

func TestGETRetriesAreBounded(t *testing.T) {
	for _, status := range []int{429, 502, 503, 504} {
		u := newUpstream(t)
		var hits atomic.Int32
		failing(t, u, "GET /v4/clients/1", status, &hits)
		_, err := newTestClient(t, u).Profiles.Get(context.Background(), 1)
		// One retry at most: two requests in all.
		if apiStatus(err) != status || hits.Load() != 2 {
			t.Errorf("%d: %d attempts, err %v; want 2", status, hits.Load(), err)
		}
	}
	// The default policy too: one retry.
	u := newUpstream(t)
	var hits atomic.Int32
	failing(t, u, "GET /v4/clients/1", 502, &hits)
	c, err := NewClient(u.URL, testAPIKey)
	must(t, err)
	if _, err := c.Profiles.Get(context.Background(), 1); !IsUnavailable(err) || hits.Load() != DefaultRetryAttempts || DefaultRetryAttempts != 2 {
		t.Errorf("default policy: %d attempts, err %v; want 2", hits.Load(), err)
	}
	// Not retried: other 5xx and 4xx.
	for _, status := range []int{500, 404, 400} {
		u := newUpstream(t)
		var hits atomic.Int32
		failing(t, u, "GET /v4/clients/1", status, &hits)
		newTestClient(t, u).Profiles.Get(context.Background(), 1)
		if hits.Load() != 1 {
			t.Errorf("%d retried: %d attempts", status, hits.Load())
		}
	}
}

func TestGETRetrySucceedsAndDroppedConnection(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, `{"clientId":1}`)
	})
	p, err := newTestClient(t, u).Profiles.Get(context.Background(), 1)
	if err != nil || p.ClientID != 1 || hits.Load() != 2 {
		t.Errorf("got %v %v after %d attempts", p, err, hits.Load())
	}
}

// Retry-After is a promise: the one retry never goes out sooner than it allows.
func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		maxWait    time.Duration
		want       time.Duration
	}{
		{"delta seconds", func(time.Time) string { return "2" }, DefaultMaxRetryWait, 2 * time.Second},
		{"HTTP date", func(now time.Time) string { return now.Add(2 * time.Second).UTC().Format(http.TimeFormat) }, DefaultMaxRetryWait, 2 * time.Second},
		{"longer, allowed by WithMaxRetryWait", func(time.Time) string { return "4" }, 5 * time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t)
			var hits atomic.Int32
			var sentAt []time.Time
			u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
				sentAt = append(sentAt, u.clock.Now())
				if hits.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter(u.clock.Now()))
					w.WriteHeader(429)
					return
				}
				io.WriteString(w, `{"clientId":1}`)
			})
			// The backoff alone (a few ms) is shorter than Retry-After.
			c := newTestClient(t, u, WithMaxRetryWait(tt.maxWait))
			if _, err := c.Profiles.Get(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			if hits.Load() != 2 || sentAt[1].Sub(sentAt[0]) < tt.want {
				t.Errorf("%d requests, the retry %v after the first; want 2, at least %v", hits.Load(), sentAt[1].Sub(sentAt[0]), tt.want)
			}
		})
	}
}

// When Synerise asks for longer than an interactive request can wait, there is no retry:
// the answer comes back at once with how long to wait. The old client waited its 2s cap
// and retried anyway, breaking Synerise's Retry-After.
func TestRetryAfterBeyondMaxWaitIsNotRetried(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter func() string
		want       time.Duration
	}{
		{503, func() string { return "30" }, 30 * time.Second},
		{429, func() string { return "30" }, 30 * time.Second},
		{502, func() string { return "3" }, 3 * time.Second},
		{503, func() string { return time.Now().Add(time.Minute).UTC().Format(http.TimeFormat) }, time.Minute},
	}
	for _, tt := range tests {
		u := newUpstream(t)
		var hits atomic.Int32
		u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Retry-After", tt.retryAfter())
			writeJSON(w, tt.status, map[string]any{"error": http.StatusText(tt.status), "status": tt.status})
		})
		// The real clock and the default retry policy.
		c, err := NewClient(u.URL, testAPIKey)
		must(t, err)
		start := time.Now()
		_, err = c.Profiles.Get(context.Background(), 1)
		took := time.Since(start)
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.StatusCode != tt.status || rl.RetryAfter < tt.want-time.Second || rl.RetryAfter > tt.want {
			t.Errorf("%d: err %v", tt.status, err)
		}
		if hits.Load() != 1 || took > 500*time.Millisecond {
			t.Errorf("%d: %d requests in %v; want exactly one, at once", tt.status, hits.Load(), took)
		}
	}
}

func TestRetryAfterBeyondDeadlineReturnsAtOnce(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
	})
	c := newTestClient(t, u, WithRetry(2, time.Millisecond, time.Minute), WithMaxRetryWait(time.Minute), WithTimeout(time.Second))
	_, err := c.Profiles.Get(context.Background(), 1)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second || hits.Load() != 1 || len(u.clock.Slept()) != 0 {
		t.Errorf("err %v after %d attempts", err, hits.Load())
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	rt := &retryTransport{base: 100 * time.Millisecond, cap: time.Second}
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		for attempt := 1; attempt <= 8; attempt++ {
			d := rt.backoff(attempt)
			step := min(rt.base<<(attempt-1), rt.cap)
			if d < step/2 || d > step {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, step/2, step)
			}
			if attempt == 1 {
				seen[d] = true
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("backoff barely varies: %d distinct values", len(seen))
	}
}

func TestPOSTIsNeverRetried(t *testing.T) {
	ctx := context.Background()
	t.Run("503", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		failing(t, u, "POST /sauth/clients/password-reset/request", 503, &hits)
		err := newTestClient(t, u).Accounts.RequestPasswordReset(ctx, "a@b.c")
		if !IsUnavailable(err) || hits.Load() != 1 {
			t.Errorf("%d upstream requests, err %v; want exactly 1", hits.Load(), err)
		}
	})
	t.Run("429 with a short Retry-After", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		u.handle("POST /sauth/clients/password-reset/request", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		})
		err := newTestClient(t, u).Accounts.RequestPasswordReset(ctx, "a@b.c")
		if !IsRateLimited(err) || hits.Load() != 1 {
			t.Errorf("%d upstream requests, err %v; want exactly 1", hits.Load(), err)
		}
	})
	t.Run("dropped connection", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		dropping(u, "POST /sauth/settings/general", &hits)
		var s Settings
		must(t, s.SetRaw("registrationType", []byte(`"AUTOMATIC"`)))
		_, err := newTestClient(t, u).Settings.Set(ctx, &s)
		if err == nil || hits.Load() != 1 {
			t.Errorf("%d upstream requests, err %v; want exactly 1", hits.Load(), err)
		}
	})
	t.Run("502 on update", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		failing(t, u, "POST /v4/clients/9", 502, &hits)
		var up ProfileUpdate
		must(t, up.Set("city", "X"))
		err := newTestClient(t, u).Profiles.Update(ctx, 9, up)
		if apiStatus(err) != 502 || hits.Load() != 1 {
			t.Errorf("%d upstream requests, err %v", hits.Load(), err)
		}
	})
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	healthy := atomic.Bool{}
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if healthy.Load() {
			io.WriteString(w, `{"clientId":1}`)
			return
		}
		w.WriteHeader(500)
	})
	u.handle("GET /v4/clients/404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	c := newTestClient(t, u, WithBreaker(5, 30*time.Second), WithRetry(1, 0, 0))
	ctx := context.Background()

	// 4xx answers are Synerise working: they never trip the breaker.
	for i := 0; i < 10; i++ {
		c.Profiles.Get(ctx, 404)
	}
	if c.BreakerState() != "closed" {
		t.Fatal("4xx opened the breaker")
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Profiles.Get(ctx, 1); IsCircuitOpen(err) {
			t.Fatalf("call %d refused before the threshold", i+1)
		}
	}
	if c.BreakerState() != "open" {
		t.Fatalf("state %s after 5 failures", c.BreakerState())
	}
	_, err := c.Profiles.Get(ctx, 1)
	if !errors.Is(err, ErrCircuitOpen) || hits.Load() != 5 {
		t.Fatalf("err %v, hits %d; want fail-fast without a request", err, hits.Load())
	}
	if !strings.Contains(err.Error(), "circuit open: Synerise is failing, not calling it for 30s") {
		t.Errorf("message: %v", err)
	}
	// POSTs fail fast too.
	if err := c.Accounts.RequestPasswordReset(ctx, "a@b.c"); !IsCircuitOpen(err) {
		t.Errorf("POST while open: %v", err)
	}

	// After the cooldown one probe goes out; it fails, so the breaker reopens.
	u.clock.Advance(30 * time.Second)
	if c.BreakerState() != "half-open" {
		t.Fatalf("state %s after cooldown", c.BreakerState())
	}
	if _, err := c.Profiles.Get(ctx, 1); IsCircuitOpen(err) || hits.Load() != 6 {
		t.Fatalf("probe not sent: %v", err)
	}
	if _, err := c.Profiles.Get(ctx, 1); !IsCircuitOpen(err) {
		t.Fatalf("failed probe did not reopen: %v", err)
	}

	// Next probe succeeds: closed again, calls flow.
	healthy.Store(true)
	u.clock.Advance(31 * time.Second)
	for i := 0; i < 3; i++ {
		if _, err := c.Profiles.Get(ctx, 1); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
	if c.BreakerState() != "closed" {
		t.Errorf("state %s after recovery", c.BreakerState())
	}
}

func TestBreakerCountsConnectionErrorsAndTimeouts(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	dropping(u, "GET /v4/clients/1", &hits)
	c := newTestClient(t, u, WithBreaker(3, time.Minute), WithRetry(1, 0, 0))
	for i := 0; i < 3; i++ {
		c.Profiles.Get(context.Background(), 1)
	}
	if c.BreakerState() != "open" {
		t.Errorf("dropped connections did not open the breaker: %s", c.BreakerState())
	}

	// A caller's own cancellation is not Synerise failing.
	u2 := newUpstream(t)
	u2.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c2 := newTestClient(t, u2, WithBreaker(1, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c2.Profiles.GetByUUID(ctx, "warm-up") // logs in
	_ = err
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = c2.Profiles.Get(ctx, 1)
	if !errors.Is(err, context.Canceled) || c2.BreakerState() != "closed" {
		t.Errorf("cancel: err %v, state %s", err, c2.BreakerState())
	}
	// A deadline is.
	c3 := newTestClient(t, u2, WithBreaker(1, time.Minute), WithTimeout(100*time.Millisecond))
	_, err = c3.Profiles.Get(context.Background(), 1)
	if !IsTimeout(err) || c3.BreakerState() != "open" {
		t.Errorf("timeout: err %v, state %s", err, c3.BreakerState())
	}
}

func TestHungUpstreamEndsAtDeadlineWithoutLeaks(t *testing.T) {
	release := make(chan struct{})
	u := newUpstream(t)
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	u.handle("GET /v4/clients/2", func(w http.ResponseWriter, r *http.Request) {
		// Headers at once, then a body that trickles past the deadline.
		w.Write([]byte(`{"clientId":`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := newTestClient(t, u, WithTimeout(150*time.Millisecond), WithBreaker(0, time.Second))
	_, err := c.Profiles.GetByUUID(context.Background(), "warm-up") // login and a keep-alive connection
	_ = err
	before := runtime.NumGoroutine()
	for _, id := range []int64{1, 2, 1, 2} {
		start := time.Now()
		_, err := c.Profiles.Get(context.Background(), id)
		if !IsTimeout(err) {
			t.Fatalf("id %d: err %v, want a timeout", id, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("id %d: took %v", id, d)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// Concurrent calls reuse their connections: the client keeps as many idle connections to
// Synerise as it had calls in flight, instead of net/http's two per host.
func TestConcurrentCallsReuseConnections(t *testing.T) {
	u := newUpstream(t)
	const calls = 16
	var arrived sync.WaitGroup // each call answers once all are open at once
	u.handle("GET /v4/clients/{id}", func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		arrived.Wait()
		writeJSON(w, 200, map[string]any{"clientId": 1})
	})
	var dialled atomic.Int32
	srv := httptest.NewUnstartedServer(u.mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, testAPIKey, WithClock(u.clock))
	if err != nil {
		t.Fatal(err)
	}
	round := func() {
		arrived.Add(calls)
		var done sync.WaitGroup
		for range calls {
			done.Go(func() {
				if _, err := c.Profiles.Get(context.Background(), 1); err != nil {
					t.Error(err)
				}
			})
		}
		done.Wait()
	}
	round()
	first := dialled.Load()
	round()
	if again := dialled.Load() - first; again != 0 {
		t.Fatalf("the second round of %d concurrent calls opened %d new connections (first round: %d); idle connections were closed", calls, again, first)
	}
}

// A write handed to the network is awaited even when its caller gives up (the operator's
// browser disconnects): its outcome must be known and recorded.
func TestWriteOutlivesItsCaller(t *testing.T) {
	u := newUpstream(t)
	var received atomic.Value
	u.handle("POST /sauth/settings/general", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Context().Err() != nil {
			t.Errorf("the request was cut off: %v %v", err, r.Context().Err())
		}
		received.Store(string(b))
		io.WriteString(w, `{"registrationType":"AUTOMATIC","tokenLifetimeInSeconds":3600}`)
	})
	c := newTestClient(t, u)
	_, err := c.Profiles.GetByUUID(context.Background(), "warm-up") // logs in
	_ = err
	var s Settings
	must(t, s.SetRaw("registrationType", []byte(`"AUTOMATIC"`)))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	got, err := c.Settings.Set(ctx, &s)
	if err != nil {
		t.Fatalf("err %v after %v; want Synerise's answer", err, time.Since(start))
	}
	if v, _ := got.Raw("tokenLifetimeInSeconds"); string(v) != "3600" {
		t.Errorf("answer %v", got.Keys())
	}
	if received.Load() != `{"registrationType":"AUTOMATIC"}` {
		t.Errorf("server received %v", received.Load())
	}
}

func TestWriteOfACallerGoneBeforeSendingIsNotSent(t *testing.T) {
	resetRoute := func(u *upstream, hits *atomic.Int32) {
		u.handle("POST /sauth/clients/password-reset/request", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(202)
		})
	}
	// A token is at hand (a read fetched it), so nothing but the caller's state stops the
	// write: a caller already gone sends nothing.
	u := newUpstream(t)
	var hits atomic.Int32
	resetRoute(u, &hits)
	profileRoute(u, nil)
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Accounts.RequestPasswordReset(ctx, "a@b.c"); !errors.Is(err, context.Canceled) || hits.Load() != 0 {
		t.Errorf("token at hand: err %v, %d requests", err, hits.Load())
	}

	// Gone while the login is under way: still not sent.
	u2 := newUpstream(t)
	u2.loginGate = make(chan struct{}) // set before any request can read it
	var hits2 atomic.Int32
	resetRoute(u2, &hits2)
	c2 := newTestClient(t, u2)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = c2.Accounts.RequestPasswordReset(ctx, "a@b.c")
	close(u2.loginGate)
	if !errors.Is(err, context.Canceled) || hits2.Load() != 0 {
		t.Errorf("during login: err %v, %d requests", err, hits2.Load())
	}
}

// A detached write still ends at the client's own deadline.
func TestDetachedWriteKeepsTheClientDeadline(t *testing.T) {
	u := newUpstream(t)
	release := make(chan struct{})
	defer close(release)
	u.handle("POST /sauth/clients/password-reset/request", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := newTestClient(t, u, WithTimeout(200*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	err := c.Accounts.RequestPasswordReset(ctx, "a@b.c")
	if !IsTimeout(err) || time.Since(start) > 2*time.Second {
		t.Errorf("err %v after %v; want a timeout at the client deadline", err, time.Since(start))
	}
}

// Retry-After is a promise across calls too: asked to wait 30 s, the client does not send
// the same request again before then — a second call fails at once, saying how long is
// left — and sends it again once the time has passed. Other requests are not held back.
func TestRetryAfterHoldsBackTheSameRequest(t *testing.T) {
	u := newUpstream(t)
	var hits, others atomic.Int32
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "30")
			writeJSON(w, 503, map[string]any{"error": "Service Unavailable", "status": 503})
			return
		}
		writeJSON(w, 200, map[string]any{"clientId": 1})
	})
	u.handle("GET /v4/clients/2", func(w http.ResponseWriter, r *http.Request) {
		others.Add(1)
		writeJSON(w, 200, map[string]any{"clientId": 2})
	})
	c := newTestClient(t, u)
	ctx := context.Background()
	if _, err := c.Profiles.Get(ctx, 1); !IsRateLimited(err) {
		t.Fatalf("first call: %v", err)
	}
	u.clock.Advance(10 * time.Second)
	_, err := c.Profiles.Get(ctx, 1)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 20*time.Second || rl.StatusCode != 503 || hits.Load() != 1 {
		t.Fatalf("call within the wait: err %v, %d requests; want a refusal with 20 s left and no request", err, hits.Load())
	}
	if _, err := c.Profiles.Get(ctx, 2); err != nil || others.Load() != 1 {
		t.Fatalf("another request was held back: %v", err)
	}
	u.clock.Advance(20 * time.Second)
	if _, err := c.Profiles.Get(ctx, 1); err != nil || hits.Load() != 2 {
		t.Fatalf("after the wait: err %v, %d requests", err, hits.Load())
	}
}
