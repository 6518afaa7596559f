package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestExecutedCountsOnlyHandledRequests(t *testing.T) {
	h := newHarness(t, Options{})
	path := "/v4/clients/4812300001"
	wantStatus(t, h.post(path, `{"city":"Gdańsk"}`), 202)
	wantStatus(t, h.post(path, `{"phone":"call me"}`), 400) // handled, refused for its content

	h.sim.SetFault(RouteProfileUpdate, Fault{ErrorRate: 1, ErrorStatus: 503})
	wantStatus(t, h.post(path, `{"city":"Sopot"}`), 503)
	h.sim.ClearFaults()

	old := h.token
	h.sim.RevokeTokens()
	wantStatus(t, h.post(path, `{"city":"Sopot"}`), 401)
	h.token = h.login(DefaultAPIKey)
	wantStatus(t, h.post(path, `{"city":"Sopot"}`), 202)
	h.token = old

	if n := h.sim.RequestCount(RouteProfileUpdate); n != 5 {
		t.Fatalf("profiles.update requests %d, want 5", n)
	}
	if n := h.sim.ExecutedCount(RouteProfileUpdate); n != 3 {
		t.Fatalf("profiles.update executed %d, want 3 (two accepted, one refused for its content)", n)
	}
	if n := h.sim.ExecutedCount(RouteLogin); n != 2 {
		t.Fatalf("auth.login executed %d, want 2", n)
	}

	if got := h.sim.TokenRejections(); got[TokenInvalid] != 1 || got[TokenExpired] != 0 {
		t.Fatalf("token rejections %v, want one invalid", got)
	}
	h.token = h.login(DefaultAPIKey)
	var executed map[string]int
	h.get("/_simulator/executed").decode(t, &executed)
	if executed[RouteProfileUpdate] != 3 || executed[RouteLogin] != 3 {
		t.Fatalf("GET /_simulator/executed: %v", executed)
	}
	wantStatus(t, h.do(http.MethodDelete, "/_simulator/requests", "", nil), 204)
	if n := h.sim.ExecutedCount(RouteProfileUpdate); n != 0 {
		t.Fatalf("executed %d after reset", n)
	}
}

func TestExecutedLeavesOutDroppedRequests(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.SetFault(RouteProfileUpdate, Fault{DropRate: 1})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v4/clients/4812300001", strings.NewReader(`{"city":"Sopot"}`))
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	if res, err := h.srv.Client().Do(req); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		t.Fatalf("dropped connection answered %d", res.StatusCode)
	}
	if r, e := h.sim.RequestCount(RouteProfileUpdate), h.sim.ExecutedCount(RouteProfileUpdate); r != 1 || e != 0 {
		t.Fatalf("requests %d executed %d, want 1 and 0", r, e)
	}
}

// One fault entry may carry a drop rate and an error rate together: a request is dropped
// first, else may get the error, else is handled.
func TestFaultDropAndErrorTogether(t *testing.T) {
	h := newHarness(t, Options{Seed: 3})
	wantStatus(t, h.post("/_simulator/faults", `{"route":"*","errorRate":0.3,"errorStatus":503,"dropRate":0.3}`), 200)
	dropped, failed, ok := 0, 0, 0
	for range 100 {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v4/clients/4812300001", nil)
		req.Header.Set("Authorization", "Bearer "+h.token)
		res, err := h.srv.Client().Do(req)
		if err != nil {
			dropped++
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch res.StatusCode {
		case 503:
			failed++
			if res.Header.Get("Retry-After") != "" {
				t.Fatalf("503 without retryAfterSeconds carries Retry-After %q", res.Header.Get("Retry-After"))
			}
		case 200:
			ok++
		default:
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if dropped < 10 || failed < 10 || ok < 30 {
		t.Fatalf("dropped %d, 503 %d, ok %d of 100", dropped, failed, ok)
	}
	if n := h.sim.ExecutedCount(RouteProfileGet); n != ok {
		t.Fatalf("executed %d, answered 200 %d", n, ok)
	}
}

func TestMainPrintsCountsAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"-addr", "127.0.0.1:0", "-customers", "50"}, &stdout, &stderr) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Main: %v (%s)", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last, ok := strings.CutPrefix(lines[len(lines)-1], ShutdownCountsPrefix)
	if !ok {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	var counts ShutdownCounts
	if err := json.Unmarshal([]byte(last), &counts); err != nil {
		t.Fatal(err)
	}
	if _, ok := counts.Executed[RouteProfileUpdate]; !ok {
		t.Fatalf("counts %+v", counts)
	}
}
