package synerise

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	loginPath   = "/uauth/v2/auth/login/profile"
	refreshPath = "/v4/auth/refresh/profile"
	// maxRefreshLead is how long before expiry a token is renewed at most; short-lived
	// tokens are renewed when a quarter of their life is left.
	maxRefreshLead = time.Minute
	// defaultTokenAge is when a token whose exp cannot be read (an encrypted payload) is
	// renewed while no token lifetime was ever observed.
	defaultTokenAge = time.Hour
	// minTokenAge bounds age-based renewal from below, so that one token refused soon
	// after it was issued (a revocation) does not make the client renew every second.
	minTokenAge = 10 * time.Second
)

// tokenSource caches the workspace JWT. Callers that find it missing, about to expire or
// refused share one login or refresh (singleflight): never a stampede.
//
// A token is renewed ahead of the exp of its payload. When exp cannot be read (a workspace
// may encrypt the payload), it is renewed on age: at half the last observed lifetime —
// exp-iat of an earlier readable token, or the time from obtaining an unreadable token to
// Synerise refusing it — or after defaultTokenAge when no lifetime was ever observed.
type tokenSource struct {
	clock   Clock
	timeout time.Duration
	login   func(ctx context.Context) (string, error)
	refresh func(ctx context.Context, current string) (string, error)

	flight singleflight.Group

	mu        sync.Mutex
	tok       string
	exp       time.Time     // zero: unknown (unreadable payload), renewed on age
	obtained  time.Time     // when tok was stored
	lifetime  time.Duration // last observed token lifetime, 0 when none
	refreshAt time.Time
}

// current returns the cached token, "" when none (used to scrub error messages).
func (ts *tokenSource) current() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.tok
}

func (ts *tokenSource) fresh(now time.Time) (tok string, ok bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok == "" || (!ts.refreshAt.IsZero() && !now.Before(ts.refreshAt)) {
		return ts.tok, false
	}
	return ts.tok, true
}

// token returns a token good for a call now.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	tok, ok := ts.fresh(ts.clock.Now())
	if ok {
		return tok, nil
	}
	return ts.renew(ctx, tok, false)
}

// renew replaces stale, the token the caller holds. expired says Synerise refused it, so a
// refresh (which needs a valid token) is pointless. If another caller has already replaced
// stale, its token is returned without calling Synerise.
func (ts *tokenSource) renew(ctx context.Context, stale string, expired bool) (string, error) {
	ch := ts.flight.DoChan("token", func() (any, error) {
		now := ts.clock.Now()
		if tok, ok := ts.fresh(now); ok && tok != stale {
			return tok, nil
		}
		ts.mu.Lock()
		cur, exp := ts.tok, ts.exp
		switch {
		case cur != stale || cur == "" || !exp.IsZero():
		case expired:
			// The only lifetime an unreadable token shows is how long Synerise accepted it.
			ts.lifetime = now.Sub(ts.obtained)
		case ts.lifetime > 0:
			// Renewed on age without a refusal: the token may live longer than the last
			// refusal suggested (that may have been a revocation), so allow it twice as
			// long next time, up to the default.
			ts.lifetime = min(2*ts.lifetime, 2*defaultTokenAge)
		}
		ts.mu.Unlock()
		stillValid := cur != "" && !expired && (exp.IsZero() || now.Before(exp))
		// The flight outlives any one caller's cancellation; it has its own deadline.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ts.timeout)
		defer cancel()
		if stillValid {
			if tok, err := ts.refresh(fctx, cur); err == nil {
				return ts.store(tok), nil
			}
		}
		tok, err := ts.login(fctx)
		if err != nil {
			if stillValid {
				return cur, nil
			}
			return "", err
		}
		return ts.store(tok), nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (ts *tokenSource) store(tok string) string {
	now := ts.clock.Now()
	exp, iat := jwtTimes(tok)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.tok, ts.exp, ts.obtained = tok, exp, now
	if exp.IsZero() {
		age := defaultTokenAge
		if ts.lifetime > 0 {
			age = max(ts.lifetime/2, minTokenAge)
		}
		ts.refreshAt = now.Add(age)
		return tok
	}
	if iat.IsZero() || iat.After(now) {
		iat = now
	}
	if life := exp.Sub(iat); life > 0 {
		ts.lifetime = life
	}
	lead := exp.Sub(iat) / 4
	if lead > maxRefreshLead {
		lead = maxRefreshLead
	}
	ts.refreshAt = exp.Add(-lead)
	return tok
}

// jwtTimes reads exp and iat from a JWT payload. The signature is not checked: the token
// comes straight from Synerise over TLS and is only handed back to Synerise.
func jwtTimes(tok string) (exp, iat time.Time) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return
	}
	var claims struct {
		Exp json.Number `json:"exp"`
		Iat json.Number `json:"iat"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return
	}
	if f, err := claims.Exp.Float64(); err == nil && f > 0 {
		exp = time.Unix(int64(f), 0)
	}
	if f, err := claims.Iat.Float64(); err == nil && f > 0 {
		iat = time.Unix(int64(f), 0)
	}
	return
}

type tokenResponse struct {
	Token string `json:"token"`
}

// login is POST /uauth/v2/auth/login/profile {"apiKey"} → {"token"}.
func (c *Client) login(ctx context.Context) (string, error) {
	start := c.clock.Now()
	var out tokenResponse
	status, err := c.roundTrip(ctx, c.plainRT, http.MethodPost, loginPath, nil, struct {
		APIKey string `json:"apiKey"`
	}{c.apiKey}, &out)
	if err == nil && out.Token == "" {
		err = errors.New("decode response: no token")
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		err = fmt.Errorf("workspace login: %w: %w", ErrCredentialsRefused, err)
	} else if err != nil {
		err = fmt.Errorf("workspace login: %w", err)
	}
	c.observer.ObserveCall("auth.login", status, c.clock.Now().Sub(start), err)
	return out.Token, err
}

// refresh is GET /v4/auth/refresh/profile with the current, still valid token.
func (c *Client) refresh(ctx context.Context, current string) (string, error) {
	start := c.clock.Now()
	var out tokenResponse
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return c.plainRT.RoundTrip(withToken(req, current))
	})
	status, err := c.roundTrip(ctx, rt, http.MethodGet, refreshPath, nil, nil, &out)
	if err == nil && out.Token == "" {
		err = errors.New("decode response: no token")
	}
	if err != nil {
		err = fmt.Errorf("token refresh: %w", err)
	}
	c.observer.ObserveCall("auth.refresh", status, c.clock.Now().Sub(start), err)
	return out.Token, err
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
