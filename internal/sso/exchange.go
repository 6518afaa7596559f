package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Exchange redeems the authorization code (with the PKCE verifier) and returns who signed
// in, after verifying the ID token: signature (a new key after rotation is fetched),
// issuer, audience, expiry and nonce, and an e-mail address the provider did not deny
// verifying.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if code == "" || verifier == "" || nonce == "" {
		return Identity{}, errors.New("sso: exchange: code, verifier and nonce are required")
	}
	d, err := p.discovered(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, invalid("the provider sent no ID token", nil)
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, verifyError(err)
	}
	if err := p.verifyClaims(d, idt, nonce, time.Now()); err != nil {
		return Identity{}, err
	}
	return p.identity(idt)
}

// verifyClaims checks what the verifier was told to skip, each with its own words.
func (p *Provider) verifyClaims(d *discovery, idt *oidc.IDToken, nonce string, now time.Time) error {
	switch {
	case idt.Issuer != d.issuer:
		return invalid("the ID token was issued by another provider", fmt.Errorf("issuer %q", idt.Issuer))
	case !slices.Contains(idt.Audience, p.cfg.ClientID):
		return invalid("the ID token is for another client", fmt.Errorf("audience %q", idt.Audience))
	case idt.Expiry.IsZero() || now.After(idt.Expiry):
		return invalid("the ID token has expired", fmt.Errorf("expired at %s", idt.Expiry.UTC().Format(time.RFC3339)))
	case subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1:
		return invalid("the nonce does not match this sign-in", nil)
	}
	return p.verifyParty(idt)
}

// verifyParty applies OpenID Connect Core 3.1.3.7: a token for several audiences must
// name the console as its authorized party.
func (p *Provider) verifyParty(idt *oidc.IDToken) error {
	if len(idt.Audience) < 2 {
		return nil
	}
	var c struct {
		AZP string `json:"azp"`
	}
	if err := idt.Claims(&c); err != nil || c.AZP != p.cfg.ClientID {
		return invalid("the ID token is for another client", fmt.Errorf("authorized party %q", c.AZP))
	}
	return nil
}

// exchangeError sorts a failed token request: the network or a server error make the
// provider unavailable; an OAuth error answer (e.g. invalid_grant for a used code) is a
// refusal.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= http.StatusInternalServerError {
			return fmt.Errorf("sso: exchange code: %w: %w", ErrUnavailable, err)
		}
		return &RefusedError{Code: printable(re.ErrorCode, 64), Description: printable(re.ErrorDescription, 300)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("sso: exchange code: %w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("sso: exchange code: %w", err)
}

// verifyError sorts a failed signature check: the JWKS could not be fetched, or the
// token is not signed by the provider.
func verifyError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sso: fetch the provider's keys: %w: %w", ErrUnavailable, err)
	}
	return invalid("the ID token's signature does not match the provider's keys", err)
}
