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
//	deadlineTransport → authTransport → retryTransport → backPressureTransport → breakerTransport → base
//
// Login and refresh skip the first two (they carry no workspace token and have their own
// deadline). A write leaves the caller's cancellation behind in authTransport, just before
// it is sent, keeping the deadline set here.

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

// authTransport adds the workspace token. When Synerise no longer accepts the token (see
// isTokenRejection) it logs in once more, straight away (a refresh needs a token Synerise
// still accepts), and sends the request exactly once more. That single replay is allowed for
// POSTs too: a refused token is refused before any business logic runs. A second refusal is
// ErrCredentialsRefused.
//
// Writes (any method but GET and HEAD) outlive their caller: once one is handed to the
// network it runs, re-login and replay included, on a context detached from the caller's
// cancellation that keeps only the client's own deadline, so its outcome is always known.
// A write whose caller has already given up before it is sent is not sent.
type authTransport struct {
	next    http.RoundTripper
	tokens  *tokenSource
	maxBody int64
	// refused builds the error for an answer that rejected a fresh token.
	refused func(req *http.Request, resp *http.Response, body []byte) error
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	if idempotent(req.Method) {
		return t.send(ctx, req, tok)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Detached from the caller, the write keeps the deadline deadlineTransport set.
	sendCtx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		sendCtx, cancel = context.WithDeadline(sendCtx, deadline)
	}
	resp, err := t.send(sendCtx, req.WithContext(sendCtx), tok)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// send sends req with tok and, if Synerise rejects tok, once more with a fresh token.
func (t *authTransport) send(ctx context.Context, req *http.Request, tok string) (*http.Response, error) {
	resp, err := t.next.RoundTrip(withToken(req, tok))
	if err != nil {
		return nil, err
	}
	resp, _, rejected, err := t.rejected(resp)
	if err != nil || !rejected {
		return resp, err
	}
	fresh, err := t.tokens.renew(ctx, tok, true)
	if err != nil {
		return nil, err
	}
	again := withToken(req, fresh)
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("token refused and the request body cannot be replayed")
		}
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, err = t.next.RoundTrip(again)
	if err != nil {
		return nil, err
	}
	resp, body, rejected, err := t.rejected(resp)
	if err != nil || !rejected {
		return resp, err
	}
	return nil, t.refused(again, resp, body)
}

// rejected reads the body of a 401 or 403 to tell whether it rejects the token; the
// returned response can still be read.
func (t *authTransport) rejected(resp *http.Response) (*http.Response, []byte, bool, error) {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return resp, nil, false, nil
	}
	body, err := readBody(resp.Body, t.maxBody)
	resp.Body.Close()
	if err != nil {
		return nil, nil, false, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, body, isTokenRejection(resp.StatusCode, body), nil
}

func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// idempotent reports whether a request may be sent twice without changing anything twice.
func idempotent(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// retryTransport retries idempotent requests (GET, HEAD) on 429/502/503/504 and on
// connection errors, up to attempts in total (DefaultRetryAttempts: one retry), after a
// capped, jittered backoff. Retry-After is a promise to Synerise: the retry never goes out
// sooner than it allows, and when it asks for more than maxWait (longer than an interactive
// request can wait) there is no retry at all: the answer is returned at once, so the caller
// can say how long to wait. Other methods pass through exactly once.
type retryTransport struct {
	next      http.RoundTripper
	attempts  int
	base, cap time.Duration
	maxWait   time.Duration
	clock     Clock
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.attempts <= 1 || !idempotent(req.Method) {
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
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.clock.Now()); ok {
				if ra > t.maxWait {
					return resp, nil
				}
				wait = max(wait, ra)
			}
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
			!errors.Is(err, context.DeadlineExceeded) && !isWaitRefusal(err)
	}
	return resp.StatusCode == http.StatusTooManyRequests || isGatewayStatus(resp.StatusCode)
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
