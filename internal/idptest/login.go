package idptest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Login completes the provider's side of a sign-in like a person would: it follows
// authURL to the login form, submits the e-mail and password, and returns the URL the
// provider redirects to at the client (the callback with code and state), without
// following it. With a cookie jar on client, a second call may skip the form because the
// provider remembers the sign-in (unless prompt=login or max_age asks again).
func (p *IdP) Login(t testing.TB, client *http.Client, authURL, email, password string) (callbackURL string) {
	t.Helper()
	return p.answer(t, client, authURL, url.Values{"email": {email}, "password": {password}, "action": {"sign-in"}})
}

// Cancel presses Cancel on the login form and returns the callback URL carrying
// error=access_denied.
func (p *IdP) Cancel(t testing.TB, client *http.Client, authURL string) (callbackURL string) {
	t.Helper()
	return p.answer(t, client, authURL, url.Values{"action": {"cancel"}})
}

func (p *IdP) answer(t testing.TB, client *http.Client, authURL string, form url.Values) string {
	t.Helper()
	c := p.stayingHere(client)
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("idptest: authorize: %v", err)
	}
	if loc, ok := p.leaving(t, resp); ok {
		return loc // the provider's own session answered without the form
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("idptest: authorize answered %s at %s, want the login form", resp.Status, resp.Request.URL)
	}
	form.Set("id", id)
	resp, err = c.PostForm(p.issuer+"/login", form)
	if err != nil {
		t.Fatalf("idptest: login: %v", err)
	}
	if loc, ok := p.leaving(t, resp); ok {
		return loc
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Fatalf("idptest: login as %q answered %s, want a redirect to the client:\n%s", form.Get("email"), resp.Status, body)
	return ""
}

// stayingHere is client following redirects only within the provider.
func (p *IdP) stayingHere(client *http.Client) *http.Client {
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), p.issuer+"/") || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &c
}

// leaving reports the absolute redirect target when resp sends the browser to the client
// (and then closes resp's body).
func (p *IdP) leaving(t testing.TB, resp *http.Response) (string, bool) {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return "", false
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("idptest: redirect without a location: %v", err)
	}
	return loc.String(), true
}
