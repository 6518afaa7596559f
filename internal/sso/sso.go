// Package sso is the console's OpenID Connect client: the authorization code flow with
// PKCE, state and nonce, and an ID token verified against the provider's discovery
// document and JWKS. The provider's groups become a console role through a role map.
package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config describes the provider and the console as its client.
type Config struct {
	// Issuer is the provider's issuer URL; discovery is at Issuer/.well-known/openid-configuration.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback, e.g. https://console.example.com/auth/oidc/callback.
	RedirectURL string
	// Name is the provider's name on the sign-in button.
	Name string
	// RolesClaim is the ID token claim listing the user's groups (default "groups").
	RolesClaim string
	// RoleMap maps groups to console roles; the first entry whose group the user has wins.
	RoleMap []GroupRole
	// HTTPClient talks to the provider; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
}

// GroupRole is one entry of the role map.
type GroupRole struct {
	Group, Role string
}

// Identity is who the provider says signed in, read from a verified ID token.
type Identity struct {
	Issuer, Subject, Email, Name string
	// EmailVerified is true when the provider said so; an ID token saying false is
	// refused, one without the claim (e.g. Microsoft Entra ID) is accepted.
	EmailVerified bool
	Groups, AMR   []string
	// AuthTime is when the user last authenticated at the provider; zero when the ID token
	// does not say.
	AuthTime time.Time
}

// Provider is an OpenID provider the console signs operators in through. It is safe for
// concurrent use.
type Provider struct {
	cfg    Config
	client *http.Client

	mu   sync.Mutex
	disc *discovery // nil until discovery succeeded
}

// discovery is what the provider's discovery document gave.
type discovery struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
}

// New returns a Provider. It starts discovery in the background; an unreachable provider
// is not an error here: discovery is tried again at the next AuthURL or Exchange, which then return
// ErrUnavailable, so the console starts while the provider is down.
func New(ctx context.Context, c Config) (*Provider, error) {
	if c.Issuer == "" || c.ClientID == "" || c.RedirectURL == "" {
		return nil, errors.New("sso: issuer, client id and redirect URL are required")
	}
	if c.RolesClaim == "" {
		c.RolesClaim = "groups"
	}
	p := &Provider{cfg: c, client: c.HTTPClient}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	// Discovery is fetched beside the start, not in its way: a provider that does not
	// answer must not hold up the console. A failure is reported by the first use instead.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = p.discovered(ctx)
	}()
	return p, nil
}

// Name is the provider's name for the sign-in button.
func (p *Provider) Name() string { return p.cfg.Name }

// discovered returns the discovery result, fetching it when it is not there yet. The
// fetch runs outside the lock: while a provider is down, each sign-in waits for its own
// attempt only, not for everyone else's in turn.
func (p *Provider) discovered(ctx context.Context) (*discovery, error) {
	p.mu.Lock()
	d := p.disc
	p.mu.Unlock()
	if d != nil {
		return d, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sso: discover %s: %w: %w", p.cfg.Issuer, ErrUnavailable, err)
	}
	d = &discovery{
		issuer: p.cfg.Issuer,
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			RedirectURL:  p.cfg.RedirectURL,
			Endpoint:     op.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		// Audience and expiry are checked by verifyClaims, with words for each refusal;
		// the issuer too, so the verifier's own checks are the signature and algorithm.
		verifier: op.Verifier(&oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SkipIssuerCheck: true}),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc == nil {
		p.disc = d
	}
	return p.disc, nil
}

// AuthURL is where to send the browser to sign in. maxAge < 0 sends no max_age; 0 forces
// the user to authenticate again (max_age=0 and prompt=login); more asks for an
// authentication no older than maxAge.
func (p *Provider) AuthURL(ctx context.Context, state, nonce, verifier string, maxAge time.Duration) (string, error) {
	if state == "" || nonce == "" || verifier == "" {
		return "", errors.New("sso: auth URL: state, nonce and verifier are required")
	}
	d, err := p.discovered(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	switch {
	case maxAge == 0:
		opts = append(opts, oauth2.SetAuthURLParam("max_age", "0"), oauth2.SetAuthURLParam("prompt", "login"))
	case maxAge > 0:
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(maxAge/time.Second), 10)))
	}
	return d.oauth.AuthCodeURL(state, opts...), nil
}

// Role is the console role of the first RoleMap entry, in configured order, whose group
// is among groups; ok is false when none is.
func (p *Provider) Role(groups []string) (role string, ok bool) {
	for _, m := range p.cfg.RoleMap {
		if slices.Contains(groups, m.Group) {
			return m.Role, true
		}
	}
	return "", false
}

// NewVerifier returns a PKCE code verifier (32 random bytes, base64url).
func NewVerifier() string { return oauth2.GenerateVerifier() }

// NewState returns 32 random bytes in base64url, for state and nonce.
func NewState() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}
