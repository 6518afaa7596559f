package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || !c.SecureCookies || c.SessionIdleTimeout != 30*time.Minute ||
		c.SessionMaxLifetime != 12*time.Hour || !c.LocalDatabase() || !c.Sandbox() || c.MaxInFlight != 128 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"short secret", map[string]string{"CONSOLE_SESSION_SECRET": strings.Repeat("ab", 16)[:30]}, "CONSOLE_SESSION_SECRET"},
		{"secret required with external db", map[string]string{"DATABASE_URL": "postgres://x@db/console"}, "required when DATABASE_URL is set"},
		{"bad cookies flag", map[string]string{"CONSOLE_SECURE_COOKIES": "maybe"}, "CONSOLE_SECURE_COOKIES: want true or false"},
		{"bad proxy", map[string]string{"CONSOLE_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"}, `"nonsense" is neither`},
		{"bad addr", map[string]string{"CONSOLE_ADDR": "localhost"}, "CONSOLE_ADDR"},
		{"http upstream", map[string]string{"SYNERISE_API_URL": "http://api.synerise.com", "SYNERISE_API_KEY": "k"}, "must use https"},
		{"key required", map[string]string{"SYNERISE_API_URL": "https://api.synerise.com"}, "SYNERISE_API_KEY: required"},
		{"bad duration", map[string]string{"CONSOLE_SESSION_IDLE_TIMEOUT": "soon"}, "CONSOLE_SESSION_IDLE_TIMEOUT"},
		{"negative in-flight limit", map[string]string{"CONSOLE_MAX_IN_FLIGHT": "-1"}, "CONSOLE_MAX_IN_FLIGHT: want a whole number"},
		{"in-flight limit not a number", map[string]string{"CONSOLE_MAX_IN_FLIGHT": "lots"}, "CONSOLE_MAX_IN_FLIGHT: want a whole number"},
		{"bad db url", map[string]string{"DATABASE_URL": "mysql://x", "CONSOLE_SESSION_SECRET": strings.Repeat("a", 64)}, "DATABASE_URL"},
		{"bad migrate url", map[string]string{"DATABASE_URL": "postgres://app@db/console", "CONSOLE_MIGRATE_DATABASE_URL": "owner@db/console",
			"CONSOLE_SESSION_SECRET": strings.Repeat("a", 64)}, "CONSOLE_MIGRATE_DATABASE_URL: want a postgres:// URL"},
		{"migrate url without a serving url", map[string]string{"CONSOLE_MIGRATE_DATABASE_URL": "postgres://owner@db/console"},
			"CONSOLE_MIGRATE_DATABASE_URL: needs DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadReadsValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":                 "postgres://u@db:5432/console",
		"CONSOLE_MIGRATE_DATABASE_URL": "postgresql://owner@db:5432/console",
		"CONSOLE_SESSION_SECRET":       strings.Repeat("0f", 32),
		"CONSOLE_SECURE_COOKIES":       "false",
		"CONSOLE_TRUSTED_PROXIES":      "10.0.0.0/8,192.168.1.5",
		"SYNERISE_API_URL":             "https://api.synerise.com",
		"SYNERISE_API_KEY":             "key",
		"CONSOLE_MAX_IN_FLIGHT":        "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SessionSecret) != 32 || c.SecureCookies || len(c.TrustedProxies) != 2 || c.Sandbox() || c.LocalDatabase() || c.MaxInFlight != 0 {
		t.Fatalf("unexpected config: %+v", c)
	}
	if c.MigrateDatabaseURL != "postgresql://owner@db:5432/console" {
		t.Fatalf("migrate URL = %q", c.MigrateDatabaseURL)
	}
	if got := c.TrustedProxies[1].String(); got != "192.168.1.5/32" {
		t.Fatalf("single IP proxy = %s", got)
	}
}

func TestDecodeSecretAcceptsBase64(t *testing.T) {
	if _, err := DecodeSecret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="); err != nil {
		t.Fatal(err)
	}
}
