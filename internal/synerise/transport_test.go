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
		if apiStatus(err) != status || hits.Load() != 3 {
			t.Errorf("%d: %d attempts, err %v; want 3", status, hits.Load(), err)
		}
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

func TestRetryAfterHonoured(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		case 2:
			w.Header().Set("Retry-After", u.clock.Now().Add(4*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(503)
		default:
			io.WriteString(w, `{"clientId":1}`)
		}
	})
	c := newTestClient(t, u, WithRetry(3, time.Millisecond, 3*time.Second))
	if _, err := c.Profiles.Get(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	slept := u.clock.Slept()
	// The second wait asked for 4s but the cap is 3s.
	if len(slept) != 2 || slept[0] != 2*time.Second || slept[1] != 3*time.Second {
		t.Errorf("slept %v, want [2s 3s]", slept)
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
	c := newTestClient(t, u, WithRetry(3, time.Millisecond, time.Minute), WithTimeout(time.Second))
	_, err := c.Profiles.Get(context.Background(), 1)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second || hits.Load() != 1 {
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
