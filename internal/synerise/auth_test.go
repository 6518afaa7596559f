package synerise

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
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
		if !IsCredentialsRefused(err) || !IsUnauthorized(err) || hits.Load() != 2 || u.logins.Load() != 2 {
			t.Errorf("err %v, hits %d, logins %d", err, hits.Load(), u.logins.Load())
		}
	})
}

// Synerise answers a token it no longer accepts with any 401, or a 403 without field errors.
var tokenRejections = []struct {
	name   string
	status int
	body   string
}{
	{"401 Invalid token.", 401, `{"error":"Unauthorized","status":401,"message":"Invalid token."}`},
	{"401 Unauthorized", 401, `{"error":"Unauthorized","status":401,"message":"Unauthorized"}`},
	{"401 empty body", 401, ``},
	{"401 non-JSON body", 401, `<html><body>401 Authorization Required</body></html>`},
	{"403 IAM shape", 403, `{"path":"/v4/clients/1","errorCode":"UAUTH-403","status":403,"message":"Access denied","traceId":"t-9"}`},
	{"403 empty errors", 403, `{"error":"Forbidden","status":403,"message":"Forbidden","errors":[]}`},
}

func rejectWith(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestRejectedTokenMeansOneLoginAndOneReplay(t *testing.T) {
	ctx := context.Background()
	for _, rej := range tokenRejections {
		t.Run(rej.name+" GET", func(t *testing.T) {
			u := newUpstream(t)
			u.reject = rejectWith(rej.status, rej.body)
			var hits atomic.Int32
			profileRoute(u, &hits)
			c := newTestClient(t, u)
			_, err := c.Profiles.Get(ctx, 1)
			must(t, err)
			u.revokeAll() // revoked before its exp: a regenerated API key, a key rotation
			before := u.requests.Load()
			_, err = c.Profiles.Get(ctx, 1)
			// rejected GET, login, replayed GET
			if err != nil || u.logins.Load() != 2 || u.refreshes.Load() != 0 || hits.Load() != 2 || u.requests.Load()-before != 3 {
				t.Errorf("err %v, logins %d, refreshes %d, hits %d, requests %d",
					err, u.logins.Load(), u.refreshes.Load(), hits.Load(), u.requests.Load()-before)
			}
		})
		t.Run(rej.name+" POST", func(t *testing.T) {
			u := newUpstream(t)
			u.reject = rejectWith(rej.status, rej.body)
			var bodies []string
			var attempts atomic.Int32
			u.mux.HandleFunc("POST /sauth/clients/password-reset/request", func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				b, _ := io.ReadAll(r.Body)
				if !u.authorized(r) {
					u.reject(w, r)
					return
				}
				bodies = append(bodies, string(b))
				w.WriteHeader(http.StatusAccepted)
			})
			c := newTestClient(t, u)
			must(t, c.Accounts.RequestPasswordReset(ctx, "a@b.c"))
			u.revokeAll()
			must(t, c.Accounts.RequestPasswordReset(ctx, "a@b.c"))
			if attempts.Load() != 3 || len(bodies) != 2 || bodies[1] != `{"email":"a@b.c"}` || u.logins.Load() != 2 {
				t.Errorf("attempts %d, bodies %q, logins %d", attempts.Load(), bodies, u.logins.Load())
			}
		})
		t.Run(rej.name+" twice", func(t *testing.T) {
			u := newUpstream(t)
			var hits atomic.Int32
			u.mux.HandleFunc("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				rejectWith(rej.status, rej.body)(w, r)
			})
			_, err := newTestClient(t, u).Profiles.Get(ctx, 1)
			var ae *APIError
			if !IsCredentialsRefused(err) || !errors.As(err, &ae) || ae.StatusCode != rej.status ||
				hits.Load() != 2 || u.logins.Load() != 2 {
				t.Errorf("err %v, hits %d, logins %d", err, hits.Load(), u.logins.Load())
			}
		})
	}
}

func TestForbiddenWithFieldErrorsIsABusinessRefusal(t *testing.T) {
	u := newUpstream(t)
	var hits atomic.Int32
	u.handle("POST /sauth/clients/activation/by-pin-code/request", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 403, map[string]any{"error": "Forbidden", "status": 403,
			"message": "A PIN may be re-sent only from the device that last requested one.",
			"errors":  []map[string]any{{"code": 3, "field": "deviceId", "message": "not the device of the last request", "rejectedValue": "dev-2"}}})
	})
	c := newTestClient(t, u)
	err := c.Accounts.RequestActivationPIN(context.Background(), PINRequest{Email: "a@b.c", UUID: "u-1", DeviceID: "dev-2"})
	var ae *APIError
	if !IsForbidden(err) || IsCredentialsRefused(err) || !errors.As(err, &ae) || len(ae.FieldErrors) != 1 || ae.FieldErrors[0].Field != "deviceId" {
		t.Errorf("err %v", err)
	}
	if hits.Load() != 1 || u.logins.Load() != 1 {
		t.Errorf("hits %d, logins %d; want the refusal returned with no second login", hits.Load(), u.logins.Load())
	}
}

func TestRefusedLoginIsCredentialsRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("first login", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		profileRoute(u, &hits)
		u.keyGone.Store(true)
		_, err := newTestClient(t, u).Profiles.Get(ctx, 1)
		if !IsCredentialsRefused(err) || !IsUnauthorized(err) || hits.Load() != 0 || u.logins.Load() != 1 {
			t.Errorf("err %v, hits %d, logins %d", err, hits.Load(), u.logins.Load())
		}
		if !strings.Contains(err.Error(), "trace-123") {
			t.Errorf("the refusal lost its trace id: %v", err)
		}
	})
	t.Run("login after a rejected token", func(t *testing.T) {
		u := newUpstream(t)
		var hits atomic.Int32
		profileRoute(u, &hits)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.keyGone.Store(true) // the API key was regenerated in the Synerise app
		u.revokeAll()
		_, err = c.Profiles.Get(ctx, 1)
		if !IsCredentialsRefused(err) || hits.Load() != 1 || u.logins.Load() != 2 {
			t.Errorf("err %v, hits %d, logins %d", err, hits.Load(), u.logins.Load())
		}
	})
	t.Run("other login failures are not", func(t *testing.T) {
		u := newUpstream(t)
		u.mux.HandleFunc("POST /uauth/v2/auth/login/profile/", func(http.ResponseWriter, *http.Request) {})
		bad, err := NewClient(u.URL+"/nowhere", testAPIKey, WithClock(u.clock), WithRetry(1, 0, 0))
		must(t, err)
		if _, err := bad.Profiles.Get(ctx, 1); err == nil || IsCredentialsRefused(err) {
			t.Errorf("404 from login: %v", err)
		}
	})
}

// Twenty callers holding a token Synerise has just revoked share one login.
func TestConcurrentRejectedTokenShareOneLogin(t *testing.T) {
	u := newUpstream(t)
	var rejected atomic.Int32
	u.reject = func(w http.ResponseWriter, r *http.Request) {
		rejected.Add(1)
		rejectWith(401, `{"error":"Unauthorized","status":401,"message":"Invalid token."}`)(w, r)
	}
	var hits atomic.Int32
	profileRoute(u, &hits)
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	must(t, err)
	u.revokeAll()
	u.loginGate = make(chan struct{})
	const callers = 20
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := c.Profiles.Get(context.Background(), 1); err != nil {
				t.Error(err)
			}
		})
	}
	// All twenty are refused with the old token while the one login is held back.
	for deadline := time.Now().Add(5 * time.Second); rejected.Load() < callers && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	close(u.loginGate)
	wg.Wait()
	if rejected.Load() != callers || u.logins.Load() != 2 || hits.Load() != 1+callers {
		t.Errorf("rejected %d, logins %d (want 2: the first and one for all %d), hits %d",
			rejected.Load(), u.logins.Load(), callers, hits.Load())
	}
}

// A workspace may encrypt the JWT payload: exp cannot be read, so the token is renewed on age.
func TestUnreadableTokenIsRenewedOnAge(t *testing.T) {
	ctx := context.Background()
	renewals := func(u *upstream) int32 { return u.logins.Load() + u.refreshes.Load() }
	t.Run("one hour when no lifetime was observed", func(t *testing.T) {
		u := newUpstream(t)
		u.opaque.Store(true)
		profileRoute(u, nil)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.clock.Advance(59 * time.Minute)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if renewals(u) != 1 {
			t.Fatalf("renewed before an hour: logins %d refreshes %d", u.logins.Load(), u.refreshes.Load())
		}
		u.clock.Advance(time.Minute)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if u.refreshes.Load() != 1 || u.logins.Load() != 1 {
			t.Errorf("after an hour: logins %d refreshes %d; want one refresh", u.logins.Load(), u.refreshes.Load())
		}
	})
	t.Run("half the lifetime of an earlier readable token", func(t *testing.T) {
		u := newUpstream(t)
		u.tokenTTL = 20 * time.Minute
		profileRoute(u, nil)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.opaque.Store(true)
		u.clock.Advance(19 * time.Minute) // readable: renewed a minute before exp
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if u.refreshes.Load() != 1 {
			t.Fatalf("readable token not refreshed ahead of exp: %d", u.refreshes.Load())
		}
		u.clock.Advance(9 * time.Minute) // the opaque one is 9 minutes old
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if renewals(u) != 2 {
			t.Fatalf("renewed before half of 20 minutes: logins %d refreshes %d", u.logins.Load(), u.refreshes.Load())
		}
		u.clock.Advance(time.Minute)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if u.refreshes.Load() != 2 {
			t.Errorf("not renewed at half of 20 minutes: logins %d refreshes %d", u.logins.Load(), u.refreshes.Load())
		}
	})
	t.Run("a revocation soon after a renewal does not shorten every later token", func(t *testing.T) {
		u := newUpstream(t)
		u.opaque.Store(true)
		u.reject = rejectWith(401, `{"error":"Unauthorized","message":"Invalid token."}`)
		profileRoute(u, nil)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.clock.Advance(time.Minute)
		u.revokeAll() // refused after a minute: taken for a one-minute lifetime
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		// Renewed at 30 s, then (nothing refused) at 60 s, 120 s, 240 s ...: the interval
		// grows back towards the hour instead of staying at 30 s.
		var steps []int32
		for range 8 {
			u.clock.Advance(5 * time.Minute)
			_, err = c.Profiles.Get(ctx, 1)
			must(t, err)
			steps = append(steps, renewals(u))
		}
		u.clock.Advance(5 * time.Minute)
		before := renewals(u)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if renewals(u) != before {
			t.Fatalf("still renewing every 5 minutes after 40 minutes without a refusal (renewals %v)", steps)
		}
	})
	t.Run("half the time until the last rejection", func(t *testing.T) {
		u := newUpstream(t)
		u.opaque.Store(true)
		u.reject = rejectWith(401, `{"error":"Unauthorized","message":"Invalid token."}`)
		profileRoute(u, nil)
		c := newTestClient(t, u)
		_, err := c.Profiles.Get(ctx, 1)
		must(t, err)
		u.clock.Advance(40 * time.Minute)
		u.revokeAll() // the token lived 40 minutes
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if u.logins.Load() != 2 {
			t.Fatalf("logins %d after the rejection", u.logins.Load())
		}
		u.clock.Advance(19 * time.Minute)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if renewals(u) != 2 {
			t.Fatalf("renewed before half of 40 minutes: logins %d refreshes %d", u.logins.Load(), u.refreshes.Load())
		}
		u.clock.Advance(time.Minute)
		_, err = c.Profiles.Get(ctx, 1)
		must(t, err)
		if u.refreshes.Load() != 1 || u.logins.Load() != 2 {
			t.Errorf("not renewed at half of 40 minutes: logins %d refreshes %d", u.logins.Load(), u.refreshes.Load())
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
