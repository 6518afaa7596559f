// Package metrics exposes the console's Prometheus metrics: HTTP requests by route and
// status, Synerise calls by operation and status, the circuit breaker, audit appends,
// pending intents, sign-in failures and lockouts (as audit events), and active sessions.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/raas-console/console/internal/audit"
)

// Metrics holds the console's collectors on its own registry.
type Metrics struct {
	reg          *prometheus.Registry
	httpRequests *prometheus.HistogramVec
	syneriseCall *prometheus.HistogramVec
	auditEvents  *prometheus.CounterVec
	auditAppend  *prometheus.HistogramVec
}

// New registers the collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "console_http_request_duration_seconds", Help: "HTTP requests by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		syneriseCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "console_synerise_call_duration_seconds", Help: "Synerise API calls by operation and status (0 = no answer).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "status"}),
		auditEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "console_audit_events_total", Help: "Audit events written, by action and outcome (auth.signin_failed and auth.lockout count sign-in failures and lockouts).",
		}, []string{"action", "outcome"}),
		auditAppend: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "console_audit_append_duration_seconds", Help: "Latency of audit appends by kind (append, intent, outcome) and result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.httpRequests, m.syneriseCall, m.auditEvents, m.auditAppend)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// ObserveCall records one Synerise call; it makes Metrics a synerise.Observer.
func (m *Metrics) ObserveCall(operation string, status int, d time.Duration, _ error) {
	m.syneriseCall.WithLabelValues(operation, strconv.Itoa(status)).Observe(d.Seconds())
}

// Gauges registers gauges read at scrape time.
type Gauges struct {
	// BreakerState is "closed", "half-open" or "open".
	BreakerState func() string
	// PendingIntents counts intents without an outcome.
	PendingIntents func(ctx context.Context) (int64, error)
	// ActiveSessions counts sessions that have not ended.
	ActiveSessions func(ctx context.Context) (int64, error)
}

// RegisterGauges adds the scrape-time gauges.
func (m *Metrics) RegisterGauges(g Gauges) {
	if g.BreakerState != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "console_synerise_circuit_state", Help: "Synerise circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, func() float64 {
			switch g.BreakerState() {
			case "open":
				return 2
			case "half-open":
				return 1
			}
			return 0
		}))
	}
	count := func(name, help string, f func(context.Context) (int64, error)) {
		if f == nil {
			return
		}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := f(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	count("console_audit_pending_intents", "Audit intents still waiting for their outcome (-1: unknown).", g.PendingIntents)
	count("console_sessions_active", "Operator sessions that have not ended (-1: unknown).", g.ActiveSessions)
}

// auditWriter is the part of the audit store that writes.
type auditWriter interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
	Intent(ctx context.Context, e audit.Event) (audit.Event, error)
	Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error)
	OutcomeLater(intent audit.Event, o audit.Outcome, change func(*audit.Event), done func(audit.Event, error)) error
}

// AuditLog counts and times every write to the audit log; reads pass straight through
// (it embeds the store, so everything else the store offers stays available).
type AuditLog struct {
	*audit.Store
	m *Metrics
}

// WrapAudit returns the store with its writes measured.
func (m *Metrics) WrapAudit(s *audit.Store) *AuditLog { return &AuditLog{Store: s, m: m} }

// Append records a one-phase event.
func (a *AuditLog) Append(ctx context.Context, e audit.Event) (audit.Event, error) {
	start := time.Now()
	out, err := a.Store.Append(ctx, e)
	a.observe("append", e.Action, e.Outcome, start, err)
	return out, err
}

// Intent records an intent.
func (a *AuditLog) Intent(ctx context.Context, e audit.Event) (audit.Event, error) {
	start := time.Now()
	out, err := a.Store.Intent(ctx, e)
	a.observe("intent", e.Action, audit.OutcomePending, start, err)
	return out, err
}

// Outcome records an intent's outcome.
func (a *AuditLog) Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error) {
	start := time.Now()
	out, err := a.Store.Outcome(ctx, intent, o, change)
	a.observe("outcome", intent.Action, o, start, err)
	return out, err
}

// OutcomeLater queues an intent's outcome; it is measured when its write ends.
func (a *AuditLog) OutcomeLater(intent audit.Event, o audit.Outcome, change func(*audit.Event), done func(audit.Event, error)) error {
	start := time.Now()
	return a.Store.OutcomeLater(intent, o, change, func(e audit.Event, err error) {
		a.observe("outcome", intent.Action, o, start, err)
		if done != nil {
			done(e, err)
		}
	})
}

func (a *AuditLog) observe(kind string, action audit.Action, o audit.Outcome, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	} else {
		a.m.auditEvents.WithLabelValues(string(action), string(o)).Inc()
	}
	a.m.auditAppend.WithLabelValues(kind, result).Observe(time.Since(start).Seconds())
}

var _ auditWriter = (*AuditLog)(nil)

// Registerer is the console's registry, for collectors that live in other packages.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }
