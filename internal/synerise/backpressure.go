package synerise

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// backPressureTransport keeps Retry-After's promise across calls: once Synerise answered a
// request with Retry-After, the same request (method, path and query) is not sent again
// before the time it named. A call made sooner fails at once with a *RateLimitError carrying
// the time still to wait, without reaching Synerise — the operator is told how long, and a
// write refused this way was not sent.
type backPressureTransport struct {
	next  http.RoundTripper
	clock Clock

	mu        sync.Mutex
	notBefore map[string]notBefore
}

// notBefore is when a request may go out again, and the answer that asked for the wait.
type notBefore struct {
	at     time.Time
	status int
}

// maxWaitingRequests bounds the remembered waits; expired ones are swept past it.
const maxWaitingRequests = 1024

func (t *backPressureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.RequestURI()
	now := t.clock.Now()
	if wait, ok := t.waiting(key, now); ok {
		return nil, &RateLimitError{
			APIError: APIError{StatusCode: wait.status, Method: req.Method, Path: req.URL.EscapedPath(),
				Message: "not sent: Synerise asked to wait before this request is made again"},
			RetryAfter: wait.at.Sub(now),
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok && ra > 0 && resp.StatusCode >= 400 {
			t.remember(key, notBefore{at: now.Add(ra), status: resp.StatusCode}, now)
		}
	}
	return resp, err
}

func (t *backPressureTransport) waiting(key string, now time.Time) (notBefore, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.notBefore[key]
	if ok && !now.Before(w.at) {
		delete(t.notBefore, key)
		return notBefore{}, false
	}
	return w, ok
}

func (t *backPressureTransport) remember(key string, w notBefore, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.notBefore == nil {
		t.notBefore = map[string]notBefore{}
	}
	if len(t.notBefore) >= maxWaitingRequests {
		for k, old := range t.notBefore {
			if !now.Before(old.at) {
				delete(t.notBefore, k)
			}
		}
	}
	t.notBefore[key] = w
}

// isWaitRefusal reports whether err is a call refused locally for a wait Synerise asked for.
func isWaitRefusal(err error) bool {
	var rl *RateLimitError
	return errors.As(err, &rl)
}
