package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/auditsink"
	"github.com/raas-console/console/internal/config"
)

// startAuditShipper audits a changed sink configuration, then streams the audit log to the
// configured sinks in the background until stop is called (stop waits for the shipper to
// let go of its batch and the shipping lock). Every replica runs it; one ships at a time.
// status is for the Integrity page; its Status lists no sink when none is configured.
func startAuditShipper(ctx context.Context, sinks config.AuditSinks, pool *pgxpool.Pool, auditLog auditsink.Appender,
	reg prometheus.Registerer, logger *slog.Logger,
) (stop func(), status *auditsink.Shipper, err error) {
	described := auditsink.Described{SyslogAddr: sinks.SyslogAddr}
	if sinks.WebhookURL != "" {
		described.WebhookURL, described.WebhookFormat = sinks.WebhookURL, sinks.WebhookFormat
	}
	if err := auditsink.RecordConfig(ctx, pool, auditLog, described); err != nil {
		return nil, nil, fmt.Errorf("server: audit stream: %w", err)
	}
	built, err := buildSinks(sinks)
	if err != nil {
		return nil, nil, err
	}
	shipper, err := auditsink.New(pool, auditLog, built, auditsink.Options{
		BatchSize: sinks.BatchSize, BatchWait: sinks.BatchWait, Registerer: reg, Logger: logger,
	})
	if err != nil {
		closeSinks(built)
		return nil, nil, fmt.Errorf("server: audit stream: %w", err)
	}
	// The shipper outlives the start-up context: it stops when stop is called.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		shipper.Run(runCtx)
	}()
	if len(built) > 0 {
		logger.Info("audit stream on", "webhook", sinks.WebhookURL != "", "syslog", sinks.SyslogAddr)
	}
	return func() { cancel(); <-done; closeSinks(built) }, shipper, nil
}

// buildSinks makes the configured sinks; config.Load has checked the values.
func buildSinks(sinks config.AuditSinks) ([]auditsink.Sink, error) {
	if !sinks.Enabled() {
		return nil, nil
	}
	tlsConf, err := auditsink.TLSConfig(sinks.CAFile)
	if err != nil {
		return nil, fmt.Errorf("server: audit stream: %w", err)
	}
	var built []auditsink.Sink
	if sinks.WebhookURL != "" {
		w, err := auditsink.NewWebhook(auditsink.WebhookOptions{
			URL: sinks.WebhookURL, Secret: []byte(sinks.WebhookSecret), Format: sinks.WebhookFormat,
			SplunkToken: sinks.SplunkToken, TLS: tlsConf,
		})
		if err != nil {
			return nil, fmt.Errorf("server: audit stream: %w", err)
		}
		built = append(built, w)
	}
	if sinks.SyslogAddr != "" {
		conf := tlsConf.Clone()
		if sinks.SyslogCertFile != "" {
			cert, err := tls.LoadX509KeyPair(sinks.SyslogCertFile, sinks.SyslogKeyFile)
			if err != nil {
				closeSinks(built)
				return nil, fmt.Errorf("server: audit stream: syslog client certificate: %w", err)
			}
			conf.Certificates = []tls.Certificate{cert}
		}
		built = append(built, auditsink.NewSyslog(sinks.SyslogAddr, conf))
	}
	return built, nil
}

func closeSinks(sinks []auditsink.Sink) {
	for _, s := range sinks {
		_ = s.Close()
	}
}
