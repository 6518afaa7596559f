package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Identity is how operators prove who they are: single sign-on, second factors,
// step-up, and where the console is reached from.
type Identity struct {
	// PublicURL is the console's external origin (CONSOLE_PUBLIC_URL), without a trailing
	// slash: the OIDC redirect URL and the WebAuthn relying party come from it. Unset, it is
	// http://localhost:<port of CONSOLE_ADDR>.
	PublicURL string
	// OIDC is the OpenID provider; its Issuer is empty when single sign-on is off.
	OIDC OIDC
	// LocalSignIn is false when password sign-in is off for everyone but break-glass
	// operators (CONSOLE_LOCAL_SIGNIN=off).
	LocalSignIn bool
	// MFARequired says who must have a second factor: "all", "admin" or "none"
	// (CONSOLE_MFA_REQUIRED; default all with a real Synerise, none in sandbox mode).
	MFARequired string
	// StepUpWindow is how recent a second factor must be for a risky action
	// (CONSOLE_STEP_UP_WINDOW, default 5m).
	StepUpWindow time.Duration
}

// OIDC configures single sign-on through an OpenID provider.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is the provider's name on the sign-in button (CONSOLE_OIDC_NAME).
	Name string
	// RolesClaim is the ID token claim holding the user's groups (default "groups").
	RolesClaim string
	// RoleMap maps provider groups to console roles, in the order configured: the first
	// entry whose group the user has decides their role.
	RoleMap []GroupRole
}

// GroupRole is one entry of CONSOLE_OIDC_ROLE_MAP.
type GroupRole struct {
	Group string
	Role  string
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// RedirectURL is where the provider sends the browser back to.
func (i Identity) RedirectURL() string { return i.PublicURL + "/auth/oidc/callback" }

// identityVariables document the variables identity reads.
func identityVariables() []Variable {
	return []Variable{
		{"CONSOLE_PUBLIC_URL", "(unset: http://localhost:<port of CONSOLE_ADDR>)", "the console's external origin, e.g. https://console.example.com; the OIDC redirect URL and the passkey relying party come from it"},
		{"CONSOLE_OIDC_ISSUER", "(unset: single sign-on off)", "OpenID provider's issuer URL, e.g. https://accounts.google.com"},
		{"CONSOLE_OIDC_CLIENT_ID", "(required with CONSOLE_OIDC_ISSUER)", "the console's client id at the provider"},
		{"CONSOLE_OIDC_CLIENT_SECRET", "(required with CONSOLE_OIDC_ISSUER)", "the console's client secret at the provider"},
		{"CONSOLE_OIDC_NAME", "your identity provider", "name on the \"Sign in with …\" button"},
		{"CONSOLE_OIDC_ROLES_CLAIM", "groups", "ID token claim that lists the user's groups"},
		{"CONSOLE_OIDC_ROLE_MAP", "(required with CONSOLE_OIDC_ISSUER)", "group=role,… e.g. console-admins=admin,helpdesk=support; the first listed group the user has wins"},
		{"CONSOLE_LOCAL_SIGNIN", "on", "`off` allows password sign-in only to break-glass operators"},
		{"CONSOLE_MFA_REQUIRED", "(all with SYNERISE_API_URL, none in sandbox mode)", "all, admin or none: which password operators must have a second factor"},
		{"CONSOLE_STEP_UP_WINDOW", "5m", "how recent a second factor must be for risky actions"},
	}
}

func (r *envReader) identity(c Config) Identity {
	id := Identity{
		PublicURL:    strings.TrimRight(r.get("CONSOLE_PUBLIC_URL", ""), "/"),
		MFARequired:  r.get("CONSOLE_MFA_REQUIRED", ""),
		StepUpWindow: r.duration("CONSOLE_STEP_UP_WINDOW", "5m", 30*time.Second),
		OIDC: OIDC{
			Issuer:       r.get("CONSOLE_OIDC_ISSUER", ""),
			ClientID:     r.get("CONSOLE_OIDC_CLIENT_ID", ""),
			ClientSecret: r.getenv("CONSOLE_OIDC_CLIENT_SECRET"),
			Name:         r.get("CONSOLE_OIDC_NAME", "your identity provider"),
			RolesClaim:   r.get("CONSOLE_OIDC_ROLES_CLAIM", "groups"),
		},
	}
	r.publicURL(c, &id)
	switch v := strings.ToLower(r.get("CONSOLE_LOCAL_SIGNIN", "on")); v {
	case "on", "true", "1", "yes":
		id.LocalSignIn = true
	case "off", "false", "0", "no":
	default:
		r.bad("CONSOLE_LOCAL_SIGNIN", "want on or off, got %q", v)
	}
	switch id.MFARequired {
	case "":
		id.MFARequired = "all"
		if c.Sandbox() {
			id.MFARequired = "none"
		}
	case "all", "admin", "none":
	default:
		r.bad("CONSOLE_MFA_REQUIRED", "want all, admin or none, got %q", id.MFARequired)
	}
	r.oidc(&id)
	return id
}

func (r *envReader) publicURL(c Config, id *Identity) {
	if id.PublicURL == "" {
		_, port, _ := splitHostPort(c.Addr)
		id.PublicURL = "http://localhost:" + strconv.Itoa(port)
		return
	}
	u, err := url.Parse(id.PublicURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		r.bad("CONSOLE_PUBLIC_URL", "want the console's origin such as https://console.example.com, got %q", id.PublicURL)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		r.bad("CONSOLE_PUBLIC_URL", "want an origin only (scheme, host and port, no path), got %q", id.PublicURL)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		r.bad("CONSOLE_PUBLIC_URL", "must use https (http only for localhost)")
	}
}

func (r *envReader) oidc(id *Identity) {
	o := &id.OIDC
	if !o.Enabled() {
		if !id.LocalSignIn {
			r.bad("CONSOLE_LOCAL_SIGNIN", "off needs single sign-on (CONSOLE_OIDC_ISSUER), or nobody but break-glass operators could sign in")
		}
		return
	}
	u, err := url.Parse(o.Issuer)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		r.bad("CONSOLE_OIDC_ISSUER", "want the provider's issuer URL such as https://accounts.google.com, got %q", o.Issuer)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		r.bad("CONSOLE_OIDC_ISSUER", "must use https (http only for localhost)")
	}
	if o.ClientID == "" {
		r.bad("CONSOLE_OIDC_CLIENT_ID", "required with CONSOLE_OIDC_ISSUER")
	}
	if o.ClientSecret == "" {
		r.bad("CONSOLE_OIDC_CLIENT_SECRET", "required with CONSOLE_OIDC_ISSUER")
	}
	o.RoleMap = r.roleMap()
}

// roleMap reads CONSOLE_OIDC_ROLE_MAP: group=role pairs separated by commas.
func (r *envReader) roleMap() []GroupRole {
	const name = "CONSOLE_OIDC_ROLE_MAP"
	raw := r.get(name, "")
	if raw == "" {
		r.bad(name, "required with CONSOLE_OIDC_ISSUER: group=role pairs such as console-admins=admin,helpdesk=support")
		return nil
	}
	var out []GroupRole
	seen := map[string]bool{}
	for _, pair := range strings.Split(raw, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		i := strings.LastIndexByte(pair, '=')
		group, role := "", ""
		if i > 0 {
			group, role = strings.TrimSpace(pair[:i]), strings.TrimSpace(pair[i+1:])
		}
		switch {
		case group == "" || role == "":
			r.bad(name, "want group=role, got %q", pair)
			continue
		case role != "support" && role != "admin" && role != "auditor":
			r.bad(name, "%q: unknown role %q, want support, admin or auditor", pair, role)
			continue
		case seen[group]:
			r.bad(name, "group %q is listed twice", group)
			continue
		}
		seen[group] = true
		out = append(out, GroupRole{Group: group, Role: role})
	}
	return out
}
