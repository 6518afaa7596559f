// Package synerise is a typed, resilient client for the parts of the Synerise API the console
// uses: customer profiles, RaaS account actions and RaaS general settings.
//
// One Client serves the whole process and is safe for concurrent use. All resilience lives
// in the RoundTrippers of transport.go, so the service methods stay plain. The rules, from
// the API contract (docs: synerise-api.md, "Second version"):
//
//   - Every call has a deadline (WithTimeout, default 10s), retries and re-login included.
//   - Token rejection: any 401, whatever its body, and any 403 without field errors mean
//     Synerise no longer accepts the workspace token. The client logs in again (one login
//     shared by all concurrent callers) and sends the request exactly once more, POSTs too:
//     nothing ran on a refused token. A second refusal, or a refused login, is
//     ErrCredentialsRefused (IsCredentialsRefused). A 403 with field errors is a business
//     refusal (the PIN device rule): an ordinary *APIError, never a login.
//   - Tokens are renewed ahead of their exp; when the payload is unreadable (encrypted), on
//     age: at half the last observed lifetime, after an hour when none was ever observed.
//   - Back-pressure: only idempotent GETs are retried, at most once (DefaultRetryAttempts),
//     after a short jittered pause, on 429, 502, 503, 504 and connection errors. Retry-After
//     is a promise: the retry never goes out sooner, and when it asks for more than an
//     interactive request can wait (WithMaxRetryWait, default 2s) there is no retry and the
//     *RateLimitError carries RetryAfter at once. Until that time the same request
//     (method, path, query) is not sent again by any caller: it fails at once with the time
//     left (backpressure.go). 429 is rate limiting; 502/503/504 with
//     Retry-After are "busy" (both *RateLimitError, IsRateLimited); 502/503/504 without it
//     are "unavailable" (IsUnavailable).
//   - Writes are never retried (the token replay aside) and outlive their caller: once sent
//     they run to their answer on the client's own deadline even if the caller's context is
//     cancelled; a write whose caller gave up before it was sent is not sent.
//   - Every value placed in a URL path is escaped; empty, blank, "." and ".." values are
//     refused before any request (ErrInvalidPathValue, IsInvalidInput).
//   - A circuit breaker fails fast (ErrCircuitOpen) while Synerise keeps failing.
package synerise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used when no option overrides them.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultUserAgent    = "raas-console/1 (+synerise-go-client)"
	DefaultSettingsPath = "/sauth/settings/general"
	// DefaultRetryAttempts is attempts in total for an idempotent GET: one retry at most.
	DefaultRetryAttempts = 2
	DefaultRetryBase     = 100 * time.Millisecond
	DefaultRetryCap      = 2 * time.Second
	// DefaultMaxRetryWait is the longest Retry-After the client waits out before its one
	// retry: about what an interactive request can wait. Longer, it does not retry.
	DefaultMaxRetryWait    = 2 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
	DefaultMaxResponseSize = 4 << 20
	// DefaultIdleConns is how many connections to Synerise the default transport keeps
	// open between calls. net/http keeps two per host, so under concurrent calls every
	// connection beyond two was closed after its call and another one dialled.
	DefaultIdleConns = 128
	apiVersion       = "4.4"
)

// Observer receives one observation per logical operation (e.g. "profiles.get_by_email"),
// after retries and re-login. status is the final HTTP status, 0 when no response arrived.
type Observer interface {
	ObserveCall(operation string, status int, d time.Duration, err error)
}

// Clock is the time source of the client; tests replace it with WithClock.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type noopObserver struct{}

func (noopObserver) ObserveCall(string, int, time.Duration, error) {}

// Client talks to one Synerise workspace. Create it with NewClient.
type Client struct {
	Profiles *ProfilesService
	Accounts *AccountsService
	Settings *SettingsService

	baseURL      *url.URL
	apiKey       string
	userAgent    string
	settingsPath string
	erasePath    string
	timeout      time.Duration
	maxBody      int64
	observer     Observer
	clock        Clock

	base         http.RoundTripper
	retryMax     int
	retryBase    time.Duration
	retryCap     time.Duration
	retryWait    time.Duration
	breakerMax   int
	breakerPause time.Duration

	breaker *breaker
	tokens  *tokenSource
	rt      http.RoundTripper // deadline → auth → retry → breaker → base
	plainRT http.RoundTripper // retry → breaker → base, for login and refresh
}

// Option configures a Client.
type Option func(*Client) error

// WithTransport sets the RoundTripper that finally talks to the network
// (default: a clone of http.DefaultTransport keeping DefaultIdleConns idle connections).
func WithTransport(base http.RoundTripper) Option {
	return func(c *Client) error {
		if base == nil {
			return errors.New("transport is nil")
		}
		c.base = base
		return nil
	}
}

// WithHTTPClient uses hc's Transport as the base transport. Its Timeout, Jar and
// CheckRedirect are ignored: the client sets its own deadline and never follows redirects.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("http client is nil")
		}
		if hc.Transport != nil {
			c.base = hc.Transport
		}
		return nil
	}
}

// WithTimeout sets the deadline of each call, retries and re-login included (default 10s).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithRetry sets how idempotent calls are retried: attempts in total (1 disables retries,
// 2 — the default — allows the one retry the contract permits; more is refused), and the
// base and cap of the jittered backoff before the retry.
func WithRetry(maxAttempts int, base, cap time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 || maxAttempts > 2 || base < 0 || cap < base {
			return errors.New("retry: need 1 <= maxAttempts <= 2 and 0 <= base <= cap")
		}
		c.retryMax, c.retryBase, c.retryCap = maxAttempts, base, cap
		return nil
	}
}

// WithMaxRetryWait sets the longest Retry-After an idempotent call waits out before its
// retry (default DefaultMaxRetryWait). When Synerise asks for longer, the call is not
// retried: it fails at once with a *RateLimitError carrying RetryAfter.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return errors.New("max retry wait must not be negative")
		}
		c.retryWait = d
		return nil
	}
}

// WithBreaker sets the circuit breaker: it opens after threshold consecutive failures and
// lets one probe through after cooldown. A threshold of 0 disables the breaker.
func WithBreaker(threshold int, cooldown time.Duration) Option {
	return func(c *Client) error {
		if threshold < 0 || cooldown <= 0 {
			return errors.New("breaker: need threshold >= 0 and a positive cooldown")
		}
		c.breakerMax, c.breakerPause = threshold, cooldown
		return nil
	}
}

// WithSettingsPath sets the path of the RaaS general settings (default
// /sauth/settings/general; some workspaces use /sauth/settings).
func WithSettingsPath(p string) Option {
	return func(c *Client) error {
		if !strings.HasPrefix(p, "/") {
			return errors.New("settings path must start with /")
		}
		c.settingsPath = p
		return nil
	}
}

// WithObserver sets the metrics hook.
func WithObserver(o Observer) Option {
	return func(c *Client) error {
		if o == nil {
			o = noopObserver{}
		}
		c.observer = o
		return nil
	}
}

// WithClock replaces the time source (tests).
func WithClock(clk Clock) Option {
	return func(c *Client) error {
		if clk == nil {
			return errors.New("clock is nil")
		}
		c.clock = clk
		return nil
	}
}

// WithMaxResponseSize caps how many bytes of a response body are read (default 4 MiB).
func WithMaxResponseSize(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return errors.New("max response size must be positive")
		}
		c.maxBody = n
		return nil
	}
}

// NewClient returns a client for the workspace at baseURL (e.g. https://api.synerise.com)
// authenticating with the workspace API key.
func NewClient(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("synerise: new client: base URL %q must be an absolute http(s) URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("synerise: new client: base URL %q must not have a query or fragment", baseURL)
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("synerise: new client: API key is empty")
	}
	c := &Client{
		baseURL:      u,
		apiKey:       apiKey,
		userAgent:    DefaultUserAgent,
		settingsPath: DefaultSettingsPath,
		erasePath:    DefaultErasePath,
		timeout:      DefaultTimeout,
		maxBody:      DefaultMaxResponseSize,
		observer:     noopObserver{},
		clock:        realClock{},
		retryMax:     DefaultRetryAttempts,
		retryBase:    DefaultRetryBase,
		retryCap:     DefaultRetryCap,
		retryWait:    DefaultMaxRetryWait,
		breakerMax:   DefaultBreakerFailures,
		breakerPause: DefaultBreakerCooldown,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("synerise: new client: %w", err)
		}
	}
	if c.base == nil {
		base := http.DefaultTransport.(*http.Transport).Clone()
		base.MaxIdleConns, base.MaxIdleConnsPerHost = DefaultIdleConns, DefaultIdleConns
		c.base = base
	}
	c.breaker = newBreaker(c.breakerMax, c.breakerPause, c.clock)
	c.plainRT = &retryTransport{
		next:     &backPressureTransport{next: &breakerTransport{next: c.base, breaker: c.breaker}, clock: c.clock},
		attempts: c.retryMax, base: c.retryBase, cap: c.retryCap, maxWait: c.retryWait, clock: c.clock,
	}
	c.tokens = &tokenSource{clock: c.clock, timeout: c.timeout, login: c.login, refresh: c.refresh}
	c.rt = &deadlineTransport{
		next: &authTransport{
			next: c.plainRT, tokens: c.tokens, maxBody: c.maxBody,
			refused: c.credentialsRefused,
		},
		timeout: c.timeout,
	}
	c.Profiles = &ProfilesService{c: c}
	c.Accounts = &AccountsService{c: c}
	c.Settings = &SettingsService{c: c}
	return c, nil
}

// BreakerState reports the circuit breaker: "closed", "open" or "half-open".
func (c *Client) BreakerState() string { return c.breaker.State() }

// newRequest builds a request for path (already escaped) relative to the base URL.
func (c *Client) newRequest(ctx context.Context, method, escapedPath string, query url.Values, body []byte) (*http.Request, error) {
	raw := c.baseURL.String() + escapedPath
	if len(query) > 0 {
		raw += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, raw, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Api-Version", apiVersion)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// call performs one logical operation: encode in (if any), send through the transport
// chain, decode a 2xx body into out (if non-nil) or the error body into an *APIError.
func (c *Client) call(ctx context.Context, op, method, escapedPath string, query url.Values, in, out any) error {
	start := c.clock.Now()
	status, err := c.roundTrip(ctx, c.rt, method, escapedPath, query, in, out)
	if err != nil {
		err = fmt.Errorf("synerise: %s: %w", op, err)
	}
	c.observer.ObserveCall(op, status, c.clock.Now().Sub(start), err)
	return err
}

func (c *Client) roundTrip(ctx context.Context, rt http.RoundTripper, method, escapedPath string, query url.Values, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		// A Marshaler is called directly: json.Marshal would re-compact and HTML-escape its
		// output, and settings must go back byte for byte.
		if m, ok := in.(json.Marshaler); ok {
			body, err = m.MarshalJSON()
		} else {
			body, err = json.Marshal(in)
		}
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
	}
	req, err := c.newRequest(ctx, method, escapedPath, query, body)
	if err != nil {
		return 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return apiStatus(err), err
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body, c.maxBody)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, newResponseError(req, resp, data, c.clock.Now(), c.secrets())
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if opt, ok := out.(*optionalBody); ok {
		if len(bytes.TrimSpace(data)) == 0 {
			return resp.StatusCode, nil
		}
		opt.got, out = true, opt.v
	}
	if raw, ok := out.(*rawBody); ok {
		return resp.StatusCode, raw.keep(data)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return resp.StatusCode, fmt.Errorf("decode response: empty body with status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("decode response: %w", err)
	}
	return resp.StatusCode, nil
}

// optionalBody is an out parameter for answers that may come with an empty body.
type optionalBody struct {
	v   any
	got bool
}

// secrets lists the values that must never appear in an error message.
func (c *Client) secrets() []string {
	return []string{c.apiKey, c.tokens.current()}
}

// credentialsRefused is the error for an answer that refused a token fresh from a login.
func (c *Client) credentialsRefused(req *http.Request, resp *http.Response, body []byte) error {
	return fmt.Errorf("%w: %w", ErrCredentialsRefused, newResponseError(req, resp, body, c.clock.Now(), c.secrets()))
}

// ErrResponseTooLarge is returned when a response body exceeds the size cap.
var ErrResponseTooLarge = errors.New("response body too large")

func readBody(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return data, nil
}
