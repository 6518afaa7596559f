package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
)

// repeats reports whether message opens by saying again what its heading says: the
// heading's first two words, or the whole heading.
func repeats(heading, message string) bool {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'' || r == '’')
		})
	}
	h, m := words(heading), words(message)
	n := min(2, len(h))
	if len(m) < n {
		return false
	}
	for i := range n {
		if h[i] != m[i] {
			return false
		}
	}
	return true
}

// Every upstream failure the funnel puts in words is a heading and a message that goes
// on from it: the message never opens by repeating the heading (as "Synerise refused"
// then "Synerise refused to send a PIN…" did), and the one-paragraph form used where no
// heading shows keeps the heading's words.
func TestFunnelMessagesDoNotRepeatTheirHeading(t *testing.T) {
	api := func(status int, msg string) *synerise.APIError {
		return &synerise.APIError{StatusCode: status, Code: "Bad request", Message: msg, TraceID: "tr-1"}
	}
	failures := map[string]error{
		"invalid input":       fmt.Errorf("get: %w", synerise.ErrInvalidPathValue),
		"credentials refused": fmt.Errorf("%w: %w", synerise.ErrCredentialsRefused, api(http.StatusUnauthorized, "Unauthorized")),
		"circuit open":        synerise.ErrCircuitOpen,
		"rate limited":        &synerise.RateLimitError{APIError: *api(http.StatusTooManyRequests, "slow down"), RetryAfter: 3 * time.Second},
		"busy":                &synerise.RateLimitError{APIError: *api(http.StatusServiceUnavailable, "busy")},
		"unavailable":         api(http.StatusServiceUnavailable, "down"),
		"not found":           api(http.StatusNotFound, "no such profile"),
		"unauthorized":        api(http.StatusUnauthorized, "Unauthorized"),
		"refused":             api(http.StatusBadRequest, "Refused because of a rule"),
		"forbidden":           api(http.StatusForbidden, "Forbidden"),
		"server error":        api(http.StatusInternalServerError, "boom"),
		"timeout":             upstream(context.DeadlineExceeded),
		"no connection":       upstream(errors.New("connection reset by peer")),
	}
	for name, err := range failures {
		v, ok := describeSynerise(upstream(err))
		if !ok {
			t.Errorf("%s: not described", name)
			continue
		}
		if repeats(v.Title, v.Message) {
			t.Errorf("%s: heading %q, message %q repeats it", name, v.Title, v.Message)
		}
		if s := inOneParagraph(v); !strings.HasPrefix(s, v.Title) || !strings.Contains(s, v.Message) {
			t.Errorf("%s: one-paragraph form %q lacks the heading or the message", name, s)
		}
	}

	// The account actions' refusals, shown under the heading "Synerise refused".
	refusals := map[string]func(*synerise.APIError) string{
		"account": accountRefusal,
		"pin device": func(*synerise.APIError) string {
			return pinDeviceRefusal("other-phone-42", "phone-1", "Allow PIN resend from another device (allowPinResendFromDifferentDeviceId)")
		},
		"email taken": emailRefusal,
	}
	refused := &synerise.APIError{StatusCode: http.StatusBadRequest, Message: "Refused",
		FieldErrors: []synerise.FieldError{{Field: "email", Message: "already used"}}}
	for _, says := range []string{"Account already activated", "User not registered", "anonymous profile", "some other rule"} {
		refused.Message = says
		for name, refusal := range refusals {
			var h Handler
			r, status := h.actionResult(audit.OutcomeFailed, upstream(refused), "", refusal)
			if status >= 500 || r.Kind != "error" {
				t.Fatalf("%s (%s): %d %+v", name, says, status, r)
			}
			if repeats(r.Title, r.Message) {
				t.Errorf("%s (%s): heading %q, message %q repeats it", name, says, r.Title, r.Message)
			}
		}
	}
}
