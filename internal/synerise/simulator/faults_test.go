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
