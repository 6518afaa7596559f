package idptest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/idptest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// TestBrowserLogin: a person in Chromium completes the provider's form by its labels and
// lands on the client's callback with a code and the state.
func TestBrowserLogin(t *testing.T) {
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Callback</title><h1>Back at the client</h1>`))
	}))
	t.Cleanup(client.Close)
	cb := client.URL + "/auth/oidc/callback"
	idp := idptest.Start(t, idptest.Options{
		RedirectURIs: []string{cb},
		Users:        []idptest.User{{Email: "ann@example.com", Password: "pw"}},
	})
	page := browsertest.NewPage(t)
	auth := idp.Issuer() + "/authorize?client_id=console&response_type=code&scope=openid&state=st&nonce=no" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=" + url.QueryEscape(cb)
	browsertest.Goto(t, page, auth)
	browsertest.Screenshot(t, page, "testidp-login")
	browsertest.Check(t, page.GetByLabel("E-mail").Fill("ann@example.com"), "fill e-mail")
	browsertest.Check(t, page.GetByLabel("Password").Fill("pw"), "fill password")
	browsertest.Check(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in"}).Click(), "sign in")
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveTitle("Callback"), "callback page")
	u, err := url.Parse(page.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/auth/oidc/callback" || u.Query().Get("state") != "st" || u.Query().Get("code") == "" {
		t.Fatalf("landed on %s, want the callback with code and state", u)
	}
}
