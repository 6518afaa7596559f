package handlers_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/idptest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/sso"
)

// ssoPassword is every provider user's password.
const ssoPassword = "provider-password-7"

// ssoEnv is a console whose operators sign in through a real OpenID provider process.
type ssoEnv struct {
	*env
	idp      *idptest.IdP
	provider *lateProvider
	deps     handlers.Deps
}

// lateProvider is the console's provider, made once the console's address (its redirect
// URL) is known: newEnv builds the handler before its server exists.
type lateProvider struct{ p *sso.Provider }

func (l *lateProvider) Name() string { return l.p.Name() }
func (l *lateProvider) AuthURL(ctx context.Context, state, nonce, verifier string, maxAge time.Duration) (string, error) {
	return l.p.AuthURL(ctx, state, nonce, verifier, maxAge)
}
func (l *lateProvider) Exchange(ctx context.Context, code, verifier, nonce string) (sso.Identity, error) {
	return l.p.Exchange(ctx, code, verifier, nonce)
}
func (l *lateProvider) Role(groups []string) (string, bool) { return l.p.Role(groups) }

// testRoleMap maps the provider's groups as the tests' console does.
var testRoleMap = []sso.GroupRole{{Group: "console-admins", Role: "admin"}, {Group: "helpdesk", Role: "support"}}

func newSSOEnv(t *testing.T, users []idptest.User, opts ...option) *ssoEnv {
	t.Helper()
	for i := range users {
		users[i].Password = ssoPassword
	}
	s := &ssoEnv{idp: idptest.Start(t, idptest.Options{Users: users}), provider: &lateProvider{}}
	opts = append(opts, func(d *handlers.Deps) { d.SSO = s.provider }, func(d *handlers.Deps) { s.deps = *d })
	s.env = newEnv(t, opts...)
	s.provider.p = s.newProvider(testRoleMap)
	return s
}

// newProvider is a client of the test provider with role map m.
func (s *ssoEnv) newProvider(m []sso.GroupRole) *sso.Provider {
	s.t.Helper()
	p, err := sso.New(context.Background(), sso.Config{Issuer: s.idp.Issuer(), ClientID: "console", ClientSecret: "console-test-secret",
		RedirectURL: s.srv.URL + "/auth/oidc/callback", Name: "Test IdP", RoleMap: m})
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// ssoSignIn presses "Sign in with Test IdP" in b, signs in at the provider as email and
// returns the console's answer to the callback, and the callback's path and query.
func (s *ssoEnv) ssoSignIn(b *browser, email string) (*http.Response, string) {
	s.t.Helper()
	return s.callback(b, s.idp.Login(s.t, b.client, s.providerURL(b.post("/auth/oidc/start", nil)), email, ssoPassword))
}

// providerURL is where the console's page sends the browser on to the provider.
func (s *ssoEnv) providerURL(res *http.Response) string {
	s.t.Helper()
	page := body(res)
	m := continueLink.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil || !strings.Contains(page, `http-equiv="refresh"`) {
		s.t.Fatalf("no way on to the provider: %d %s", res.StatusCode, page)
	}
	target := html.UnescapeString(m[1])
	if !strings.HasPrefix(target, s.idp.Issuer()+"/") {
		s.t.Fatalf("sent on to %q, not the provider", target)
	}
	return target
}

var continueLink = regexp.MustCompile(`id="sso-continue" href="([^"]+)"`)

// callback follows the provider's redirect back to the console.
func (s *ssoEnv) callback(b *browser, callbackURL string) (*http.Response, string) {
	s.t.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil || !strings.HasPrefix(callbackURL, s.srv.URL+"/auth/oidc/callback?") {
		s.t.Fatalf("the provider sent the browser to %q", callbackURL)
	}
	return b.get(u.RequestURI()), u.RequestURI()
}

// ssoDetail decodes an event's Detail.
func ssoDetail(t *testing.T, ev audit.Event) map[string]any {
	t.Helper()
	d := map[string]any{}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatalf("detail %s: %v", ev.Detail, err)
	}
	return d
}

// The first single sign-on creates an operator with the mapped role, marked SSO and
// without a password; the sign-in event records the provider's amr and auth_time.
func TestSSOFirstSignInCreatesOperator(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Name: "Ann Admin", Groups: []string{"staff", "console-admins"}, AMR: []string{"pwd", "otp"}}})
	b := s.browser()
	if !strings.Contains(body(b.get("/login")), "Sign in with Test IdP") {
		t.Fatal("the sign-in page offers no single sign-on")
	}
	res, _ := s.ssoSignIn(b, "ann@example.com")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d %s %s", res.StatusCode, res.Header.Get("Location"), body(res))
	}
	op, err := s.ops.ByEmail(context.Background(), "ann@example.com")
	if err != nil || !op.SSO || op.PasswordHash != "" || op.Role != operators.RoleAdmin || op.Name != "Ann Admin" ||
		op.SSOSubject == nil || !strings.HasPrefix(*op.SSOSubject, s.idp.Issuer()+"|") {
		t.Fatalf("operator %+v, %v", op, err)
	}
	ev, ok := s.lastEvent(audit.ActionSignIn)
	d := ssoDetail(t, ev)
	if !ok || d["method"] != "sso" || !slices.Equal(toStrings(d["amr"]), []string{"pwd", "otp"}) || d["auth_time"] == nil || ev.Actor.OperatorID != op.ID {
		t.Fatalf("sign-in event %+v %s", ev, ev.Detail)
	}
	page := body(b.get("/operators"))
	if !strings.Contains(page, `>SSO</span>`) {
		t.Fatal("the operators page does not mark the SSO operator")
	}
	// The next sign-in finds the same operator by subject.
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", res.StatusCode)
	}
	if list, _ := s.ops.List(context.Background()); len(list) != 1 {
		t.Fatalf("%d operators after two sign-ins", len(list))
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// A user whose groups map to no role is refused, told why, and audited with the groups;
// no operator is created.
func TestSSOWithoutMappedGroupRefused(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "olga@example.com", Name: "Olga", Groups: []string{"staff"}}})
	res, _ := s.ssoSignIn(s.browser(), "olga@example.com")
	page := body(res)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your groups at Test IdP grant no console role") || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("no mapped group: %d %s", res.StatusCode, page)
	}
	ev, ok := s.lastEvent(audit.ActionSSORefused)
	if d := ssoDetail(t, ev); !ok || d["reason"] != "no mapped group" || !slices.Equal(toStrings(d["groups"]), []string{"staff"}) || ev.Actor.Email != "olga@example.com" {
		t.Fatalf("refusal event %+v %s", ev, ev.Detail)
	}
	if _, err := s.ops.ByEmail(context.Background(), "olga@example.com"); err == nil {
		t.Fatal("an operator was created for a refused user")
	}
}

// A callback is accepted once: the same answer again, or in a browser that never
// started a sign-in, is refused and audited.
func TestSSOReplayedStateRefused(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins"}}})
	b := s.browser()
	cb := s.idp.Login(t, b.client, s.providerURL(b.post("/auth/oidc/start", nil)), "ann@example.com", ssoPassword)
	other := s.browser()
	other.get("/login")
	if res, _ := s.callback(other, cb); res.StatusCode != http.StatusBadRequest || !strings.Contains(body(res), "does not belong to a sign-in started here") {
		t.Fatalf("callback in another browser: %d", res.StatusCode)
	}
	if res, _ := s.callback(b, cb); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d %s", res.StatusCode, body(res))
	}
	b.post("/logout", nil)
	if res, _ := s.callback(b, cb); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d %s", res.StatusCode, body(res))
	}
	n := 0
	for _, ev := range s.events() {
		if ev.Action == audit.ActionSSORefused && ssoDetail(t, ev)["reason"] == "state mismatch or already used" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d refusals audited, want 2", n)
	}
}

// An ID token that fails a check is refused in words and audited; nobody is signed in.
func TestSSOInvalidTokensRefused(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins"}}})
	for _, mode := range []string{"wrong-audience", "expired", "nonce-mismatch", "bad-signature"} {
		t.Run(mode, func(t *testing.T) {
			s.idp.Misbehave(mode)
			defer s.idp.Misbehave("none")
			b := s.browser()
			res, _ := s.ssoSignIn(b, "ann@example.com")
			page := body(res)
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "The answer from Test IdP was not accepted:") {
				t.Fatalf("%s: %d %s", mode, res.StatusCode, page)
			}
			ev, ok := s.lastEvent(audit.ActionSSORefused)
			if reason, _ := ssoDetail(t, ev)["reason"].(string); !ok || !strings.HasPrefix(reason, "invalid ID token") {
				t.Fatalf("%s: refusal %s", mode, ev.Detail)
			}
			if res := b.get("/"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: signed in after all", mode)
			}
		})
	}
}

// After the provider rotates its signing key, sign-in keeps working.
func TestSSOKeyRotation(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins"}}})
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("before rotation: %d", res.StatusCode)
	}
	s.idp.RotateKeys()
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after rotation: %d %s", res.StatusCode, body(res))
	}
}

// A password operator with the provider user's e-mail is not taken over: refused until an
// admin links them, then bound to the provider's subject, password kept.
func TestSSOPasswordOperatorNeedsLink(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "pat@example.com", Groups: []string{"helpdesk"}}})
	pat := s.operator("pat@example.com", operators.RoleSupport)
	res, _ := s.ssoSignIn(s.browser(), "pat@example.com")
	if page := body(res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Ask an admin to allow single sign-on") {
		t.Fatalf("unlinked: %d %s", res.StatusCode, page)
	}
	ev, _ := s.lastEvent(audit.ActionSSORefused)
	if ssoDetail(t, ev)["reason"] != "password operator not linked to single sign-on" || ev.Target.ID != strconv.FormatInt(pat.ID, 10) {
		t.Fatalf("refusal %+v %s", ev, ev.Detail)
	}
	admin, _ := s.signedIn(operators.RoleAdmin)
	if res := admin.post("/operators/"+strconv.FormatInt(pat.ID, 10)+"/sso", url.Values{"allowed": {"true"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d %s", res.StatusCode, body(res))
	}
	if !strings.Contains(body(admin.get("/operators")), "Linked to SSO") {
		t.Fatal("the operators page does not show the link")
	}
	if res, _ := s.ssoSignIn(s.browser(), "pat@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("linked: %d %s", res.StatusCode, body(res))
	}
	op, _ := s.ops.ByID(context.Background(), pat.ID)
	if op.SSOSubject == nil || op.PasswordHash == "" {
		t.Fatalf("after the linked sign-in: %+v", op)
	}
	if res := s.browser().login("pat@example.com", testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("password sign-in after the link: %d", res.StatusCode)
	}
}

// The role comes from the groups at every sign-in: a changed group changes the role
// (audited), a removed group loses access.
func TestSSOGroupsReadAtEverySignIn(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins", "helpdesk"}}})
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin: %d", res.StatusCode)
	}
	if op, _ := s.ops.ByEmail(context.Background(), "ann@example.com"); op.Role != operators.RoleAdmin {
		t.Fatalf("the first listed group did not win: %s", op.Role)
	}
	s.idp.SetUser(idptest.User{Email: "ann@example.com", Password: ssoPassword, Groups: []string{"helpdesk"}})
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("support: %d", res.StatusCode)
	}
	if op, _ := s.ops.ByEmail(context.Background(), "ann@example.com"); op.Role != operators.RoleSupport {
		t.Fatalf("role after the group change: %s", op.Role)
	}
	ev, ok := s.lastEvent(audit.ActionOperatorRoleChange)
	if !ok || !strings.Contains(string(ev.Before), "admin") || !strings.Contains(string(ev.After), "support") {
		t.Fatalf("role change not audited: %+v", ev)
	}
	s.idp.SetUser(idptest.User{Email: "ann@example.com", Password: ssoPassword, Groups: []string{}})
	if res, _ := s.ssoSignIn(s.browser(), "ann@example.com"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("removed group: %d", res.StatusCode)
	}
}

// A live single sign-on session ends at its next request once the role map no longer
// grants its role (a second console over the same database with another map).
func TestSSOChangedRoleMapEndsSession(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins"}}})
	b := s.browser()
	if res, _ := s.ssoSignIn(b, "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	if res := b.get("/"); res.StatusCode != http.StatusOK {
		t.Fatalf("home before: %d", res.StatusCode)
	}
	deps := s.deps
	deps.SSO = s.newProvider([]sso.GroupRole{{Group: "console-admins", Role: "support"}})
	changed := httptestServer(t, handlers.New(deps))
	req, _ := http.NewRequest(http.MethodGet, changed+"/", nil)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?role_changed=1" {
		t.Fatalf("with the changed map: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	ev, ok := s.lastEvent(audit.ActionAccessDenied)
	if !ok || ssoDetail(t, ev)["reason"] != "role mapping changed" {
		t.Fatalf("not audited: %+v", ev)
	}
	if res := b.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session survived: %d", res.StatusCode)
	}
}

// With local sign-in off, a password operator is refused and a break-glass one gets in.
func TestSSOLocalSignInOffBreakGlass(t *testing.T) {
	s := newSSOEnv(t, nil, func(d *handlers.Deps) { d.Identity.LocalSignInOff = true })
	plain := s.operator("plain@example.com", operators.RoleAdmin)
	glass := s.operator("glass@example.com", operators.RoleAdmin)
	if _, err := s.ops.SetBreakGlass(context.Background(), glass.ID, true); err != nil {
		t.Fatal(err)
	}
	if res := s.browser().login(plain.Email, testPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("password operator: %d", res.StatusCode)
	}
	if res := s.browser().login(glass.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("break-glass operator: %d %s", res.StatusCode, body(res))
	}
}

// An SSO admin whose authentication is older than the step-up window re-authenticates at
// the provider for a role change, then confirms the saved form: nothing is lost.
func TestSSOStepUp(t *testing.T) {
	s := newSSOEnv(t, []idptest.User{{Email: "ann@example.com", Groups: []string{"console-admins"}}})
	target := s.operator("target@example.com", operators.RoleSupport)
	b := s.browser()
	if res, _ := s.ssoSignIn(b, "ann@example.com"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	s.clock.Add(10 * time.Minute)
	path := "/operators/" + strconv.FormatInt(target.ID, 10) + "/role"
	prompt := b.post(path, url.Values{"role": {"auditor"}})
	if page := body(prompt); !strings.Contains(page, `action="/auth/oidc/step-up"`) {
		t.Fatalf("no step-up prompt: %d %s", prompt.StatusCode, page)
	}
	authURL := s.providerURL(b.post("/auth/oidc/step-up", url.Values{"_step_up_path": {path}, "role": {"auditor"}}))
	if !strings.Contains(authURL, "max_age=0") {
		t.Fatalf("step-up does not force a new authentication: %s", authURL)
	}
	s.clock.Add(-10 * time.Minute) // the provider's auth_time is the real time
	res, _ := s.callback(b, s.idp.Login(t, b.client, authURL, "ann@example.com", ssoPassword))
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Confirm and continue") || !strings.Contains(page, `action="`+path+`"`) ||
		!strings.Contains(page, `name="role" value="auditor"`) {
		t.Fatalf("confirm page: %d %s", res.StatusCode, page)
	}
	if ev, ok := s.lastEvent(audit.ActionStepUp); !ok || ev.Outcome != audit.OutcomeSucceeded || ssoDetail(t, ev)["method"] != "sso" {
		t.Fatalf("step-up not audited: %+v", ev)
	}
	if res := b.post(path, url.Values{"role": {"auditor"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed role change: %d %s", res.StatusCode, body(res))
	}
	if op, _ := s.ops.ByID(context.Background(), target.ID); op.Role != operators.RoleAuditor {
		t.Fatalf("role after the step-up: %s", op.Role)
	}
	// A path that is not a step-up route is refused.
	if res := b.post("/auth/oidc/step-up", url.Values{"_step_up_path": {"/logout"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("step-up to /logout: %d", res.StatusCode)
	}
}

// httptestServer serves h until the test ends and returns its URL.
func httptestServer(t *testing.T, h *handlers.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h.Echo())
	t.Cleanup(srv.Close)
	return srv.URL
}
