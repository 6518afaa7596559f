package config

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

// identityOf reads the identity configuration from vars on top of a sandbox console on
// 127.0.0.1:8080, and the problems it found.
func identityOf(vars map[string]string) (Identity, string) {
	r := &envReader{getenv: env(vars)}
	c := Config{Addr: "127.0.0.1:8080", SyneriseAPIURL: vars["SYNERISE_API_URL"]}
	id := r.identity(c)
	return id, strings.Join(r.problems, "\n")
}

func TestIdentityDefaults(t *testing.T) {
	id, problems := identityOf(nil)
	if problems != "" {
		t.Fatal(problems)
	}
	want := Identity{PublicURL: "http://localhost:8080", LocalSignIn: true, MFARequired: "none", StepUpWindow: 5 * time.Minute,
		OIDC: OIDC{Name: "your identity provider", RolesClaim: "groups"}}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("sandbox defaults = %+v, want %+v", id, want)
	}
	if id.OIDC.Enabled() || id.RedirectURL() != "http://localhost:8080/auth/oidc/callback" {
		t.Fatalf("single sign-on %v, redirect %s", id.OIDC.Enabled(), id.RedirectURL())
	}
	// Against a real workspace every password operator needs a second factor.
	if id, _ := identityOf(map[string]string{"SYNERISE_API_URL": "https://api.synerise.com"}); id.MFARequired != "all" {
		t.Fatalf("MFA with a real Synerise = %q, want all", id.MFARequired)
	}
}

func TestIdentitySingleSignOn(t *testing.T) {
	id, problems := identityOf(map[string]string{
		"CONSOLE_PUBLIC_URL":         "https://console.example.com/",
		"CONSOLE_OIDC_ISSUER":        "https://idp.example.com/realms/staff",
		"CONSOLE_OIDC_CLIENT_ID":     "console",
		"CONSOLE_OIDC_CLIENT_SECRET": "s3cret",
		"CONSOLE_OIDC_NAME":          "Acme SSO",
		"CONSOLE_OIDC_ROLES_CLAIM":   "roles",
		"CONSOLE_OIDC_ROLE_MAP":      " console-admins=admin, helpdesk = support,audit=auditor",
		"CONSOLE_LOCAL_SIGNIN":       "off",
		"CONSOLE_MFA_REQUIRED":       "admin",
		"CONSOLE_STEP_UP_WINDOW":     "2m",
	})
	if problems != "" {
		t.Fatal(problems)
	}
	if id.PublicURL != "https://console.example.com" || id.RedirectURL() != "https://console.example.com/auth/oidc/callback" ||
		id.LocalSignIn || id.MFARequired != "admin" || id.StepUpWindow != 2*time.Minute || id.OIDC.Name != "Acme SSO" || id.OIDC.RolesClaim != "roles" {
		t.Fatalf("identity = %+v", id)
	}
	want := []GroupRole{{"console-admins", "admin"}, {"helpdesk", "support"}, {"audit", "auditor"}}
	if !reflect.DeepEqual(id.OIDC.RoleMap, want) {
		t.Fatalf("role map = %v, want %v in the configured order", id.OIDC.RoleMap, want)
	}
}

func TestIdentityRefusals(t *testing.T) {
	sso := map[string]string{"CONSOLE_OIDC_ISSUER": "https://idp.example.com", "CONSOLE_OIDC_CLIENT_ID": "console",
		"CONSOLE_OIDC_CLIENT_SECRET": "s", "CONSOLE_OIDC_ROLE_MAP": "staff=support"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(sso)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		problem string
	}{
		{"local sign-in off without a provider", map[string]string{"CONSOLE_LOCAL_SIGNIN": "off"}, "CONSOLE_LOCAL_SIGNIN: off needs single sign-on"},
		{"local sign-in neither on nor off", map[string]string{"CONSOLE_LOCAL_SIGNIN": "sometimes"}, `CONSOLE_LOCAL_SIGNIN: want on or off, got "sometimes"`},
		{"unknown MFA policy", map[string]string{"CONSOLE_MFA_REQUIRED": "support"}, `CONSOLE_MFA_REQUIRED: want all, admin or none, got "support"`},
		{"step-up window too short", map[string]string{"CONSOLE_STEP_UP_WINDOW": "5s"}, "CONSOLE_STEP_UP_WINDOW: want a duration of at least 30s"},
		{"public URL with a path", map[string]string{"CONSOLE_PUBLIC_URL": "https://console.example.com/admin"}, "CONSOLE_PUBLIC_URL: want an origin only"},
		{"public URL over http elsewhere", map[string]string{"CONSOLE_PUBLIC_URL": "http://console.example.com"}, "CONSOLE_PUBLIC_URL: must use https"},
		{"issuer over http elsewhere", with(map[string]string{"CONSOLE_OIDC_ISSUER": "http://idp.example.com"}), "CONSOLE_OIDC_ISSUER: must use https"},
		{"issuer not a URL", with(map[string]string{"CONSOLE_OIDC_ISSUER": "idp"}), "CONSOLE_OIDC_ISSUER: want the provider's issuer URL"},
		{"no client id", with(map[string]string{"CONSOLE_OIDC_CLIENT_ID": ""}), "CONSOLE_OIDC_CLIENT_ID: required"},
		{"no client secret", with(map[string]string{"CONSOLE_OIDC_CLIENT_SECRET": ""}), "CONSOLE_OIDC_CLIENT_SECRET: required"},
		{"no role map", with(map[string]string{"CONSOLE_OIDC_ROLE_MAP": ""}), "CONSOLE_OIDC_ROLE_MAP: required with CONSOLE_OIDC_ISSUER"},
		{"pair without a role", with(map[string]string{"CONSOLE_OIDC_ROLE_MAP": "staff"}), `CONSOLE_OIDC_ROLE_MAP: want group=role, got "staff"`},
		{"unknown role", with(map[string]string{"CONSOLE_OIDC_ROLE_MAP": "staff=owner"}), `unknown role "owner"`},
		{"group twice", with(map[string]string{"CONSOLE_OIDC_ROLE_MAP": "staff=support,staff=admin"}), `group "staff" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, problems := identityOf(tt.env); !strings.Contains(problems, tt.problem) {
				t.Fatalf("problems = %q, want %q", problems, tt.problem)
			}
		})
	}
}
