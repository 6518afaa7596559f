package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIKey is the sandbox workspace API key accepted when Options.APIKeys is empty.
const DefaultAPIKey = "sandbox-0b6c2f1e-6a52-4d1b-9d7e-5f3a8c41e2d7"

// DefaultCustomers is the number of customers generated when Options.Customers is zero.
const DefaultCustomers = 5000

// DefaultTokenLifetime is the workspace token lifetime when Options.TokenLifetime is zero.
const DefaultTokenLifetime = time.Hour

const maxBodyBytes = 1 << 20

// Options configure a Simulator. The zero value is usable.
type Options struct {
	// Seed drives the generated customer set, secrets and fault decisions.
	// Zero is the default seed.
	Seed int64
	// Customers is how many customers to generate (DefaultCustomers when zero).
	// The hand-written examples are always present and count towards it.
	Customers int
	// APIKeys are the workspace API keys login accepts ([DefaultAPIKey] when empty).
	APIKeys []string
	// TokenLifetime is the lifetime of workspace JWTs (DefaultTokenLifetime when zero).
	TokenLifetime time.Duration
	// ExpiredTokenStatus is how an expired token is answered: 401 (when zero)
	// with "error": "Token expired.", or 403 with "error": "Forbidden", message
	// "Token expired." and no "errors" list. Other values count as 401.
	// [Simulator.SetExpiredTokenStatus] changes it at run time.
	ExpiredTokenStatus int
	// Now is the clock (time.Now when nil). Tests pass a fake one.
	Now func() time.Time
	// Latency is added to every request before it is handled.
	Latency time.Duration
	// Faults are installed at start, keyed by route name (see the package doc).
	Faults map[string]Fault
}

// Simulator is an in-memory Synerise workspace. It implements http.Handler
// and is safe for concurrent use.
type Simulator struct {
	now      func() time.Time
	apiKeys  map[string]bool
	lifetime time.Duration
	latency  time.Duration
	// secret signs workspace JWTs. It is random per process, so tokens from an
	// earlier run are refused; RevokeTokens replaces it.
	secret        atomic.Pointer[[]byte]
	expiredStatus atomic.Int32

	verified  sync.Map // token -> tokenClaims whose signature checked out
	verifiedN atomic.Int64

	mu        sync.RWMutex
	customers []*customer // ordered by clientId
	byID      map[int64]*customer
	byEmail   map[string]*customer // lower-cased
	byUUID    map[string]*customer // lower-cased
	byCustom  map[string]*customer
	settings  map[string]json.RawMessage
	resets    map[string]*pendingToken // password reset token -> pending
	activates map[string]*pendingToken // activation token -> pending
	secrets   *lockedRand
	examples  []ExampleCustomer

	outbox outbox
	faults faultTable

	counts   map[string]*atomic.Int64
	executed map[string]*atomic.Int64
	// rejected counts the tokens authorize refused, by TokenExpired and TokenInvalid.
	rejected [2]atomic.Int64
}

// New builds a simulator with its generated customer set.
func New(opts Options) *Simulator {
	if opts.Customers == 0 {
		opts.Customers = DefaultCustomers
	}
	if len(opts.APIKeys) == 0 {
		opts.APIKeys = []string{DefaultAPIKey}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Simulator{
		now:       opts.Now,
		apiKeys:   make(map[string]bool, len(opts.APIKeys)),
		lifetime:  opts.TokenLifetime,
		latency:   opts.Latency,
		resets:    make(map[string]*pendingToken),
		activates: make(map[string]*pendingToken),
		secrets:   newLockedRand(opts.Seed, 0x5ec7e75),
		settings:  defaultSettings(),
		counts:    make(map[string]*atomic.Int64),
		executed:  make(map[string]*atomic.Int64),
	}
	s.secret.Store(newSigningKey())
	if s.SetExpiredTokenStatus(opts.ExpiredTokenStatus) != nil {
		s.expiredStatus.Store(http.StatusUnauthorized)
	}
	for _, k := range opts.APIKeys {
		s.apiKeys[k] = true
	}
	for _, r := range routeNames {
		s.counts[r] = new(atomic.Int64)
		s.executed[r] = new(atomic.Int64)
	}
	s.faults.init(opts.Seed)
	for route, f := range opts.Faults {
		s.faults.set(route, f)
	}
	s.load(generate(opts.Seed, opts.Customers))
	return s
}

// Route names, as used by faults and request counters.
const (
	RouteLogin                = "auth.login"
	RouteRefresh              = "auth.refresh"
	RouteProfileGet           = "profiles.get"
	RouteProfileList          = "profiles.list"
	RouteProfileUpdate        = "profiles.update"
	RouteProfileErase         = "profiles.erase"
	RoutePasswordReset        = "accounts.password_reset"
	RoutePasswordResetConfirm = "accounts.password_reset_confirm"
	RouteActivation           = "accounts.activation"
	RouteActivationConfirm    = "accounts.activation_confirm"
	RoutePIN                  = "accounts.pin"
	RoutePINConfirm           = "accounts.pin_confirm"
	RouteSettingsGet          = "settings.get"
	RouteSettingsSet          = "settings.set"
	RouteUnknown              = "unknown"
)

var routeNames = []string{
	RouteLogin, RouteRefresh, RouteProfileGet, RouteProfileList, RouteProfileUpdate, RouteProfileErase,
	RoutePasswordReset, RoutePasswordResetConfirm, RouteActivation, RouteActivationConfirm,
	RoutePIN, RoutePINConfirm, RouteSettingsGet, RouteSettingsSet, RouteUnknown,
}

// request is one decoded Synerise call on its way through the handler.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	route string
	iam   bool     // answer errors in the IAM shape
	segs  []string // unescaped path segments
}

// ServeHTTP serves the Synerise endpoints and the /_simulator/ admin endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, err := splitPath(r.URL)
	if err != nil {
		s.count(RouteUnknown)
		req := &request{w: w, r: r, route: RouteUnknown}
		s.fail(req, http.StatusBadRequest, "Malformed path.", nil)
		return
	}
	if len(segs) > 0 && segs[0] == "_simulator" {
		s.serveAdmin(w, r, segs[1:])
		return
	}
	req := &request{w: w, r: r, segs: segs, iam: len(segs) > 0 && segs[0] == "uauth"}
	handler, route, allow := s.match(r.Method, segs)
	req.route = route
	s.count(route)
	if !s.delay(r.Context(), s.latency) {
		return
	}
	if s.applyFault(req) {
		return
	}
	if handler == nil {
		if allow != "" {
			w.Header().Set("Allow", allow)
			s.fail(req, http.StatusMethodNotAllowed, "Request method '"+r.Method+"' is not supported.", nil)
			return
		}
		s.fail(req, http.StatusNotFound, "No endpoint "+r.Method+" "+r.URL.Path+".", nil)
		return
	}
	if route != RouteLogin && !s.authorize(req) {
		return
	}
	s.executed[route].Add(1)
	handler(req)
}

// match finds the handler for a method and path. When the path exists but the
// method does not, handler is nil and allow lists the methods that do.
func (s *Simulator) match(method string, segs []string) (handler func(*request), route, allow string) {
	p := strings.Join(segs, "/")
	one := func(want string, h func(*request), name string) (func(*request), string, string) {
		if method == want {
			return h, name, ""
		}
		return nil, name, want
	}
	switch {
	case p == "uauth/v2/auth/login/profile":
		return one(http.MethodPost, s.handleLogin, RouteLogin)
	case p == "v4/auth/refresh/profile":
		return one(http.MethodGet, s.handleRefresh, RouteRefresh)
	case p == "v4/clients":
		return one(http.MethodGet, s.handleProfileList, RouteProfileList)
	case len(segs) == 3 && segs[0] == "v4" && segs[1] == "clients":
		switch method {
		case http.MethodPost:
			return s.handleProfileUpdate, RouteProfileUpdate, ""
		case http.MethodDelete:
			return s.handleProfileErase, RouteProfileErase, ""
		case http.MethodGet:
			return s.handleProfileGet, RouteProfileGet, ""
		}
		return nil, RouteProfileGet, "GET, POST, DELETE"
	case len(segs) == 4 && segs[0] == "v4" && segs[1] == "clients" && lookupKind(segs[2]) != "":
		return one(http.MethodGet, s.handleProfileGet, RouteProfileGet)
	case p == "sauth/clients/password-reset/request":
		return one(http.MethodPost, s.handlePasswordResetRequest, RoutePasswordReset)
	case p == "sauth/clients/password-reset/confirmation":
		return one(http.MethodPost, s.handlePasswordResetConfirm, RoutePasswordResetConfirm)
	case p == "sauth/clients/activation/request":
		return one(http.MethodPost, s.handleActivationRequest, RouteActivation)
	case p == "sauth/clients/activation/confirmation":
		return one(http.MethodPost, s.handleActivationConfirm, RouteActivationConfirm)
	case p == "sauth/clients/activation/by-pin-code/request":
		return one(http.MethodPost, s.handlePINRequest, RoutePIN)
	case p == "sauth/clients/activation/by-pin-code/confirmation":
		return one(http.MethodPost, s.handlePINConfirm, RoutePINConfirm)
	case p == "sauth/settings/general" || p == "sauth/settings":
		switch method {
		case http.MethodGet:
			return s.handleSettingsGet, RouteSettingsGet, ""
		case http.MethodPost:
			return s.handleSettingsSet, RouteSettingsSet, ""
		}
		return nil, RouteSettingsGet, "GET, POST"
	}
	return nil, RouteUnknown, ""
}

// splitPath splits the escaped path first and unescapes each segment after,
// so that %2F stays inside a segment and %2B becomes "+" (a literal "+" stays "+").
func splitPath(u *url.URL) ([]string, error) {
	raw := strings.Trim(u.EscapedPath(), "/")
	if raw == "" {
		return nil, nil
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = v
	}
	return parts, nil
}

func (s *Simulator) count(route string) {
	c, ok := s.counts[route]
	if !ok {
		c = s.counts[RouteUnknown]
	}
	c.Add(1)
}

// RequestCount is how many requests reached the named route, faulted ones included.
func (s *Simulator) RequestCount(route string) int {
	if c, ok := s.counts[route]; ok {
		return int(c.Load())
	}
	return 0
}

// RequestCounts is a snapshot of every route's request count.
func (s *Simulator) RequestCounts() map[string]int {
	out := make(map[string]int, len(s.counts))
	for k, c := range s.counts {
		out[k] = int(c.Load())
	}
	return out
}

// ExecutedCount is how many requests of the named route were handled: they passed
// fault injection and the token check, so the endpoint acted on them (which may
// still be a refusal of the request's content, such as a 400 for a bad phone).
// Unlike RequestCount it leaves out requests refused for their token and faulted
// ones, so a write's executed count is how many times Synerise would have applied it.
func (s *Simulator) ExecutedCount(route string) int {
	if c, ok := s.executed[route]; ok {
		return int(c.Load())
	}
	return 0
}

// ExecutedCounts is a snapshot of every route's executed count.
func (s *Simulator) ExecutedCounts() map[string]int {
	out := make(map[string]int, len(s.executed))
	for k, c := range s.executed {
		out[k] = int(c.Load())
	}
	return out
}

// ResetRequestCounts sets every request and executed counter back to zero.
func (s *Simulator) ResetRequestCounts() {
	for _, c := range s.counts {
		c.Store(0)
	}
	for _, c := range s.executed {
		c.Store(0)
	}
	for i := range s.rejected {
		s.rejected[i].Store(0)
	}
}

// Reasons a bearer token is refused, as TokenRejections counts them.
const (
	TokenExpired = "expired" // answered 401 "Token expired." or a bare 403
	TokenInvalid = "invalid" // answered 401 "Invalid token.": tampered, revoked, another process's
)

// TokenRejections is how many requests were refused for their token, by reason; a
// request without any token is not counted. ResetRequestCounts zeroes them too.
func (s *Simulator) TokenRejections() map[string]int {
	return map[string]int{TokenExpired: int(s.rejected[0].Load()), TokenInvalid: int(s.rejected[1].Load())}
}

// delay sleeps for d unless the request goes away first; it reports whether to carry on.
func (s *Simulator) delay(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Server is a simulator listening on a loopback address, for in-process use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Simulator is the handler being served.
	Simulator *Simulator

	srv  *http.Server
	done chan struct{}
}

// Start serves a new simulator on addr ("127.0.0.1:0" when empty).
func Start(opts Options, addr string) (*Server, error) {
	return Serve(New(opts), addr)
}

// Serve runs an existing simulator on addr ("" means 127.0.0.1:0), for callers that keep
// a handle on it (tests looking at the outbox).
func Serve(sim *Simulator, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen on %s: %w", addr, err)
	}
	srv := &Server{
		URL:       "http://" + ln.Addr().String(),
		Simulator: sim,
		srv:       &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		done:      make(chan struct{}),
	}
	go func() {
		defer close(srv.done)
		srv.srv.Serve(ln)
	}()
	return srv, nil
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the server gracefully, waiting for requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}
