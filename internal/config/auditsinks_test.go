package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readAuditSinks reads the audit sink variables from m and returns what is wrong, joined.
func readAuditSinks(m map[string]string) (AuditSinks, string) {
	r := &envReader{getenv: env(m)}
	a := r.auditSinks()
	return a, strings.Join(r.problems, "\n")
}

// certFiles writes a self-signed certificate and its key as PEM files.
func certFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "console"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func TestAuditSinksDefaultsAndAFullConfiguration(t *testing.T) {
	a, problems := readAuditSinks(nil)
	if problems != "" || a.Enabled() || a.WebhookFormat != "ndjson" || a.BatchSize != 500 || a.BatchWait != time.Second {
		t.Fatalf("defaults: %+v %s", a, problems)
	}
	cert, key := certFiles(t)
	a, problems = readAuditSinks(map[string]string{
		"CONSOLE_AUDIT_WEBHOOK_URL": "https://siem.example.com/ingest", "CONSOLE_AUDIT_WEBHOOK_SECRET": strings.Repeat("s", 32),
		"CONSOLE_AUDIT_WEBHOOK_FORMAT": "splunk-hec", "CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN": "tok",
		"CONSOLE_AUDIT_SYSLOG_ADDR": "siem.example.com:6514", "CONSOLE_AUDIT_SYSLOG_CERT_FILE": cert, "CONSOLE_AUDIT_SYSLOG_KEY_FILE": key,
		"CONSOLE_AUDIT_SINK_CA_FILE": cert, "CONSOLE_AUDIT_SINK_BATCH_SIZE": "1000", "CONSOLE_AUDIT_SINK_BATCH_WAIT": "250ms",
	})
	if problems != "" || !a.Enabled() || a.BatchSize != 1000 || a.BatchWait != 250*time.Millisecond || a.SplunkToken != "tok" {
		t.Fatalf("full: %+v %s", a, problems)
	}
	if _, problems := readAuditSinks(map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "http://127.0.0.1:9000/in",
		"CONSOLE_AUDIT_WEBHOOK_SECRET": strings.Repeat("s", 16)}); problems != "" {
		t.Fatalf("http on loopback refused: %s", problems)
	}
}

func TestAuditSinksRejectBadValues(t *testing.T) {
	cert, key := certFiles(t)
	secret := strings.Repeat("s", 32)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"malformed URL", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "siem.example.com/ingest", "CONSOLE_AUDIT_WEBHOOK_SECRET": secret}, "CONSOLE_AUDIT_WEBHOOK_URL: want an absolute https URL"},
		{"http elsewhere", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "http://siem.example.com/in", "CONSOLE_AUDIT_WEBHOOK_SECRET": secret}, "must use https"},
		{"credentials in URL", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "https://u:p@siem.example.com/in", "CONSOLE_AUDIT_WEBHOOK_SECRET": secret}, "must not carry a user"},
		{"no secret", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "https://siem.example.com/in"}, "CONSOLE_AUDIT_WEBHOOK_SECRET: required"},
		{"short secret", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "https://siem.example.com/in", "CONSOLE_AUDIT_WEBHOOK_SECRET": "short"}, "at least 16 bytes"},
		{"secret alone", map[string]string{"CONSOLE_AUDIT_WEBHOOK_SECRET": secret}, "set without CONSOLE_AUDIT_WEBHOOK_URL"},
		{"unknown format", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "https://siem.example.com/in", "CONSOLE_AUDIT_WEBHOOK_SECRET": secret, "CONSOLE_AUDIT_WEBHOOK_FORMAT": "gelf"}, "want ndjson or splunk-hec"},
		{"token without splunk", map[string]string{"CONSOLE_AUDIT_WEBHOOK_URL": "https://siem.example.com/in", "CONSOLE_AUDIT_WEBHOOK_SECRET": secret, "CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN": "t"}, "not splunk-hec"},
		{"syslog without port", map[string]string{"CONSOLE_AUDIT_SYSLOG_ADDR": "siem.example.com"}, "CONSOLE_AUDIT_SYSLOG_ADDR: want host:port"},
		{"syslog bad port", map[string]string{"CONSOLE_AUDIT_SYSLOG_ADDR": "siem.example.com:syslog"}, "CONSOLE_AUDIT_SYSLOG_ADDR: want host:port"},
		{"cert without key", map[string]string{"CONSOLE_AUDIT_SYSLOG_ADDR": "siem:6514", "CONSOLE_AUDIT_SYSLOG_CERT_FILE": cert}, "set both or neither"},
		{"key that is not the cert's", map[string]string{"CONSOLE_AUDIT_SYSLOG_ADDR": "siem:6514", "CONSOLE_AUDIT_SYSLOG_CERT_FILE": cert, "CONSOLE_AUDIT_SYSLOG_KEY_FILE": cert}, "cannot load"},
		{"cert without syslog", map[string]string{"CONSOLE_AUDIT_SYSLOG_CERT_FILE": cert, "CONSOLE_AUDIT_SYSLOG_KEY_FILE": key}, "set without CONSOLE_AUDIT_SYSLOG_ADDR"},
		{"unreadable CA file", map[string]string{"CONSOLE_AUDIT_SINK_CA_FILE": "/nonexistent/ca.pem"}, "CONSOLE_AUDIT_SINK_CA_FILE: cannot read"},
		{"CA file without certificates", map[string]string{"CONSOLE_AUDIT_SINK_CA_FILE": key}, "holds no PEM certificate"},
		{"batch size", map[string]string{"CONSOLE_AUDIT_SINK_BATCH_SIZE": "0"}, "CONSOLE_AUDIT_SINK_BATCH_SIZE"},
		{"batch wait", map[string]string{"CONSOLE_AUDIT_SINK_BATCH_WAIT": "1ms"}, "CONSOLE_AUDIT_SINK_BATCH_WAIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := readAuditSinks(tc.env)
			if !strings.Contains(problems, tc.want) {
				t.Fatalf("problems %q, want %q", problems, tc.want)
			}
			if s := tc.env["CONSOLE_AUDIT_WEBHOOK_SECRET"]; s != "" && strings.Contains(problems, s) {
				t.Fatalf("a problem shows the secret: %s", problems)
			}
		})
	}
}

func TestAuditSinkVariablesAreDocumented(t *testing.T) {
	names := map[string]bool{}
	for _, v := range auditSinkVariables() {
		names[v.Name] = true
	}
	for _, n := range []string{"CONSOLE_AUDIT_WEBHOOK_URL", "CONSOLE_AUDIT_WEBHOOK_SECRET", "CONSOLE_AUDIT_WEBHOOK_FORMAT",
		"CONSOLE_AUDIT_WEBHOOK_SPLUNK_TOKEN", "CONSOLE_AUDIT_SYSLOG_ADDR", "CONSOLE_AUDIT_SYSLOG_CERT_FILE",
		"CONSOLE_AUDIT_SYSLOG_KEY_FILE", "CONSOLE_AUDIT_SINK_CA_FILE", "CONSOLE_AUDIT_SINK_BATCH_SIZE", "CONSOLE_AUDIT_SINK_BATCH_WAIT"} {
		if !names[n] {
			t.Errorf("%s not documented", n)
		}
	}
}
