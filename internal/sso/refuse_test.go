package sso_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/raas-console/console/internal/idptest"
	"github.com/raas-console/console/internal/sso"
)

// TestKeyRotation: after the provider rotates its signing key (the old one leaves the
// JWKS), the next sign-in verifies with the new key fetched by its kid.
func TestKeyRotation(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	if _, err := signIn(t, idp, p, newBrowser(t), ann, -1); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	before := jwksKids(t, idp.Issuer())
	idp.RotateKeys()
	after := jwksKids(t, idp.Issuer())
	if len(after) != 1 || slices.Contains(before, after[0]) {
		t.Fatalf("JWKS kids %q after rotation, before %q: want one new key", after, before)
	}
	if _, err := signIn(t, idp, p, newBrowser(t), ann, -1); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// TestInvalidIDTokens: each way an ID token can be wrong is refused with ErrInvalidToken
// and its words; a correct token after mode=none is accepted again.
func TestInvalidIDTokens(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	for _, tc := range []struct{ mode, reason string }{
		{"wrong-audience", "the ID token is for another client"},
		{"expired", "the ID token has expired"},
		{"nonce-mismatch", "the nonce does not match this sign-in"},
		{"bad-signature", "the ID token's signature does not match the provider's keys"},
		{"no-email", "the ID token has no e-mail address"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			idp.Misbehave(tc.mode)
			_, err := signIn(t, idp, p, newBrowser(t), ann, -1)
			assertInvalid(t, err, tc.reason)
		})
	}
	idp.Misbehave("none")
	if _, err := signIn(t, idp, p, newBrowser(t), ann, -1); err != nil {
		t.Fatalf("after mode none: %v", err)
	}
}

func assertInvalid(t *testing.T, err error, reason string) {
	t.Helper()
	var inv *sso.InvalidTokenError
	if !errors.Is(err, sso.ErrInvalidToken) || !errors.As(err, &inv) || inv.Reason != reason {
		t.Fatalf("err = %v, want ErrInvalidToken %q", err, reason)
	}
}

// TestNonceOfAnotherSignIn: a code exchanged with the nonce of a different sign-in (a
// callback replayed into another browser session) is refused.
func TestNonceOfAnotherSignIn(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	state, verifier := sso.NewState(), sso.NewVerifier()
	authURL, err := p.AuthURL(context.Background(), state, sso.NewState(), verifier, -1)
	if err != nil {
		t.Fatal(err)
	}
	code := callbackCode(t, idp.Login(t, newBrowser(t), authURL, ann.Email, ann.Password), state)
	_, err = p.Exchange(context.Background(), code, verifier, sso.NewState())
	assertInvalid(t, err, "the nonce does not match this sign-in")
}

// TestCodeReplayAndWrongVerifier: a code works once, and only with its PKCE verifier.
func TestCodeReplayAndWrongVerifier(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	ctx := context.Background()
	state, nonce, verifier := sso.NewState(), sso.NewState(), sso.NewVerifier()
	authURL, _ := p.AuthURL(ctx, state, nonce, verifier, -1)
	code := callbackCode(t, idp.Login(t, newBrowser(t), authURL, ann.Email, ann.Password), state)
	_, err := p.Exchange(ctx, code, sso.NewVerifier(), nonce)
	assertRefused(t, err, "invalid_grant")
	if _, err := p.Exchange(ctx, code, verifier, nonce); err != nil {
		t.Fatalf("right verifier: %v", err)
	}
	_, err = p.Exchange(ctx, code, verifier, nonce)
	assertRefused(t, err, "invalid_grant")
}

func assertRefused(t *testing.T, err error, code string) {
	t.Helper()
	var ref *sso.RefusedError
	if !errors.Is(err, sso.ErrRefused) || !errors.As(err, &ref) || ref.Code != code {
		t.Fatalf("err = %v, want ErrRefused %s", err, code)
	}
}

// TestCancelledAtProvider: the user cancels at the provider; the callback's error
// becomes ErrRefused with the provider's code and description.
func TestCancelledAtProvider(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	authURL, _ := p.AuthURL(context.Background(), "st", "no", sso.NewVerifier(), -1)
	u, err := url.Parse(idp.Cancel(t, newBrowser(t), authURL))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != "st" || q.Get("code") != "" {
		t.Fatalf("callback %s", u)
	}
	err = sso.CallbackError(q.Get("error"), q.Get("error_description")+"\u202e\x00")
	assertRefused(t, err, "access_denied")
	var ref *sso.RefusedError
	errors.As(err, &ref)
	if ref.Description != "the user cancelled the sign-in" {
		t.Errorf("description %q", ref.Description)
	}
}

// TestUnverifiedEmail: an ID token saying email_verified=false is refused.
func TestUnverifiedEmail(t *testing.T) {
	bob := idptest.User{Email: "bob@example.com", Password: "pw-bob", Groups: []string{"console-admins"}, EmailUnverified: true}
	idp := startIdP(t, bob)
	p := newProvider(t, idp.Issuer())
	_, err := signIn(t, idp, p, newBrowser(t), bob, -1)
	assertInvalid(t, err, "the provider has not verified this e-mail address")
}

// TestProviderUnreachableAtStart: New succeeds while the provider is down; AuthURL says
// ErrUnavailable; once the provider is up on that address, sign-in works.
func TestProviderUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newProvider(t, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.AuthURL(ctx, "st", "no", sso.NewVerifier(), -1); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("AuthURL while down: %v, want ErrUnavailable", err)
	}
	if _, err := p.Exchange(ctx, "code", sso.NewVerifier(), "no"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("Exchange while down: %v, want ErrUnavailable", err)
	}
	idp := idptest.Start(t, idptest.Options{
		ClientID: "console", ClientSecret: "s3cret", RedirectURIs: []string{redirectURL},
		Users: []idptest.User{ann}, Addr: addr,
	})
	if _, err := signIn(t, idp, p, newBrowser(t), ann, -1); err != nil {
		t.Fatalf("after the provider came up: %v", err)
	}
}
