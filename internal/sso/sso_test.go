package sso_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/idptest"
	"github.com/raas-console/console/internal/sso"
)

const redirectURL = "http://localhost:8080/auth/oidc/callback"

var ann = idptest.User{
	Email: "ann@example.com", Password: "correct horse", Name: "Ann Admin",
	Groups: []string{"staff", "console-admins"}, AMR: []string{"pwd", "otp"},
}

func startIdP(t *testing.T, users ...idptest.User) *idptest.IdP {
	t.Helper()
	if len(users) == 0 {
		users = []idptest.User{ann}
	}
	return idptest.Start(t, idptest.Options{
		ClientID: "console", ClientSecret: "s3cret",
		RedirectURIs: []string{redirectURL}, Users: users,
	})
}

func newProvider(t *testing.T, issuer string, change ...func(*sso.Config)) *sso.Provider {
	t.Helper()
	c := sso.Config{
		Issuer: issuer, ClientID: "console", ClientSecret: "s3cret", RedirectURL: redirectURL,
		Name: "Test IdP", RoleMap: []sso.GroupRole{{Group: "console-admins", Role: "admin"}},
	}
	for _, f := range change {
		f(&c)
	}
	p, err := sso.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signIn runs one sign-in through the provider's login form and returns the exchange.
func signIn(t *testing.T, idp *idptest.IdP, p *sso.Provider, browser *http.Client, u idptest.User, maxAge time.Duration) (sso.Identity, error) {
	t.Helper()
	state, nonce, verifier := sso.NewState(), sso.NewState(), sso.NewVerifier()
	authURL, err := p.AuthURL(context.Background(), state, nonce, verifier, maxAge)
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	code := callbackCode(t, idp.Login(t, browser, authURL, u.Email, u.Password), state)
	return p.Exchange(context.Background(), code, verifier, nonce)
}

// callbackCode checks the callback URL goes to the console with our state and returns the code.
func callbackCode(t *testing.T, callback, state string) string {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != redirectURL {
		t.Fatalf("callback went to %s, want %s", got, redirectURL)
	}
	if u.Query().Get("state") != state {
		t.Fatalf("callback state %q, want %q", u.Query().Get("state"), state)
	}
	if u.Query().Get("code") == "" {
		t.Fatalf("callback without a code: %s", callback)
	}
	return u.Query().Get("code")
}

func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func TestSignIn(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	if p.Name() != "Test IdP" {
		t.Errorf("Name() = %q", p.Name())
	}
	before := time.Now().Add(-time.Second)
	id, err := signIn(t, idp, p, newBrowser(t), ann, -1)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if id.Issuer != idp.Issuer() || id.Subject == "" || id.Email != ann.Email || id.Name != ann.Name || !id.EmailVerified {
		t.Errorf("identity = %+v", id)
	}
	if !slices.Equal(id.Groups, ann.Groups) || !slices.Equal(id.AMR, ann.AMR) {
		t.Errorf("groups %q amr %q, want %q %q", id.Groups, id.AMR, ann.Groups, ann.AMR)
	}
	if id.AuthTime.Before(before) || id.AuthTime.After(time.Now().Add(time.Second)) {
		t.Errorf("auth_time %s, want about now", id.AuthTime)
	}
}

func TestAuthURL(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	for _, tc := range []struct {
		maxAge         time.Duration
		wantMaxAge     string
		wantPromptAuth bool
	}{{-1, "", false}, {0, "0", true}, {5 * time.Minute, "300", false}} {
		raw, err := p.AuthURL(context.Background(), "st", "no", sso.NewVerifier(), tc.maxAge)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		q := u.Query()
		if !strings.HasPrefix(raw, idp.Issuer()+"/authorize?") || q.Get("state") != "st" || q.Get("nonce") != "no" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("client_id") != "console" ||
			!strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("auth URL %s", raw)
		}
		if q.Get("max_age") != tc.wantMaxAge || (q.Get("prompt") == "login") != tc.wantPromptAuth {
			t.Errorf("maxAge %s: max_age=%q prompt=%q", tc.maxAge, q.Get("max_age"), q.Get("prompt"))
		}
	}
}
