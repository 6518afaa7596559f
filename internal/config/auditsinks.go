package config

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// AuditSinks is where the audit log is streamed (internal/auditsink). Both sinks are off
// when their address is empty.
type AuditSinks struct {
	// WebhookURL receives signed NDJSON batches (CONSOLE_AUDIT_WEBHOOK_URL); https, or
	// http on loopback only.
	WebhookURL string
	// WebhookSecret is the HMAC-SHA256 key of X-Console-Signature, its bytes as given
	// (CONSOLE_AUDIT_WEBHOOK_SECRET). Never logged or stored.
	WebhookSecret string
	// WebhookFormat is "ndjson" (default) or "splunk-hec" (CONSOLE_AUDIT_WEBHOOK_FORMAT).
	WebhookFormat string
	// SplunkToken is sent as "Authorization: Splunk <token>" (CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN).
	SplunkToken string
	// SyslogAddr is the host:port of a syslog receiver over TLS (CONSOLE_AUDIT_SYSLOG_ADDR).
	SyslogAddr string
	// SyslogCertFile and SyslogKeyFile are the client certificate for syslog, PEM.
	SyslogCertFile, SyslogKeyFile string
	// CAFile adds a private CA (PEM) to the system roots for both sinks (CONSOLE_AUDIT_SINK_CA_FILE).
	CAFile string
	// BatchSize and BatchWait bound a batch: up to BatchSize events, or what arrived
	// within BatchWait (CONSOLE_AUDIT_SINK_BATCH_SIZE, CONSOLE_AUDIT_SINK_BATCH_WAIT).
	BatchSize int
	BatchWait time.Duration
}

// Enabled reports whether any sink is configured.
func (a AuditSinks) Enabled() bool { return a.WebhookURL != "" || a.SyslogAddr != "" }

// minWebhookSecret is the shortest HMAC key accepted, in bytes.
const minWebhookSecret = 16

// auditSinkVariables document the variables auditSinks reads.
func auditSinkVariables() []Variable {
	return []Variable{
		{"CONSOLE_AUDIT_WEBHOOK_URL", "(unset: webhook off)", "HTTPS endpoint receiving the audit log as signed NDJSON batches (http only for localhost)"},
		{"CONSOLE_AUDIT_WEBHOOK_SECRET", "(required with CONSOLE_AUDIT_WEBHOOK_URL)", "at least 16 bytes; key of the X-Console-Signature HMAC-SHA256, used as given"},
		{"CONSOLE_AUDIT_WEBHOOK_FORMAT", "ndjson", "ndjson (also Elastic's HTTP/NDJSON inputs) or splunk-hec (one HEC event envelope per line)"},
		{"CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN", "(unset)", "sent as `Authorization: Splunk <token>` (splunk-hec format)"},
		{"CONSOLE_AUDIT_SYSLOG_ADDR", "(unset: syslog off)", "host:port of an RFC 5425 syslog receiver (TLS)"},
		{"CONSOLE_AUDIT_SYSLOG_CERT_FILE", "(unset)", "client certificate (PEM) for syslog; needs CONSOLE_AUDIT_SYSLOG_KEY_FILE"},
		{"CONSOLE_AUDIT_SYSLOG_KEY_FILE", "(unset)", "the client certificate's private key (PEM)"},
		{"CONSOLE_AUDIT_SINK_CA_FILE", "(unset: system roots and SSL_CERT_FILE)", "PEM file of a private CA trusted by both sinks, besides the system roots"},
		{"CONSOLE_AUDIT_SINK_BATCH_SIZE", "500", "events per batch at most"},
		{"CONSOLE_AUDIT_SINK_BATCH_WAIT", "1s", "how long a batch that is not full waits for more events"},
	}
}

func (r *envReader) auditSinks() AuditSinks {
	a := AuditSinks{
		WebhookURL:     r.get("CONSOLE_AUDIT_WEBHOOK_URL", ""),
		WebhookSecret:  r.getenv("CONSOLE_AUDIT_WEBHOOK_SECRET"),
		WebhookFormat:  r.get("CONSOLE_AUDIT_WEBHOOK_FORMAT", "ndjson"),
		SplunkToken:    r.get("CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN", ""),
		SyslogAddr:     r.get("CONSOLE_AUDIT_SYSLOG_ADDR", ""),
		SyslogCertFile: r.get("CONSOLE_AUDIT_SYSLOG_CERT_FILE", ""),
		SyslogKeyFile:  r.get("CONSOLE_AUDIT_SYSLOG_KEY_FILE", ""),
		CAFile:         r.get("CONSOLE_AUDIT_SINK_CA_FILE", ""),
		BatchWait:      r.duration("CONSOLE_AUDIT_SINK_BATCH_WAIT", "1s", 10*time.Millisecond),
		BatchSize:      r.batchSize(),
	}
	r.checkWebhook(a)
	r.checkSyslog(a)
	r.checkCAFile(a.CAFile)
	return a
}

func (r *envReader) batchSize() int {
	v := r.get("CONSOLE_AUDIT_SINK_BATCH_SIZE", "500")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		r.bad("CONSOLE_AUDIT_SINK_BATCH_SIZE", "want a number of events from 1 to 10000, got %q", v)
		return 500
	}
	return n
}

func (r *envReader) checkWebhook(a AuditSinks) {
	if a.WebhookURL == "" {
		if a.WebhookSecret != "" {
			r.bad("CONSOLE_AUDIT_WEBHOOK_SECRET", "set without CONSOLE_AUDIT_WEBHOOK_URL")
		}
		return
	}
	u, err := url.Parse(a.WebhookURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		r.bad("CONSOLE_AUDIT_WEBHOOK_URL", "want an absolute https URL such as https://siem.example.com/ingest")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		r.bad("CONSOLE_AUDIT_WEBHOOK_URL", "must use https (http only for localhost)")
	case u.User != nil:
		r.bad("CONSOLE_AUDIT_WEBHOOK_URL", "must not carry a user or password; the batches are signed with CONSOLE_AUDIT_WEBHOOK_SECRET")
	}
	switch {
	case a.WebhookSecret == "":
		r.bad("CONSOLE_AUDIT_WEBHOOK_SECRET", "required with CONSOLE_AUDIT_WEBHOOK_URL: every batch is signed with it (e.g. `openssl rand -hex 32`)")
	case len(a.WebhookSecret) < minWebhookSecret:
		r.bad("CONSOLE_AUDIT_WEBHOOK_SECRET", "want at least %d bytes, got %d", minWebhookSecret, len(a.WebhookSecret))
	}
	switch a.WebhookFormat {
	case "ndjson":
		if a.SplunkToken != "" {
			r.bad("CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN", "set, but CONSOLE_AUDIT_WEBHOOK_FORMAT is not splunk-hec")
		}
	case "splunk-hec":
	default:
		r.bad("CONSOLE_AUDIT_WEBHOOK_FORMAT", "want ndjson or splunk-hec, got %q", a.WebhookFormat)
	}
}

func (r *envReader) checkSyslog(a AuditSinks) {
	if a.SyslogAddr != "" {
		host, port, err := net.SplitHostPort(a.SyslogAddr)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			r.bad("CONSOLE_AUDIT_SYSLOG_ADDR", "want host:port such as siem.example.com:6514, got %q", a.SyslogAddr)
		}
	}
	switch {
	case a.SyslogCertFile == "" && a.SyslogKeyFile == "":
	case a.SyslogCertFile == "" || a.SyslogKeyFile == "":
		r.bad("CONSOLE_AUDIT_SYSLOG_CERT_FILE", "the client certificate and CONSOLE_AUDIT_SYSLOG_KEY_FILE go together: set both or neither")
	case a.SyslogAddr == "":
		r.bad("CONSOLE_AUDIT_SYSLOG_CERT_FILE", "set without CONSOLE_AUDIT_SYSLOG_ADDR")
	default:
		if _, err := tls.LoadX509KeyPair(a.SyslogCertFile, a.SyslogKeyFile); err != nil {
			r.bad("CONSOLE_AUDIT_SYSLOG_CERT_FILE", "cannot load the certificate and key: %v", err)
		}
	}
}

func (r *envReader) checkCAFile(path string) {
	if path == "" {
		return
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		r.bad("CONSOLE_AUDIT_SINK_CA_FILE", "cannot read: %v", err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		r.bad("CONSOLE_AUDIT_SINK_CA_FILE", "%s holds no PEM certificate", path)
	}
}
