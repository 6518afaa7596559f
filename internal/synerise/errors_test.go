package synerise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   APIError
	}{
		{"profile shape", 400,
			`{"error":"Bad Request","status":400,"timestamp":"2024-01-01T00:00:00Z","path":"/v4/clients/1","message":"Validation failed",` +
				`"errors":[{"code":1,"field":"phone","message":"must match","rejectedValue":"abc"}]}`,
			APIError{StatusCode: 400, Code: "Bad Request", Message: "Validation failed",
				FieldErrors: []FieldError{{Code: 1, Field: "phone", Message: "must match", RejectedValue: "abc"}}}},
		{"IAM shape", 400,
			`{"path":"/uauth/x","timestamp":"2024-01-01T00:00:00Z","errorCode":"UAUTH-400","status":400,"message":"No such thing","traceId":"t-77"}`,
			APIError{StatusCode: 400, Code: "UAUTH-400", Message: "No such thing", TraceID: "t-77"}},
		{"numeric errorCode", 500, `{"errorCode":1234,"message":"boom"}`,
			APIError{StatusCode: 500, Code: "1234", Message: "boom"}},
		{"non-JSON", 502, "<html><body>Bad gateway\x00</body></html>",
			APIError{StatusCode: 502, Message: "non-JSON body: <html><body>Bad gateway </body></html>"}},
		{"empty", 500, "", APIError{StatusCode: 500}},
		{"odd types", 400, `{"error":{"nested":true},"errors":"not a list","message":7}`,
			APIError{StatusCode: 400, Code: `{"nested":true}`, Message: "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t)
			u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := newTestClient(t, u, WithRetry(1, 0, 0)).Profiles.Get(context.Background(), 1)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v", err)
			}
			tt.want.Path, tt.want.Method = "/v4/clients/1", "GET"
			if ae.StatusCode != tt.want.StatusCode || ae.Code != tt.want.Code || ae.Message != tt.want.Message ||
				ae.TraceID != tt.want.TraceID || ae.Path != tt.want.Path || ae.Method != tt.want.Method ||
				len(ae.FieldErrors) != len(tt.want.FieldErrors) {
				t.Errorf("got  %#v\nwant %#v", *ae, tt.want)
			}
			for i := range ae.FieldErrors {
				if ae.FieldErrors[i] != tt.want.FieldErrors[i] {
					t.Errorf("field error %d = %+v", i, ae.FieldErrors[i])
				}
			}
			if !strings.HasPrefix(err.Error(), "synerise: profiles.get: GET /v4/clients/1: ") {
				t.Errorf("Error() = %q", err)
			}
			if tt.want.TraceID != "" && !strings.Contains(err.Error(), tt.want.TraceID) {
				t.Errorf("Error() lost the trace id: %q", err)
			}
		})
	}
}

func TestErrorNeverCarriesSecrets(t *testing.T) {
	u := newUpstream(t)
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		writeJSON(w, 400, map[string]any{"error": "echo " + tok, "message": "key " + testAPIKey,
			"errors": []map[string]any{{"field": "f", "message": tok, "rejectedValue": testAPIKey}}})
	})
	c := newTestClient(t, u)
	_, err := c.Profiles.Get(context.Background(), 1)
	tok := c.tokens.current()
	if err == nil || tok == "" {
		t.Fatal("want an error and a token")
	}
	var ae *APIError
	errors.As(err, &ae)
	if s := err.Error() + ae.Code + ae.Message + ae.FieldErrors[0].Message + ae.FieldErrors[0].RejectedValue.(string); strings.Contains(s, tok) || strings.Contains(s, testAPIKey) {
		t.Errorf("secret leaked: %s", s)
	}

	// A refused login names neither the key nor a token.
	bad, _ := NewClient(u.URL, "wrong-key-secret-value", WithClock(u.clock))
	_, err = bad.Profiles.Get(context.Background(), 1)
	if !IsUnauthorized(err) || !IsCredentialsRefused(err) || strings.Contains(err.Error(), "wrong-key-secret-value") || !strings.Contains(err.Error(), "trace-123") {
		t.Errorf("bad key: %v", err)
	}
}

func TestRateLimitError(t *testing.T) {
	u := newUpstream(t)
	u.handle("POST /sauth/clients/password-reset/request", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		writeJSON(w, 429, map[string]any{"error": "Too Many Requests", "status": 429, "message": "slow down"})
	})
	err := newTestClient(t, u).Accounts.RequestPasswordReset(context.Background(), "a@b.c")
	var rl *RateLimitError
	if !IsRateLimited(err) || !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second || rl.StatusCode != 429 {
		t.Fatalf("err = %#v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "slow down" {
		t.Error("a RateLimitError must also be an *APIError")
	}
	if IsRateLimited(errors.New("x")) || IsNotFound(nil) {
		t.Error("helpers matched the wrong errors")
	}
}

// 429 is rate limiting; 502/503/504 with Retry-After are "busy, wait"; without it they are
// "unavailable". The status stays visible in every case.
func TestBackPressureClassification(t *testing.T) {
	tests := []struct {
		status          int
		retryAfter      string
		rateLimited     bool
		unavailable     bool
		wantRetryAfter  time.Duration
		wantMessagePart string
	}{
		{429, "", true, false, 0, "rate limited (too many requests)"},
		{429, "7", true, false, 7 * time.Second, "(wait 7 s)"},
		{503, "7", true, false, 7 * time.Second, "busy: "},
		{502, "1", true, false, time.Second, "busy: "},
		{504, "30", true, false, 30 * time.Second, "(wait 30 s)"},
		{503, "", false, true, 0, "503 Service Unavailable"},
		{502, "", false, true, 0, "502 Bad Gateway"},
		{504, "", false, true, 0, "504 Gateway Timeout"},
		{503, "soon", false, true, 0, "503"},
		{500, "", false, false, 0, "500"},
		{500, "7", false, false, 0, "500"},
	}
	for _, tt := range tests {
		u := newUpstream(t)
		u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
			if tt.retryAfter != "" {
				w.Header().Set("Retry-After", tt.retryAfter)
			}
			writeJSON(w, tt.status, map[string]any{"error": http.StatusText(tt.status), "status": tt.status, "message": "x"})
		})
		_, err := newTestClient(t, u, WithRetry(1, 0, 0)).Profiles.Get(context.Background(), 1)
		name := fmt.Sprintf("%d Retry-After %q", tt.status, tt.retryAfter)
		var rl *RateLimitError
		if IsRateLimited(err) != tt.rateLimited || IsUnavailable(err) != tt.unavailable || apiStatus(err) != tt.status {
			t.Errorf("%s: rate limited %v, unavailable %v, status %d: %v", name, IsRateLimited(err), IsUnavailable(err), apiStatus(err), err)
		}
		if errors.As(err, &rl) && (rl.RetryAfter != tt.wantRetryAfter || rl.StatusCode != tt.status) {
			t.Errorf("%s: RetryAfter %v, status %d", name, rl.RetryAfter, rl.StatusCode)
		}
		if !strings.Contains(err.Error(), tt.wantMessagePart) {
			t.Errorf("%s: %q lacks %q", name, err, tt.wantMessagePart)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"999999999", 24 * time.Hour, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%q: got %v %v, want %v %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestResponseBodies(t *testing.T) {
	u := newUpstream(t)
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"clientId":1,`) })
	u.handle("GET /v4/clients/2", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"clientId":2,"firstName":"`+strings.Repeat("a", 2<<20)+`"}`)
	})
	u.handle("GET /v4/clients/3", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	u.handle("GET /v4/clients/4", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, strings.Repeat("x", 2<<20))
	})
	c := newTestClient(t, u, WithMaxResponseSize(1<<20), WithRetry(1, 0, 0))
	ctx := context.Background()
	if _, err := c.Profiles.Get(ctx, 1); err == nil || !strings.Contains(err.Error(), "decode response") {
		t.Errorf("malformed JSON: %v", err)
	}
	if _, err := c.Profiles.Get(ctx, 2); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("huge body: %v", err)
	}
	if _, err := c.Profiles.Get(ctx, 3); err == nil || !strings.Contains(err.Error(), "empty body") {
		t.Errorf("empty 200: %v", err)
	}
	if _, err := c.Profiles.Get(ctx, 4); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("huge error body: %v", err)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	other := newUpstream(t)
	otherHits := 0
	other.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		otherHits++
		if r.Header.Get("Authorization") != "" {
			t.Error("token leaked to another host")
		}
	})
	u := newUpstream(t)
	u.handle("GET /v4/clients/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	_, err := newTestClient(t, u).Profiles.Get(context.Background(), 1)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 302 || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("err = %v", err)
	}
	if otherHits != 0 {
		t.Errorf("redirect followed %d times", otherHits)
	}
}

func TestNewClientValidates(t *testing.T) {
	for _, base := range []string{"", "api.synerise.com", "ftp://x", "https://x?y=1", "https://"} {
		if _, err := NewClient(base, "k"); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
	if _, err := NewClient("https://api.synerise.com", " "); err == nil {
		t.Error("empty key accepted")
	}
	for i, opt := range []Option{WithTimeout(0), WithRetry(0, 0, 0), WithRetry(3, 0, 0), WithMaxRetryWait(-1), WithBreaker(-1, time.Second), WithSettingsPath("x"),
		WithTransport(nil), WithHTTPClient(nil), WithClock(nil), WithMaxResponseSize(0)} {
		if _, err := NewClient("https://api.synerise.com", "k", opt); err == nil {
			t.Errorf("option %d accepted a bad value", i)
		}
	}
	c, err := NewClient("https://api.synerise.com/", "k", WithHTTPClient(&http.Client{}), WithUserAgent("x/1"))
	if err != nil || c.BreakerState() != "closed" {
		t.Fatal(err)
	}
}
