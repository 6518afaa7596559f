// Package auditsink streams the audit log to a security team's SIEM: every event, in seq
// order, at least once, to each configured sink (an HTTPS webhook, syslog over TLS).
//
// One Shipper per console process; only the replica holding a PostgreSQL session-level
// advisory lock ships, each sink from its own cursor (table audit_sink_cursors) that moves
// only after the sink acknowledged a batch. Events travel as the lines of the NDJSON
// export (audit.Record: seq, time, …, prevHash, hash), so a receiver can prove with
// VerifyNDJSON that it holds every event, unchanged and in order.
package auditsink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Sink names.
const (
	NameWebhook = "webhook"
	NameSyslog  = "syslog"
)

// Batch is consecutive events, First through Last, each as its NDJSON export line
// (without the trailing newline), in seq order.
type Batch struct {
	First, Last int64
	Lines       [][]byte
}

// Sink delivers batches somewhere. A nil error from Deliver acknowledges the whole batch;
// any other error means nothing in it may be counted as delivered, except a *RewindError,
// which moves the shipper back further.
type Sink interface {
	// Name is "webhook" or "syslog": the cursor's key and the metrics' sink label.
	Name() string
	Deliver(ctx context.Context, b Batch) error
	Close() error
}

// RewindError is returned by a sink that has no acknowledgement (syslog) when its
// connection failed: everything from seq From on may be lost, so the shipper sends again
// from From, even events of batches Deliver already returned nil for.
type RewindError struct {
	From int64
	Err  error // why, for the log and the sink's last error
}

func (e *RewindError) Error() string {
	return fmt.Sprintf("auditsink: connection lost, resending from seq %d: %v", e.From, e.Err)
}

func (e *RewindError) Unwrap() error { return e.Err }

// TLSConfig is the client TLS configuration of both sinks: the system roots (which
// include SSL_CERT_FILE and SSL_CERT_DIR) plus, when caFile is set, the certificates of
// that PEM file, for a SIEM behind a private CA.
func TLSConfig(caFile string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool() // no system roots (a scratch image): the CA file alone
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("auditsink: read CA file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, errors.New("auditsink: CA file " + caFile + " holds no PEM certificate")
		}
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}
