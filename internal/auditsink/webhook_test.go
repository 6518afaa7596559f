package auditsink

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

func TestSplunkHECEnvelopesVerifyAndCarryTheToken(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 120)
	var badAuth atomic.Int64
	rc := newHookReceiver(t, receiverHooks{after: func(_ int64, r *http.Request) (int, bool) {
		if r.Header.Get("Authorization") != "Splunk hec-token" {
			badAuth.Add(1)
			return http.StatusForbidden, false
		}
		return http.StatusOK, true
	}})
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{Format: FormatSplunkHEC, SplunkToken: "hec-token"}), fastOptions(nil))
	start(t, s)
	h := waitCaughtUp(t, pool, NameWebhook)
	got := rc.received()
	checkReceived(t, got, h)
	if badAuth.Load() != 0 {
		t.Fatalf("%d requests without the Splunk token", badAuth.Load())
	}
	first, _, _ := bytes.Cut(got, []byte("\n"))
	var env struct {
		Time       float64         `json:"time"`
		Sourcetype string          `json:"sourcetype"`
		Source     string          `json:"source"`
		Event      json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(first, &env); err != nil {
		t.Fatal(err)
	}
	e, err := audit.NewStore(pool).Get(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := Line(e)
	if env.Sourcetype != "raas:console:audit" || env.Source != "raas-console" || !bytes.Equal(env.Event, line) ||
		int64(env.Time) != e.Time.Unix() {
		t.Fatalf("envelope %s, want the export line of seq 1 at %v", first, e.Time)
	}
}

func TestWebhookRefusesARedirect(t *testing.T) {
	rc := newHookReceiver(t, receiverHooks{before: func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, "https://elsewhere.example/", http.StatusTemporaryRedirect)
		return true
	}})
	err := rc.webhook(t, WebhookOptions{}).Deliver(context.Background(), Batch{First: 1, Last: 1, Lines: [][]byte{[]byte(`{}`)}})
	if err == nil || !strings.Contains(err.Error(), "307") || strings.Contains(err.Error(), "query-token") {
		t.Fatalf("redirect: %v", err)
	}
}

func TestWebhookErrorsNameNoURL(t *testing.T) {
	rc := newHookReceiver(t, receiverHooks{})
	w := rc.webhook(t, WebhookOptions{})
	rc.srv.Close()
	err := w.Deliver(context.Background(), Batch{First: 1, Last: 1, Lines: [][]byte{[]byte(`{}`)}})
	if err == nil || strings.Contains(err.Error(), "query-token") || strings.Contains(err.Error(), rc.srv.URL) {
		t.Fatalf("error = %v", err)
	}
}

func TestNewWebhookRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]WebhookOptions{
		"no secret":      {URL: "https://siem.example/in"},
		"malformed URL":  {URL: "::", Secret: []byte("s")},
		"unknown format": {URL: "https://siem.example/in", Secret: []byte("s"), Format: "gelf"},
	} {
		if _, err := NewWebhook(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTLSConfigRefusesAFileWithoutCertificates(t *testing.T) {
	if _, err := TLSConfig("/nonexistent/ca.pem"); err == nil {
		t.Error("missing CA file accepted")
	}
	if _, err := TLSConfig(newHookReceiver(t, receiverHooks{}).caFile); err != nil {
		t.Error(err)
	}
}

func TestStatusAndMetricsShowTheLag(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 80)
	rc := newHookReceiver(t, receiverHooks{})
	reg := prometheus.NewRegistry()
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(reg))
	st, err := s.Status(context.Background())
	if err != nil || len(st.Sinks) != 1 || st.Sinks[0].LagEvents != 80 || st.Sinks[0].LagSeconds <= 0 || st.ShippingHere {
		t.Fatalf("before shipping: %+v (%v)", st, err)
	}
	if lag := gauge(t, reg, "console_audit_sink_lag_events"); lag != 80 {
		t.Fatalf("lag_events = %v, want 80", lag)
	}
	start(t, s)
	waitCaughtUp(t, pool, NameWebhook)
	st, err = s.Status(context.Background())
	if err != nil || st.Sinks[0].LagEvents != 0 || st.Sinks[0].LagSeconds != 0 || !st.ShippingHere || !st.ShippingAnywhere {
		t.Fatalf("caught up: %+v (%v)", st, err)
	}
	if lag := gauge(t, reg, "console_audit_sink_lag_seconds"); lag != 0 {
		t.Fatalf("lag_seconds = %v, want 0", lag)
	}
}

// gauge is the webhook's value of the gauge name on reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == NameWebhook {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{sink=webhook}", name)
	return 0
}

func TestRecordConfigAuditsChangesOnceAndNoSecret(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	store := audit.NewStore(pool)
	count := func() (n int) {
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE action = 'audit.sink_config'").Scan(&n)
		return n
	}
	if err := RecordConfig(ctx, pool, store, Described{}); err != nil || count() != 0 {
		t.Fatalf("nothing configured: %v, %d events", err, count())
	}
	first := Described{WebhookURL: "https://user:pw@siem.example/in?token=abc123", WebhookFormat: FormatNDJSON}
	for range 2 {
		if err := RecordConfig(ctx, pool, store, first); err != nil {
			t.Fatal(err)
		}
	}
	if count() != 1 {
		t.Fatalf("%d config events after starting twice with one configuration", count())
	}
	second := first
	second.SyslogAddr = "siem.example:6514"
	if err := RecordConfig(ctx, pool, store, second); err != nil || count() != 2 {
		t.Fatalf("changed: %v, %d events", err, count())
	}
	var before, after string
	if err := pool.QueryRow(ctx, `SELECT before::text, after::text FROM audit_events
		WHERE action = 'audit.sink_config' ORDER BY seq DESC LIMIT 1`).Scan(&before, &after); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(after, "siem.example:6514") || strings.Contains(before, "6514") ||
		strings.Contains(before+after, "abc123") || strings.Contains(before+after, "pw@") {
		t.Fatalf("before %s after %s", before, after)
	}
}
