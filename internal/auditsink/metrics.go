package auditsink

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the stream's Prometheus collectors, labelled sink="webhook"|"syslog".
type metrics struct {
	errors    *prometheus.CounterVec
	lagEvents *prometheus.Desc
	lagSecs   *prometheus.Desc
	status    func(ctx context.Context) (Status, error)
}

func newMetrics(status func(ctx context.Context) (Status, error)) *metrics {
	return &metrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "console_audit_sink_errors_total", Help: "Failed deliveries to an audit sink (each retry counts).",
		}, []string{"sink"}),
		lagEvents: prometheus.NewDesc("console_audit_sink_lag_events",
			"Audit events not yet acknowledged by the sink.", []string{"sink"}, nil),
		lagSecs: prometheus.NewDesc("console_audit_sink_lag_seconds",
			"Age of the oldest audit event not yet acknowledged by the sink (0 when none waits).", []string{"sink"}, nil),
		status: status,
	}
}

// register adds the collectors to reg; the lag is read from the database at scrape time,
// so every replica reports it, not only the one shipping.
func (m *metrics) register(reg prometheus.Registerer) error {
	if err := reg.Register(m.errors); err != nil {
		return err
	}
	return reg.Register(m)
}

// Describe implements prometheus.Collector for the lag gauges.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.lagEvents
	ch <- m.lagSecs
}

// Collect implements prometheus.Collector: one status query per scrape. When it fails the
// gauges are left out of that scrape rather than reported wrong.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := m.status(ctx)
	if err != nil {
		return
	}
	for _, s := range st.Sinks {
		ch <- prometheus.MustNewConstMetric(m.lagEvents, prometheus.GaugeValue, float64(s.LagEvents), s.Name)
		ch <- prometheus.MustNewConstMetric(m.lagSecs, prometheus.GaugeValue, s.LagSeconds, s.Name)
	}
}
