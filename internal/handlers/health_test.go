package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
)

func TestMetricsNeedTheToken(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, func(d *handlers.Deps) { d.Metrics = m; d.MetricsToken = "scrape-secret-token" })
	b, _ := e.signedIn(operators.RoleAdmin) // signed in is not enough either
	for name, h := range map[string]http.Header{
		"no token":    nil,
		"wrong token": {"Authorization": {"Bearer nope"}},
	} {
		res := b.do(http.MethodGet, "/metrics", nil, h)
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(body(res), "console_") {
			t.Fatalf("%s: %d, want 401 without metrics", name, res.StatusCode)
		}
	}
	res := e.browser().do(http.MethodGet, "/metrics", nil, http.Header{"Authorization": {"Bearer scrape-secret-token"}})
	text := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(text, `console_http_request_duration_seconds_count{method="POST",route="/login",status="303"}`) {
		t.Fatalf("metrics with token: %d\n%.2000s", res.StatusCode, text)
	}
}

func TestMetricsNotServedWithoutToken(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.Metrics = metrics.New() })
	res := e.browser().get("/metrics")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("anonymous /metrics without a configured token: %d, want 404", res.StatusCode)
	}
}

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t)
	if res := e.browser().get("/healthz"); res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", res.StatusCode)
	}
	res := e.browser().get("/readyz")
	if res.StatusCode != http.StatusOK || !strings.Contains(body(res), "database: ok") {
		t.Fatalf("/readyz: %d %s", res.StatusCode, body(res))
	}
	e.pool.Close()
	if res := e.browser().get("/readyz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database gone: %d, want 503", res.StatusCode)
	}
}
