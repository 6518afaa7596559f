package simulator

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestFaultRateLimit(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.SetFault(RouteProfileGet, Fault{RateLimitRate: 1, RetryAfter: 3 * time.Second})
	r := h.get("/v4/clients/4812300001")
	wantStatus(t, r, 429)
	if r.header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	r.profileErr(t)
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200) // other routes untouched
	if n := h.sim.RequestCount(RouteProfileGet); n != 1 {
		t.Fatalf("profiles.get count %d", n)
	}
	h.sim.ClearFaults()
	wantStatus(t, h.get("/v4/clients/4812300001"), 200)
}

func TestFaultErrorRateIsSeededAndPartial(t *testing.T) {
	run := func() []int {
		h := newHarness(t, Options{Seed: 7})
		h.sim.SetFault(AllRoutes, Fault{ErrorRate: 0.5, ErrorStatus: 503})
		var got []int
		for range 40 {
			got = append(got, h.get("/v4/clients/4812300001").status)
		}
		return got
	}
	a, b := run(), run()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different fault decisions: %v vs %v", a, b)
		}
		if a[i] == 503 {
			fails++
		}
	}
	if fails < 8 || fails > 32 {
		t.Fatalf("%d of 40 failed at rate 0.5", fails)
	}
}

func TestFaultLoginUsesIAMShape(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.SetFault(RouteLogin, Fault{ErrorRate: 1, ErrorStatus: 502})
	r := h.do(http.MethodPost, "/uauth/v2/auth/login/profile", `{"apiKey":"`+DefaultAPIKey+`"}`, map[string]string{"Authorization": ""})
	wantStatus(t, r, 502)
	var e iamError
	r.decode(t, &e)
	if e.TraceID == "" || e.ErrorCode == "" {
		t.Fatalf("IAM shape expected: %s", r.body)
	}
}

func TestFaultLatency(t *testing.T) {
	h := newHarness(t, Options{Latency: 20 * time.Millisecond})
	h.sim.SetFault(RouteSettingsGet, Fault{Latency: 60 * time.Millisecond})
	start := time.Now()
	wantStatus(t, h.get("/sauth/settings/general"), 200)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("took %s, want at least 80ms", d)
	}
	start = time.Now()
	wantStatus(t, h.get("/v4/clients?pageSize=1"), 200)
	if d := time.Since(start); d < 20*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("base latency only: took %s", d)
	}
}

func TestFaultDroppedConnection(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.SetFault(RouteProfileUpdate, Fault{DropRate: 1})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v4/clients/4812300001", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	res, err := h.srv.Client().Do(req)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		t.Fatalf("dropped connection answered %d", res.StatusCode)
	}
	if n := h.sim.RequestCount(RouteProfileUpdate); n != 1 {
		t.Fatalf("count %d, want exactly 1", n)
	}
}

func TestAdminFaultsEndpoint(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.post("/_simulator/faults", `{"route":"settings.set","rateLimitRate":1,"retryAfterSeconds":5}`)
	wantStatus(t, r, 200)
	r = h.post("/sauth/settings/general", `{}`)
	wantStatus(t, r, 429)
	if r.header.Get("Retry-After") != "5" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	var list []faultWire
	h.get("/_simulator/faults").decode(t, &list)
	if len(list) != 1 || list[0].Route != "settings.set" {
		t.Fatalf("faults %+v", list)
	}
	wantStatus(t, h.post("/_simulator/faults", `{"route":"settings.set","clear":true}`), 200)
	wantStatus(t, h.post("/sauth/settings/general", `{}`), 200)
	wantStatus(t, h.post("/_simulator/faults", `{"route":"x","errorRate":2}`), 400)
	wantStatus(t, h.post("/_simulator/faults", `{"route":"x","bogus":1}`), 400)
	wantStatus(t, h.post("/_simulator/faults", `{"errorRate":1}`), 400)
	wantStatus(t, h.do(http.MethodDelete, "/_simulator/faults", "", nil), 204)

	var counts map[string]int
	h.get("/_simulator/requests").decode(t, &counts)
	if counts[RouteSettingsSet] != 2 || counts[RouteLogin] != 1 {
		t.Fatalf("counts %v", counts)
	}
}

func TestFaultsFromOptions(t *testing.T) {
	h := newHarness(t, Options{Faults: map[string]Fault{RouteProfileList: {ErrorRate: 1, ErrorStatus: 500}}})
	wantStatus(t, h.get("/v4/clients"), 500)
}

func TestFaultRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  int
		after string // Retry-After wanted; "" means none
	}{
		{"503 with retry-after", Fault{ErrorRate: 1, ErrorStatus: 503, RetryAfter: 4 * time.Second}, 503, "4"},
		{"502 with retry-after", Fault{ErrorRate: 1, ErrorStatus: 502, RetryAfter: 2 * time.Second}, 502, "2"},
		{"504 with retry-after", Fault{ErrorRate: 1, ErrorStatus: 504, RetryAfter: 30 * time.Second}, 504, "30"},
		{"503 without retry-after", Fault{ErrorRate: 1, ErrorStatus: 503}, 503, ""},
		{"500 never has one", Fault{ErrorRate: 1, ErrorStatus: 500, RetryAfter: 3 * time.Second}, 500, ""},
		{"429 defaults to 1 s", Fault{RateLimitRate: 1}, 429, "1"},
		{"429 with retry-after", Fault{RateLimitRate: 1, RetryAfter: 9 * time.Second}, 429, "9"},
		{"503 as an HTTP date", Fault{ErrorRate: 1, ErrorStatus: 503, RetryAfter: 5 * time.Second, RetryAfterHTTPDate: true},
			503, "Tue, 01 Jul 2025 12:00:05 GMT"},
		{"429 as an HTTP date, 1 s by default", Fault{RateLimitRate: 1, RetryAfterHTTPDate: true}, 429, "Tue, 01 Jul 2025 12:00:01 GMT"},
		{"503 HTTP date without seconds: none", Fault{ErrorRate: 1, ErrorStatus: 503, RetryAfterHTTPDate: true}, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.sim.SetFault(RouteProfileGet, tt.fault)
			r := h.get("/v4/clients/4812300001")
			wantStatus(t, r, tt.want)
			r.profileErr(t)
			got, present := r.header["Retry-After"]
			if tt.after == "" {
				if present {
					t.Fatalf("Retry-After %q sent", got)
				}
				return
			}
			if r.header.Get("Retry-After") != tt.after {
				t.Fatalf("Retry-After %q, want %q", r.header.Get("Retry-After"), tt.after)
			}
		})
	}
	t.Run("HTTP date rounds up", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.clock.Advance(300 * time.Millisecond)
		h.sim.SetFault(RouteProfileGet, Fault{ErrorRate: 1, ErrorStatus: 503, RetryAfter: 5 * time.Second, RetryAfterHTTPDate: true})
		r := h.get("/v4/clients/4812300001")
		at, err := http.ParseTime(r.header.Get("Retry-After"))
		if err != nil || at.Before(h.clock.Now().Add(5*time.Second)) || at.After(h.clock.Now().Add(6*time.Second)) {
			t.Fatalf("Retry-After %q (now %s): %v", r.header.Get("Retry-After"), h.clock.Now(), err)
		}
	})
}

func TestAdminFaultRetryAfterHTTPDate(t *testing.T) {
	h := newHarness(t, Options{})
	wantStatus(t, h.post("/_simulator/faults",
		`{"route":"profiles.get","errorRate":1,"errorStatus":503,"retryAfterSeconds":7,"retryAfterHttpDate":true}`), 200)
	var list []faultWire
	h.get("/_simulator/faults").decode(t, &list)
	if len(list) != 1 || !list[0].RetryAfterHTTPDate || list[0].RetryAfterSeconds != 7 || list[0].ErrorStatus != 503 {
		t.Fatalf("faults %+v", list)
	}
	r := h.get("/v4/clients/4812300001")
	wantStatus(t, r, 503)
	if r.header.Get("Retry-After") != "Tue, 01 Jul 2025 12:00:07 GMT" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}
