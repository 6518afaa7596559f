package main

import (
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// client is the console as the provider sees it: confidential, code flow only.
type client struct{ cfg clientConfig }

func (c client) GetID() string                    { return c.cfg.ID }
func (c client) RedirectURIs() []string           { return c.exact() }
func (c client) PostLogoutRedirectURIs() []string { return nil }
func (c client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode}
}
func (c client) LoginURL(id string) string            { return loginPath + "?id=" + id }
func (c client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c client) DevMode() bool                        { return false }
func (c client) IsScopeAllowed(string) bool           { return false }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }
func (c client) RedirectURIGlobs() []string           { return c.globs() }
func (c client) PostLogoutRedirectURIGlobs() []string { return nil }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c client) exact() []string {
	var out []string
	for _, u := range c.cfg.RedirectURIs {
		if !strings.Contains(u, "*") {
			out = append(out, u)
		}
	}
	return out
}

func (c client) globs() []string {
	var out []string
	for _, u := range c.cfg.RedirectURIs {
		if strings.Contains(u, "*") {
			out = append(out, u)
		}
	}
	return out
}
