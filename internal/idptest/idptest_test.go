package idptest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/idptest"
)

const callback = "http://localhost:8080/auth/oidc/callback"

func authURL(idp *idptest.IdP, extra string) string {
	return idp.Issuer() + "/authorize?client_id=console&response_type=code&scope=openid+email&state=st&nonce=no" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=" +
		url.QueryEscape(callback) + extra
}

// TestLoginPageAndPromptNone: the login form is labelled and has a "Sign in" button;
// prompt=none without a session at the provider answers login_required at the callback.
func TestLoginPageAndPromptNone(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{
		Users: []idptest.User{{Email: "ann@example.com", Password: "pw"}},
	})
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(authURL(idp, ""))
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<label for="email">`, `<label for="password">`, `>Sign in</button>`, `<h1>`} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("login page lacks %s:\n%s", want, body)
		}
	}
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.Get(authURL(idp, "&prompt=none"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The op first sends the browser to the login page, which answers at once.
	loc, _ := resp.Location()
	resp, err = noRedirect.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), callback) || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none answered %s %v, want the callback with login_required", resp.Status, loc)
	}
}

// TestWrongPasswordKeepsTheForm: a wrong password shows the form again with an alert.
func TestWrongPasswordKeepsTheForm(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{Users: []idptest.User{{Email: "ann@example.com", Password: "pw"}}})
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(authURL(idp, ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("id")
	resp, err = client.PostForm(idp.Issuer()+"/login", url.Values{"id": {id}, "email": {"ann@example.com"}, "password": {"wrong"}, "action": {"sign-in"}})
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body.String(), `role="alert"`) {
		t.Fatalf("wrong password answered %s:\n%s", resp.Status, body)
	}
}
