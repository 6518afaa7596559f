package synerise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// The chain every API call goes through, outermost first:
//
//	deadlineTransport → authTransport → retryTransport → breakerTransport → base
//
// Login and refresh skip the first two (they carry no workspace token and have their own
// deadline).

// deadlineTransport bounds the whole call — auth, retries and reading the body — by timeout.
// The deadline is released when the body is closed.
type deadlineTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.cancel)
	return err
}

// authTransport adds the workspace token and, when Synerise answers 401 "Token expired.",
// logs in again once and repeats the request once. That single repeat is allowed for POSTs
// too: an expired token is refused before any business logic runs.
type authTransport struct {
	next    http.RoundTripper
	tokens  *tokenSource
	maxBody int64
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, rerr := readBody(resp.Body, t.maxBody)
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	if !isTokenExpired(body) {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	fresh, err := t.tokens.renew(ctx, tok, true)
	if err != nil {
		return nil, err
	}
	again := withToken(req, fresh)
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("token expired and the request body cannot be replayed")
		}
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return t.next.RoundTrip(again)
}

func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// retryTransport retries idempotent requests (GET, HEAD) on 429/502/503/504 and on
// connection errors, with capped, jittered exponential backoff, honouring Retry-After.
// Other methods pass through exactly once.
type retryTransport struct {
	next      http.RoundTripper
	attempts  int
	base, cap time.Duration
	clock     Clock
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.attempts <= 1 || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if attempt >= t.attempts || !retryable(resp, err) || ctx.Err() != nil {
			return resp, err
		}
		wait := t.backoff(attempt)
		if resp != nil {
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.clock.Now()); ok && ra > wait {
				wait = ra
			}
		}
		if wait > t.cap {
			wait = t.cap
		}
		// Waiting past the deadline only turns a clear answer into a timeout.
		// Deadlines are wall-clock time whatever the Clock says.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := t.clock.Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

// backoff is "equal jitter": half the exponential step fixed, half random.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.base << (attempt - 1)
	if d > t.cap || d <= 0 {
		d = t.cap
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, ErrCircuitOpen) && !errors.Is(err, context.Canceled) &&
			!errors.Is(err, context.DeadlineExceeded)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// breakerTransport fails fast with ErrCircuitOpen while the breaker is open and reports
// every attempt's outcome: 5xx, 429, connection errors and timeouts are failures; any other
// answer (4xx included) is a success; a caller's cancellation counts for nothing.
type breakerTransport struct {
	next    http.RoundTripper
	breaker *breaker
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	probe, err := t.breaker.allow()
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		neutral := errors.Is(err, context.Canceled) && !errors.Is(req.Context().Err(), context.DeadlineExceeded)
		t.breaker.done(probe, true, neutral)
	default:
		t.breaker.done(probe, resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, false)
	}
	return resp, err
}
