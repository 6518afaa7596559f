package synerise

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func profileRoute(u *upstream, hits *atomic.Int32) {
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		io.WriteString(w, `{"clientId":1}`)
	})
}

func TestTokenIsCachedAndRefreshedAheadOfExpiry(t *testing.T) {
	u := newUpstream(t)
	u.tokenTTL = 100 * time.Second // renewed when 25s are left
	profileRoute(u, nil)
	c := newTestClient(t, u)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
	}
	if u.logins.Load() != 1 || u.refreshes.Load() != 0 {
		t.Fatalf("logins %d refreshes %d; want one login, token cached", u.logins.Load(), u.refreshes.Load())
	}
	first := c.tokens.current()

	u.clock.Advance(80 * time.Second) // still valid, inside the refresh window
	_, err := c.Profiles.Get(ctx, 1)
	must(t, err)
	if u.refreshes.Load() != 1 || u.logins.Load() != 1 || c.tokens.current() == first {
		t.Fatalf("logins %d refreshes %d; want a refresh of the still-valid token", u.logins.Load(), u.refreshes.Load())
	}

	u.clock.Advance(101 * time.Second) // past expiry: refresh would be refused, so log in
	_, err = c.Profiles.Get(ctx, 1)
	must(t, err)
	if u.logins.Load() != 2 || u.refreshes.Load() != 1 {
		t.Fatalf("logins %d refreshes %d after expiry", u.logins.Load(), u.refreshes.Load())
	}
}

func TestRefreshFailureFallsBackToLogin(t *testing.T) {
	u := newUpstream(t)
	u.tokenTTL = 100 * time.Second
	profileRoute(u, nil)
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	must(t, err)
	u.revokeAll() // the refresh endpoint now says "Token expired."
	u.clock.Advance(90 * time.Second)
	_, err = c.Profiles.Get(context.Background(), 1)
	if err != nil || u.logins.Load() != 2 {
		t.Errorf("err %v, logins %d", err, u.logins.Load())
	}
}

func TestTokenExpiredTriggersOneReLogin(t *testing.T) {
	ctx := context.Background()
	t.Run("GET", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		profileRoute(u, &hits)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.revokeAll() // Synerise expired the token before its exp
		_, err = c.Profiles.Get(ctx, 1)
		if err != nil || u.logins.Load() != 2 || hits.Load() != 2 {
			t.Errorf("err %v, logins %d, hits %d", err, u.logins.Load(), hits.Load())
		}
	})
	t.Run("POST replays its body once", func(t *testing.T) {
		u := newUpstream(t)
		var bodies []string
		var attempts atomic.Int32
		u.mux.HandleFunc("POST /sauth/clients/activation/request", func(w http.ResponseWriter, r *http.Request) {
			attempts.Add(1)
			b, _ := io.ReadAll(r.Body)
			if !u.authorized(r) {
				tokenExpired(w)
				return
			}
			bodies = append(bodies, string(b))
			w.WriteHeader(http.StatusAccepted)
		})
		c := newTestClient(t, u)
		must(t, c.Accounts.ResendActivationEmail(ctx, "a@b.c"))
		u.revokeAll()
		must(t, c.Accounts.ResendActivationEmail(ctx, "a@b.c"))
		if attempts.Load() != 3 || len(bodies) != 2 || bodies[1] != `{"email":"a@b.c"}` || u.logins.Load() != 2 {
			t.Errorf("attempts %d, bodies %q, logins %d", attempts.Load(), bodies, u.logins.Load())
		}
	})
	t.Run("a token refused twice is an error, not a loop", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		u.mux.HandleFunc("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			tokenExpired(w)
		})
		_, err := newTestClient(t, u).Profiles.Get(ctx, 1)
		if !IsUnauthorized(err) || hits.Load() != 2 || u.logins.Load() != 2 {
			t.Errorf("err %v, hits %d, logins %d", err, hits.Load(), u.logins.Load())
		}
	})
	t.Run("other 401s do not re-login", func(t *testing.T) {
		u := newUpstream(t)
		u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 401, map[string]any{"error": "Unauthorized", "message": "Missing permission"})
		})
		_, err := newTestClient(t, u).Profiles.Get(ctx, 1)
		if !IsUnauthorized(err) || u.logins.Load() != 1 {
			t.Errorf("err %v, logins %d", err, u.logins.Load())
		}
	})
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	u := newUpstream(t)
	u.tokenTTL = time.Minute
	var hits atomic.Int32
	profileRoute(u, &hits)
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	must(t, err)
	u.clock.Advance(2 * time.Minute) // the cached token is now expired

	u.loginGate = make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Profiles.Get(context.Background(), 1)
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // let all 50 pile up behind the one login
	close(u.loginGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := u.logins.Load(); got != 2 {
		t.Errorf("logins = %d, want 2 (the first one and exactly one for the 50)", got)
	}
	if u.refreshes.Load() != 0 || hits.Load() != 51 {
		t.Errorf("refreshes %d, hits %d", u.refreshes.Load(), hits.Load())
	}
}

func TestConcurrentTokenExpiredShareOneLogin(t *testing.T) {
	u := newUpstream(t)
	profileRoute(u, nil)
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	must(t, err)
	u.revokeAll()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Profiles.Get(context.Background(), 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := u.logins.Load(); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
}

func TestWaitingForLoginRespectsCallerContext(t *testing.T) {
	u := newUpstream(t)
	u.loginGate = make(chan struct{})
	defer close(u.loginGate)
	c := newTestClient(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Profiles.Get(ctx, 1)
	if !IsTimeout(err) || time.Since(start) > time.Second {
		t.Errorf("err %v after %v", err, time.Since(start))
	}
}

func TestJWTTimes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	exp, iat := jwtTimes(makeJWT(now, now.Add(time.Hour)))
	if !exp.Equal(now.Add(time.Hour)) || !iat.Equal(now) {
		t.Errorf("exp %v iat %v", exp, iat)
	}
	for _, bad := range []string{"", "abc", "a.b.c", "a.!!!.c", "a.eyJleHAiOiJ4In0.c"} {
		if exp, _ := jwtTimes(bad); !exp.IsZero() {
			t.Errorf("%q: exp %v", bad, exp)
		}
	}
}
