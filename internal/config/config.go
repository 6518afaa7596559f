// Package config reads the console's configuration from the environment once, into one
// typed Config, and validates it with a clear message per bad value.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/raas-console/console/internal/approvals"
)

// Config is everything the console reads from its environment.
type Config struct {
	// Addr is the listen address of the web console (CONSOLE_ADDR).
	Addr string
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL). Empty means the
	// console runs its own private cluster under DataDir.
	DatabaseURL string
	// MigrateDatabaseURL is the connection string of the role that owns the schema and
	// runs the migrations (CONSOLE_MIGRATE_DATABASE_URL); the console then serves as
	// DatabaseURL's role, which owns nothing. Empty means DatabaseURL's role does both.
	MigrateDatabaseURL string
	// DataDir holds the private cluster and generated local secrets (CONSOLE_DATA_DIR).
	DataDir string
	// SessionSecret signs session cookies (CONSOLE_SESSION_SECRET), at least 32 bytes.
	// Empty only when the console manages its own database; it is then generated and
	// stored under DataDir.
	SessionSecret []byte
	// SecureCookies marks cookies Secure and names the session cookie with the __Host- prefix.
	SecureCookies bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SessionIdleTimeout ends a session after this long without a request.
	SessionIdleTimeout time.Duration
	// SessionMaxLifetime ends a session this long after sign-in, whatever the activity.
	SessionMaxLifetime time.Duration
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// MaxInFlight bounds the requests handled at once (CONSOLE_MAX_IN_FLIGHT); 0 means
	// no bound. Beyond it a request waits up to 2 s, then gets 503 with Retry-After.
	MaxInFlight int
	// SyneriseAPIURL is Synerise's API base URL. Empty means the built-in simulator.
	SyneriseAPIURL string
	// SyneriseAPIKey is the workspace API key used to obtain workspace tokens.
	SyneriseAPIKey string
	// SyneriseSettingsPath is where the workspace exposes RaaS general settings.
	SyneriseSettingsPath string
	// SyneriseErasePath is where a customer is erased (SYNERISE_ERASE_PATH, see erase.go).
	SyneriseErasePath string
	// AuditSigningKey is the path of an Ed25519 private key for signed audit checkpoints.
	AuditSigningKey string
	// MetricsToken protects /metrics on the public listener.
	MetricsToken string
	// MetricsAddr serves /metrics on a separate listener instead.
	MetricsAddr string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Identity is how operators sign in: single sign-on, second factors, step-up.
	Identity Identity
	// AuditSinks are where the audit log is streamed (a SIEM's webhook, syslog).
	AuditSinks AuditSinks
	// Approvals says which changes need another operator's approval (CONSOLE_APPROVALS)
	// and how long a request waits (CONSOLE_APPROVAL_TTL).
	Approvals approvals.Policy
}

// LocalDatabase reports whether the console runs its own PostgreSQL cluster.
func (c Config) LocalDatabase() bool { return c.DatabaseURL == "" }

// Sandbox reports whether the console talks to the built-in Synerise simulator.
func (c Config) Sandbox() bool { return c.SyneriseAPIURL == "" }

// Variable documents one environment variable; Variables feeds the README and --help.
type Variable struct {
	Name, Default, Meaning string
}

// Variables lists every variable Load reads.
func Variables() []Variable {
	return append([]Variable{
		{"CONSOLE_ADDR", "127.0.0.1:8080", "listen address of the web console"},
		{"DATABASE_URL", "(unset: private cluster under CONSOLE_DATA_DIR/postgres)", "PostgreSQL connection string"},
		{"CONSOLE_MIGRATE_DATABASE_URL", "(unset: DATABASE_URL's role migrates and owns the tables; a warning says it can rewrite the audit log)", "PostgreSQL connection string of the owner role that runs migrations; needs DATABASE_URL, whose role then only serves"},
		{"CONSOLE_DATA_DIR", ".data", "where the private cluster and generated local keys live"},
		{"CONSOLE_SESSION_SECRET", "(generated under CONSOLE_DATA_DIR when the database is local)", "at least 32 bytes, hex or base64; signs session cookies"},
		{"CONSOLE_SECURE_COOKIES", "true", "`false` only for plain-http localhost"},
		{"CONSOLE_TRUSTED_PROXIES", "(none)", "comma-separated IPs/CIDRs whose X-Forwarded-For is believed"},
		{"CONSOLE_SESSION_IDLE_TIMEOUT", "30m", "session ends after this long without a request"},
		{"CONSOLE_SESSION_MAX_LIFETIME", "12h", "session ends this long after sign-in"},
		{"CONSOLE_SHUTDOWN_TIMEOUT", "15s", "time allowed for in-flight requests at shutdown"},
		{"SYNERISE_API_URL", "(unset: built-in simulator, Sandbox banner)", "Synerise API base URL, e.g. https://api.synerise.com"},
		{"SYNERISE_API_KEY", "(required with SYNERISE_API_URL)", "workspace API key"},
		{"SYNERISE_SETTINGS_PATH", "/sauth/settings/general", "path of the RaaS general settings"},
		eraseVariable(),
		{"CONSOLE_AUDIT_SIGNING_KEY", "(unset: checkpoints off; local key under CONSOLE_DATA_DIR when the database is local)", "file with an Ed25519 private key for signed audit checkpoints"},
		{"CONSOLE_METRICS_TOKEN", "(unset)", "bearer token that unlocks /metrics on the public listener"},
		{"CONSOLE_METRICS_ADDR", "(unset)", "separate listen address for /metrics"},
		{"CONSOLE_LOG_LEVEL", "info", "debug, info, warn or error"},
	}, append(append(identityVariables(), auditSinkVariables()...), approvalVariables()...)...)
}

// Load reads the configuration through getenv and validates it. Every problem is
// reported, one line each.
func Load(getenv func(string) string) (Config, error) {
	r := &envReader{getenv: getenv}
	c := Config{
		Addr:                 r.get("CONSOLE_ADDR", "127.0.0.1:8080"),
		DatabaseURL:          r.get("DATABASE_URL", ""),
		MigrateDatabaseURL:   r.get("CONSOLE_MIGRATE_DATABASE_URL", ""),
		DataDir:              r.get("CONSOLE_DATA_DIR", ".data"),
		SyneriseAPIURL:       r.get("SYNERISE_API_URL", ""),
		SyneriseAPIKey:       getenv("SYNERISE_API_KEY"),
		SyneriseSettingsPath: r.get("SYNERISE_SETTINGS_PATH", "/sauth/settings/general"),
		AuditSigningKey:      r.get("CONSOLE_AUDIT_SIGNING_KEY", ""),
		MetricsToken:         getenv("CONSOLE_METRICS_TOKEN"),
		MetricsAddr:          r.get("CONSOLE_METRICS_ADDR", ""),
		LogLevel:             r.get("CONSOLE_LOG_LEVEL", "info"),
	}
	c.SessionIdleTimeout = r.duration("CONSOLE_SESSION_IDLE_TIMEOUT", "30m", time.Minute)
	c.SessionMaxLifetime = r.duration("CONSOLE_SESSION_MAX_LIFETIME", "12h", time.Minute)
	c.ShutdownTimeout = r.duration("CONSOLE_SHUTDOWN_TIMEOUT", "15s", 0)
	c.MaxInFlight = r.maxInFlight()
	r.checkAddrs(c)
	r.checkDatabaseURLs(c)
	c.SessionSecret = r.sessionSecret(c)
	c.SecureCookies = r.secureCookies()
	c.TrustedProxies = r.trustedProxies()
	r.checkSynerise(c)
	c.SyneriseErasePath = r.erasePath()
	c.Identity = r.identity(c)
	c.AuditSinks = r.auditSinks()
	c.Approvals = r.approvals()
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		r.bad("CONSOLE_LOG_LEVEL", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if len(r.problems) > 0 {
		return c, errors.New("config: " + strings.Join(r.problems, "\nconfig: "))
	}
	return c, nil
}

// envReader reads variables from the environment and collects what is wrong with them,
// one problem per bad value.
type envReader struct {
	getenv   func(string) string
	problems []string
}

func (r *envReader) bad(name, format string, args ...any) {
	r.problems = append(r.problems, name+": "+fmt.Sprintf(format, args...))
}

// get is the variable's value without surrounding space, or def when it is empty.
func (r *envReader) get(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *envReader) duration(name, def string, min time.Duration) time.Duration {
	d, err := time.ParseDuration(r.get(name, def))
	if err != nil || d < min {
		r.bad(name, "want a duration of at least %s such as %q, got %q", min, def, r.getenv(name))
		d, _ = time.ParseDuration(def)
	}
	return d
}

func (r *envReader) maxInFlight() int {
	v := r.get("CONSOLE_MAX_IN_FLIGHT", "")
	if v == "" {
		return 128
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.bad("CONSOLE_MAX_IN_FLIGHT", "want a whole number of requests, 0 for no limit, such as 128, got %q", v)
		return 128
	}
	return n
}

func (r *envReader) checkAddrs(c Config) {
	if _, _, err := splitHostPort(c.Addr); err != nil {
		r.bad("CONSOLE_ADDR", "want host:port such as 127.0.0.1:8080, got %q", c.Addr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := splitHostPort(c.MetricsAddr); err != nil {
			r.bad("CONSOLE_METRICS_ADDR", "want host:port, got %q", c.MetricsAddr)
		}
	}
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func (r *envReader) checkDatabaseURLs(c Config) {
	if c.DatabaseURL != "" && !isPostgresURL(c.DatabaseURL) {
		r.bad("DATABASE_URL", "want a postgres:// URL")
	}
	if c.MigrateDatabaseURL != "" {
		switch {
		case !isPostgresURL(c.MigrateDatabaseURL):
			r.bad("CONSOLE_MIGRATE_DATABASE_URL", "want a postgres:// URL")
		case c.DatabaseURL == "":
			r.bad("CONSOLE_MIGRATE_DATABASE_URL", "needs DATABASE_URL, the role the console serves as (the private cluster makes both roles itself)")
		}
	}
}

func (r *envReader) sessionSecret(c Config) []byte {
	s := r.getenv("CONSOLE_SESSION_SECRET")
	if s == "" {
		if c.DatabaseURL != "" {
			r.bad("CONSOLE_SESSION_SECRET", "required when DATABASE_URL is set (at least 32 bytes, hex or base64; e.g. `openssl rand -hex 32`)")
		}
		return nil
	}
	secret, err := DecodeSecret(s)
	if err != nil {
		r.bad("CONSOLE_SESSION_SECRET", "%v", err)
	}
	return secret
}

func (r *envReader) secureCookies() bool {
	switch v := strings.ToLower(r.get("CONSOLE_SECURE_COOKIES", "true")); v {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	default:
		r.bad("CONSOLE_SECURE_COOKIES", "want true or false, got %q", v)
		return false
	}
}

func (r *envReader) trustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range strings.Split(r.getenv("CONSOLE_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := parsePrefix(p)
		if err != nil {
			r.bad("CONSOLE_TRUSTED_PROXIES", "%q is neither an IP address nor a CIDR", p)
			continue
		}
		out = append(out, prefix)
	}
	return out
}

func (r *envReader) checkSynerise(c Config) {
	if c.SyneriseAPIURL != "" {
		u, err := url.Parse(c.SyneriseAPIURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			r.bad("SYNERISE_API_URL", "want an absolute URL such as https://api.synerise.com, got %q", c.SyneriseAPIURL)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			r.bad("SYNERISE_API_URL", "must use https (http only for localhost)")
		}
		if c.SyneriseAPIKey == "" {
			r.bad("SYNERISE_API_KEY", "required when SYNERISE_API_URL is set")
		}
	}
	if !strings.HasPrefix(c.SyneriseSettingsPath, "/") {
		r.bad("SYNERISE_SETTINGS_PATH", "want a path starting with /, got %q", c.SyneriseSettingsPath)
	}
}

// DecodeSecret reads a secret given as hex or base64 (standard or URL alphabet) and
// insists on at least 32 bytes.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, decode := range decoders {
		if b, err := decode(s); err == nil {
			if len(b) < 32 {
				return nil, fmt.Errorf("want at least 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("want hex or base64 (at least 32 bytes)")
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, errors.New("no port")
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, errors.New("bad port")
	}
	return addr[:i], port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
