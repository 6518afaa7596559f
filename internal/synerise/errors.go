package synerise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrCircuitOpen is returned, without calling Synerise, while the circuit breaker is open.
var ErrCircuitOpen = errors.New("synerise: circuit open: Synerise is failing")

// ErrCredentialsRefused is wrapped by the error of a call when Synerise refused the console's
// credentials: the workspace login itself was refused (401 or 403), or a token fresh from a
// new login was refused again. The refusal's *APIError is wrapped too. Retrying does not help;
// an admin must check the workspace API key.
//
//lint:ignore ST1005 Synerise is a proper noun, and the message is shown as it is.
var ErrCredentialsRefused = errors.New("Synerise refused the console's credentials")

// ErrInvalidInput is wrapped by every error returned without calling Synerise because an
// argument cannot be sent (an empty e-mail, an empty update, an unusable path value).
var ErrInvalidInput = errors.New("invalid input")

// ErrInvalidPathValue is wrapped, with the kind of identifier, when a value meant for a URL
// path segment is empty, only whitespace, "." or ".." (proxies and HTTP libraries normalise
// the last two away, so the request would reach another resource). It wraps ErrInvalidInput.
var ErrInvalidPathValue = fmt.Errorf("%w: value cannot be used as a URL path segment", ErrInvalidInput)

// FieldError is one entry of the "errors" list of a validation error.
type FieldError struct {
	Code          int    `json:"code"`
	Field         string `json:"field"`
	Message       string `json:"message"`
	RejectedValue any    `json:"rejectedValue,omitempty"`
}

// APIError is a non-2xx answer from Synerise, whichever of its two error shapes it came in.
type APIError struct {
	StatusCode  int
	Code        string // Synerise "error" (profile, sauth) or "errorCode" (IAM)
	Message     string
	FieldErrors []FieldError
	TraceID     string // IAM "traceId": what Synerise support asks for
	Path        string // request path
	Method      string // request method
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" && e.Code != http.StatusText(e.StatusCode) {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" && e.Message != e.Code {
		b.WriteString(": " + e.Message)
	}
	for i, fe := range e.FieldErrors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(fe.Field + ": " + fe.Message)
		if i == len(e.FieldErrors)-1 {
			b.WriteString(")")
		}
	}
	if e.TraceID != "" {
		b.WriteString(" [traceId " + e.TraceID + "]")
	}
	return b.String()
}

// RateLimitError is Synerise asking the caller to back off: a 429 (rate limiting, with or
// without Retry-After), or a 502, 503 or 504 that came with Retry-After (busy). The status
// stays in APIError.StatusCode. A 502/503/504 without Retry-After is a plain *APIError for
// which IsUnavailable is true.
type RateLimitError struct {
	APIError
	// RetryAfter is how long Synerise asked to wait (Retry-After, delta seconds or an HTTP
	// date); 0 when it did not say. The client never sends the same request again sooner.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	s := "rate limited (too many requests): "
	if e.StatusCode != http.StatusTooManyRequests {
		s = "busy: "
	}
	s += e.APIError.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (wait %s)", waitText(e.RetryAfter))
	}
	return s
}

// waitText is d in whole seconds, rounded up: "wait 1 s" rather than "wait 0 s".
func waitText(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + " s"
}

// Unwrap lets errors.As find the embedded *APIError.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// errorFields reads both error shapes leniently: a field of an unexpected type is kept as
// its JSON text rather than failing the whole decode.
type errorFields struct {
	code, message, traceID string
	fields                 []FieldError
}

func decodeErrorBody(body []byte) (errorFields, bool) {
	var m map[string]json.RawMessage
	if len(body) == 0 || json.Unmarshal(body, &m) != nil || m == nil {
		return errorFields{}, false
	}
	ef := errorFields{code: jsonText(m["error"]), message: jsonText(m["message"]), traceID: jsonText(m["traceId"])}
	if ef.code == "" {
		ef.code = jsonText(m["errorCode"])
	}
	if raw, ok := m["errors"]; ok {
		var fes []FieldError
		if json.Unmarshal(raw, &fes) == nil {
			ef.fields = fes
		}
	}
	return ef, true
}

func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// newResponseError decodes a non-2xx response. secrets are scrubbed from every text taken
// from the body, so Error() can never print the API key or a token.
func newResponseError(req *http.Request, resp *http.Response, body []byte, now time.Time, secrets []string) error {
	e := APIError{StatusCode: resp.StatusCode, Path: req.URL.EscapedPath(), Method: req.Method}
	if ef, ok := decodeErrorBody(body); ok {
		e.Code, e.Message, e.TraceID, e.FieldErrors = ef.code, ef.message, ef.traceID, ef.fields
	} else if len(body) > 0 {
		e.Message = "non-JSON body: " + printable(scrub(string(body), secrets), 200)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = strings.TrimSpace("redirect to " + printable(resp.Header.Get("Location"), 200) + " not followed " + e.Message)
	}
	// Scrub before truncating, so a cut can never leave part of a secret behind.
	e.Code = printable(scrub(e.Code, secrets), 200)
	e.Message = printable(scrub(e.Message, secrets), 1000)
	e.TraceID = printable(scrub(e.TraceID, secrets), 200)
	for i := range e.FieldErrors {
		e.FieldErrors[i].Field = printable(scrub(e.FieldErrors[i].Field, secrets), 200)
		e.FieldErrors[i].Message = printable(scrub(e.FieldErrors[i].Message, secrets), 500)
		if s, ok := e.FieldErrors[i].RejectedValue.(string); ok {
			e.FieldErrors[i].RejectedValue = scrub(s, secrets)
		}
	}
	ra, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &RateLimitError{APIError: e, RetryAfter: ra}
	case isGatewayStatus(resp.StatusCode) && hasRA:
		return &RateLimitError{APIError: e, RetryAfter: ra}
	}
	return &e
}

// isGatewayStatus reports 502, 503 and 504: Synerise (or what fronts it) is not answering.
func isGatewayStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// parseRetryAfter reads a Retry-After header: delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func apiStatus(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether Synerise answered 404 (e.g. no such customer).
func IsNotFound(err error) bool { return apiStatus(err) == http.StatusNotFound }

// IsConflict reports whether Synerise answered 409.
func IsConflict(err error) bool { return apiStatus(err) == http.StatusConflict }

// IsForbidden reports whether Synerise answered 403 (e.g. the PIN device rule).
func IsForbidden(err error) bool { return apiStatus(err) == http.StatusForbidden }

// IsBadRequest reports whether Synerise answered 400 or 422 (validation, or an action that
// does not apply to the account's state).
func IsBadRequest(err error) bool {
	s := apiStatus(err)
	return s == http.StatusBadRequest || s == http.StatusUnprocessableEntity
}

// IsUnauthorized reports whether Synerise answered 401 (a bad API key, or a token that was
// still refused after one re-login). IsCredentialsRefused is the broader, preferred test.
func IsUnauthorized(err error) bool { return apiStatus(err) == http.StatusUnauthorized }

// IsCredentialsRefused reports whether Synerise refused the console's credentials: the
// workspace login was refused, or a token fresh from a new login was refused too (see
// ErrCredentialsRefused). The refusal's *APIError remains reachable with errors.As.
func IsCredentialsRefused(err error) bool { return errors.Is(err, ErrCredentialsRefused) }

// IsRateLimited reports whether Synerise asked the caller to back off: a 429, or a
// 502/503/504 with Retry-After. The error is then a *RateLimitError carrying RetryAfter.
func IsRateLimited(err error) bool {
	var e *RateLimitError
	return errors.As(err, &e)
}

// IsUnavailable reports whether Synerise answered 502, 503 or 504 without Retry-After:
// it is unavailable, and did not say for how long (unlike IsRateLimited).
func IsUnavailable(err error) bool {
	var rl *RateLimitError
	return isGatewayStatus(apiStatus(err)) && !errors.As(err, &rl)
}

// IsInvalidInput reports whether the call was refused before any request because an
// argument could not be sent (see ErrInvalidInput and ErrInvalidPathValue).
func IsInvalidInput(err error) bool { return errors.Is(err, ErrInvalidInput) }

// IsCircuitOpen reports whether the call was refused by the open circuit breaker.
func IsCircuitOpen(err error) bool { return errors.Is(err, ErrCircuitOpen) }

// IsTimeout reports whether the call ended at its deadline or on a network timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTokenRejection reports whether an answer means "this token is no longer accepted": any
// 401 whatever its body, or a 403 without field errors. A 403 with field errors is a
// business refusal (the PIN device rule), not a verdict on the token.
func isTokenRejection(status int, body []byte) bool {
	switch status {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		ef, _ := decodeErrorBody(body)
		return len(ef.fields) == 0
	}
	return false
}
