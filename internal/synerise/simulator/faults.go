package simulator

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// AllRoutes is the fault route that applies to every route without a fault of its own.
const AllRoutes = "*"

// Fault is trouble injected on a route. Probabilities are from 0 to 1 and are
// drawn from a RNG seeded by Options.Seed, so a run is repeatable. The order
// is: Latency, then a dropped connection, then 429, then an error status.
type Fault struct {
	// Latency is added before the request is handled.
	Latency time.Duration `json:"-"`
	// ErrorRate is the share of requests answered with ErrorStatus.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorStatus is the status for ErrorRate (500 when zero).
	ErrorStatus int `json:"errorStatus,omitempty"`
	// RateLimitRate is the share of requests answered 429 with Retry-After.
	RateLimitRate float64 `json:"rateLimitRate,omitempty"`
	// RetryAfter is the Retry-After sent with 429, whole seconds (1s when zero).
	// When positive it is also sent with an ErrorStatus of 502, 503 or 504;
	// those carry no Retry-After when it is zero.
	RetryAfter time.Duration `json:"-"`
	// RetryAfterHTTPDate sends Retry-After as an HTTP date (now + RetryAfter,
	// rounded up to the second) instead of a number of seconds.
	RetryAfterHTTPDate bool `json:"retryAfterHttpDate,omitempty"`
	// DropRate is the share of requests whose connection is closed without an answer.
	DropRate float64 `json:"dropRate,omitempty"`
}

// faultWire is Fault as POST /_simulator/faults takes and GET returns it.
type faultWire struct {
	Route              string  `json:"route,omitempty"`
	Clear              bool    `json:"clear,omitempty"`
	LatencyMs          int64   `json:"latencyMs,omitempty"`
	ErrorRate          float64 `json:"errorRate,omitempty"`
	ErrorStatus        int     `json:"errorStatus,omitempty"`
	RateLimitRate      float64 `json:"rateLimitRate,omitempty"`
	RetryAfterSeconds  int64   `json:"retryAfterSeconds,omitempty"`
	RetryAfterHTTPDate bool    `json:"retryAfterHttpDate,omitempty"`
	DropRate           float64 `json:"dropRate,omitempty"`
}

func (w faultWire) fault() Fault {
	return Fault{
		Latency: time.Duration(w.LatencyMs) * time.Millisecond, ErrorRate: w.ErrorRate, ErrorStatus: w.ErrorStatus,
		RateLimitRate: w.RateLimitRate, RetryAfter: time.Duration(w.RetryAfterSeconds) * time.Second,
		RetryAfterHTTPDate: w.RetryAfterHTTPDate, DropRate: w.DropRate,
	}
}

func wireOf(route string, f Fault) faultWire {
	return faultWire{
		Route: route, LatencyMs: f.Latency.Milliseconds(), ErrorRate: f.ErrorRate, ErrorStatus: f.ErrorStatus,
		RateLimitRate: f.RateLimitRate, RetryAfterSeconds: int64(f.RetryAfter / time.Second),
		RetryAfterHTTPDate: f.RetryAfterHTTPDate, DropRate: f.DropRate,
	}
}

func (w faultWire) problems() []FieldError {
	var errs []FieldError
	rate := func(name string, v float64) {
		if v < 0 || v > 1 {
			errs = append(errs, FieldError{Code: CodeInvalid, Field: name, Message: "must be from 0 to 1", RejectedValue: v})
		}
	}
	rate("errorRate", w.ErrorRate)
	rate("rateLimitRate", w.RateLimitRate)
	rate("dropRate", w.DropRate)
	if w.ErrorStatus != 0 && (w.ErrorStatus < 400 || w.ErrorStatus > 599) {
		errs = append(errs, FieldError{Code: CodeInvalid, Field: "errorStatus", Message: "must be from 400 to 599", RejectedValue: w.ErrorStatus})
	}
	if w.LatencyMs < 0 || w.RetryAfterSeconds < 0 {
		errs = append(errs, FieldError{Code: CodeInvalid, Field: "latencyMs", Message: "durations may not be negative", RejectedValue: w.LatencyMs})
	}
	if w.Route == "" {
		errs = append(errs, FieldError{Code: CodeRequired, Field: "route", Message: "is required (a route name or *)"})
	}
	return errs
}

type faultTable struct {
	mu     sync.Mutex
	faults map[string]Fault
	rng    *lockedRand
}

func (t *faultTable) init(seed int64) {
	t.faults = make(map[string]Fault)
	t.rng = newLockedRand(seed, 0xfa017)
}

func (t *faultTable) set(route string, f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults[route] = f
}

func (t *faultTable) lookup(route string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f, ok := t.faults[route]; ok {
		return f, true
	}
	f, ok := t.faults[AllRoutes]
	return f, ok
}

// SetFault installs a fault on a route (a route name or "*"), replacing any before.
func (s *Simulator) SetFault(route string, f Fault) { s.faults.set(route, f) }

// ClearFault removes the fault on one route.
func (s *Simulator) ClearFault(route string) {
	s.faults.mu.Lock()
	delete(s.faults.faults, route)
	s.faults.mu.Unlock()
}

// ClearFaults removes every fault.
func (s *Simulator) ClearFaults() {
	s.faults.mu.Lock()
	clear(s.faults.faults)
	s.faults.mu.Unlock()
}

// Faults returns the faults in force, by route.
func (s *Simulator) Faults() map[string]Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return maps.Clone(s.faults.faults)
}

// applyFault plays the route's fault; it reports whether the request was answered (or dropped).
func (s *Simulator) applyFault(req *request) bool {
	f, ok := s.faults.lookup(req.route)
	if !ok {
		return false
	}
	if !s.delay(req.r.Context(), f.Latency) {
		return true
	}
	if f.DropRate > 0 && s.faults.rng.float64() < f.DropRate {
		dropConnection(req.w)
		return true
	}
	if f.RateLimitRate > 0 && s.faults.rng.float64() < f.RateLimitRate {
		secs := int64(f.RetryAfter / time.Second)
		if secs <= 0 {
			secs = 1
		}
		req.w.Header().Set("Retry-After", s.retryAfter(secs, f.RetryAfterHTTPDate))
		s.fail(req, http.StatusTooManyRequests, "Too many requests; retry later.", nil)
		return true
	}
	if f.ErrorRate > 0 && s.faults.rng.float64() < f.ErrorRate {
		status := f.ErrorStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if secs := int64(f.RetryAfter / time.Second); secs > 0 && unavailable(status) {
			req.w.Header().Set("Retry-After", s.retryAfter(secs, f.RetryAfterHTTPDate))
		}
		s.fail(req, status, "Injected fault.", nil)
		return true
	}
	return false
}

// unavailable reports the statuses that may carry Retry-After besides 429.
func unavailable(status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter is the Retry-After value for secs seconds: the number, or the HTTP
// date that many seconds from now, rounded up so it never allows an earlier retry.
func (s *Simulator) retryAfter(secs int64, httpDate bool) string {
	if !httpDate {
		return strconv.FormatInt(secs, 10)
	}
	at := s.now().Add(time.Duration(secs) * time.Second)
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	return at.UTC().Format(http.TimeFormat)
}

// dropConnection closes the connection without answering.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2, recorders): net/http aborts the stream on this panic.
	panic(http.ErrAbortHandler)
}
