package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

var secretRE = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

// oneTimePassword is the one-time password a page shows once.
func oneTimePassword(t *testing.T, page string) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no one-time password on the page:\n%s", page)
	}
	return m[1]
}

// addOperator has admin add an operator on the Operators page and returns the one-time
// password the page shows.
func addOperator(t *testing.T, admin *browser, email string) string {
	t.Helper()
	res := admin.post("/operators", url.Values{"email": {email}, "name": {"New One"}, "role": {"support"}})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("add operator: %d %s", res.StatusCode, body(res))
	}
	return oneTimePassword(t, body(res))
}

func changePassword(b *browser, current, next, confirm string) *http.Response {
	return b.post("/password", url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}})
}

// mustRedirectTo fails unless res is a See Other to loc.
func mustRedirectTo(t *testing.T, what string, res *http.Response, loc string) {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != loc {
		t.Fatalf("%s: %d Location %q, want 303 to %s", what, res.StatusCode, res.Header.Get("Location"), loc)
	}
}

// SECURITY.md 29: a password the console generated only opens the form that changes it.
// Before, the one-time password from the Operators page signed in to the home page and
// opened every page of the role for ever.
func TestOneTimePasswordOpensOnlyTheChangeForm(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	oneTime := addOperator(t, admin, "fresh@example.com")

	if page := body(admin.get("/operators")); !strings.Contains(page, "One-time password</span>") {
		t.Fatal("the Operators page does not show that the new operator has a one-time password")
	}
	b := e.browser()
	mustRedirectTo(t, "sign-in with the one-time password", b.post("/login?next=%2Fcustomers",
		url.Values{"email": {"fresh@example.com"}, "password": {oneTime}}), "/password")
	for _, path := range []string{"/", "/customers", "/customers/5010001", "/settings", "/audit", "/sandbox/outbox"} {
		mustRedirectTo(t, "GET "+path+" before the change", b.get(path), "/password")
	}
	if res := b.htmxGet("/customers"); res.Header.Get("HX-Redirect") != "/password" || strings.Contains(body(res), "<form") {
		t.Fatalf("htmx before the change: %d HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	mustRedirectTo(t, "POST a customer action before the change",
		b.post("/customers/5010001/password-reset", url.Values{"reason": {"asked by phone"}}), "/password")
	if n := e.sim.RequestCount("accounts.password_reset"); n != 0 {
		t.Fatalf("a one-time password reached Synerise: %d calls", n)
	}
	if ev, ok := e.lastEvent(audit.ActionAccessDenied); !ok || !strings.Contains(string(ev.Detail), "password change required") {
		t.Fatalf("refused POST not audited: %+v", ev)
	}
	res := b.get("/password")
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="password-forced"`) || strings.Contains(page, `href="/customers"`) {
		t.Fatalf("the change form: %d\n%s", res.StatusCode, page)
	}

	const chosen = "my-own-Secret-phrase-77"
	for _, bad := range []struct{ current, next, confirm, field string }{
		{"", chosen, chosen, "current_password"},
		{oneTime, "short-1", "short-1", "new_password"},
		{oneTime, "password1234", "password1234", "new_password"},
		{oneTime, "fresh-and-long-password", "fresh-and-long-password", "new_password"}, // contains the e-mail
		{oneTime, chosen, chosen + "x", "confirm_password"},
		{"not-the-one-time-password", chosen, chosen, "current_password"},
		{oneTime, oneTime, oneTime, "new_password"},
	} {
		res := changePassword(b, bad.current, bad.next, bad.confirm)
		page := body(res)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="`+bad.field+`-error"`) {
			t.Fatalf("change with %+v: %d, want 422 naming %s\n%s", bad, res.StatusCode, bad.field, page)
		}
		for _, pw := range []string{bad.current, bad.next, bad.confirm} {
			if pw != "" && strings.Contains(page, "value=\""+pw) {
				t.Fatalf("the form shows a password back")
			}
		}
	}
	mustRedirectTo(t, "still forced after refusals", b.get("/customers"), "/password")

	mustRedirectTo(t, "the change", changePassword(b, oneTime, chosen, chosen), "/")
	res = b.get("/")
	if page := body(res); res.StatusCode != http.StatusOK || !strings.Contains(page, "Password changed.") {
		t.Fatalf("home after the change: %d\n%s", res.StatusCode, page)
	}
	if res := b.get("/customers"); res.StatusCode != http.StatusOK {
		t.Fatalf("customers after the change: %d", res.StatusCode)
	}

	// The one-time password is dead; the chosen one signs in straight to where it was asked.
	if res := e.browser().login("fresh@example.com", oneTime); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("one-time password after the change: %d", res.StatusCode)
	}
	mustRedirectTo(t, "sign-in with the chosen password", e.browser().post("/login?next=%2Fcustomers",
		url.Values{"email": {"fresh@example.com"}, "password": {chosen}}), "/customers")

	ev, ok := e.lastEvent(audit.ActionPasswordChange)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || ev.IntentSeq == 0 || ev.Actor.Email != "fresh@example.com" {
		t.Fatalf("the change is not audited as intent and outcome: %+v", ev)
	}
	failed := 0
	for _, ev := range e.events() {
		if ev.Action == audit.ActionPasswordChange && ev.Outcome == audit.OutcomeFailed {
			failed++
		}
	}
	if failed != 7 {
		t.Fatalf("%d refused changes audited, want 7", failed)
	}
	e.noPasswordStored(oneTime, chosen, "not-the-one-time-password", "password1234")
}

// noPasswordStored fails when any audit row, session or log line holds one of pws.
func (e *env) noPasswordStored(pws ...string) {
	e.t.Helper()
	for _, pw := range pws {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT
				(SELECT count(*) FROM audit_events a WHERE strpos(row_to_json(a)::text, $1) > 0) +
				(SELECT count(*) FROM sessions s WHERE strpos(s.data::text, $1) > 0)`, pw).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n != 0 {
			e.t.Fatalf("%d audit rows or sessions hold a password", n)
		}
		if strings.Contains(e.logs.String(), pw) {
			e.t.Fatal("the log holds a password")
		}
	}
}

// Changing one's password ends one's other sessions and keeps this one under a new id.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	other := e.browser()
	mustRedirectTo(t, "second sign-in", other.login(op.Email, testPassword), "/")
	before := b.client.Jar.Cookies(mustURL(e.srv.URL))

	if res := b.get("/password"); res.StatusCode != http.StatusOK || strings.Contains(body(res), `id="password-forced"`) {
		t.Fatalf("self-service form: %d", res.StatusCode)
	}
	mustRedirectTo(t, "change", changePassword(b, testPassword, "a-Brand-new-phrase-2026", "a-Brand-new-phrase-2026"), "/")
	if res := b.get("/customers"); res.StatusCode != http.StatusOK {
		t.Fatalf("this browser after its change: %d", res.StatusCode)
	}
	if res := other.get("/customers"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("the other browser's session survived the change: %d", res.StatusCode)
	}
	replay := e.browser()
	replay.client.Jar.SetCookies(mustURL(e.srv.URL), before)
	if res := replay.get("/customers"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session id from before the change still works: %d", res.StatusCode)
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE operator_id = $1`, op.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d sessions left, want this browser's one", n)
	}
}

// Wrong current passwords on the change form count against the lockout like sign-ins.
func TestPasswordChangeGuessesLockTheAccount(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	for i := 0; i < operators.MaxFailures+2; i++ {
		if res := changePassword(b, "guess-number-"+itoa(int64(i)), "a-Brand-new-phrase-2026", "a-Brand-new-phrase-2026"); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
	}
	if n := e.failedSignins(op.ID); n != operators.MaxFailures {
		t.Fatalf("failed_signins = %d, want %d", n, operators.MaxFailures)
	}
	if _, ok := e.lastEvent(audit.ActionLockout); !ok {
		t.Fatal("lockout not audited")
	}
	if res := changePassword(b, testPassword, "a-Brand-new-phrase-2026", "a-Brand-new-phrase-2026"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("right password while locked: %d, want 422", res.StatusCode)
	}
}

// An admin's reset issues a one-time password shown once, ends the operator's sessions,
// and the operator must change it at sign-in. Before, there was no way to reset.
func TestAdminResetsAnOperatorsPassword(t *testing.T) {
	e := newEnv(t)
	admin, self := e.signedIn(operators.RoleAdmin)
	victim, op := e.signedIn(operators.RoleSupport)
	if page := body(admin.get("/operators")); !strings.Contains(page, `action="/operators/`+itoa(op.ID)+`/password"`) {
		t.Fatal("no Reset password button for the operator")
	}
	res := admin.post("/operators/"+itoa(op.ID)+"/password", nil)
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "New one-time password for "+op.Email) {
		t.Fatalf("reset: %d\n%s", res.StatusCode, page)
	}
	oneTime := oneTimePassword(t, page)
	if res := victim.get("/customers"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the operator's session survived the reset: %d", res.StatusCode)
	}
	if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password after a reset: %d", res.StatusCode)
	}
	b := e.browser()
	mustRedirectTo(t, "sign-in with the reset password", b.login(op.Email, oneTime), "/password")
	mustRedirectTo(t, "customers before the change", b.get("/customers"), "/password")
	mustRedirectTo(t, "change", changePassword(b, oneTime, "after-the-Reset-phrase-1", "after-the-Reset-phrase-1"), "/")

	ev, ok := e.lastEvent(audit.ActionOperatorPasswordReset)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || ev.IntentSeq == 0 || ev.Actor.OperatorID != self.ID || ev.Target.ID != itoa(op.ID) {
		t.Fatalf("reset not audited as intent and outcome: %+v", ev)
	}
	if res := admin.post("/operators/"+itoa(self.ID)+"/password", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reset of oneself: %d, want 422", res.StatusCode)
	}
	if res := admin.post("/operators/999999/password", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("reset of nobody: %d, want 404", res.StatusCode)
	}
	support, _ := e.signedIn(operators.RoleSupport)
	if res := support.post("/operators/"+itoa(op.ID)+"/password", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("reset by support: %d, want 403", res.StatusCode)
	}
	e.noPasswordStored(oneTime, "after-the-Reset-phrase-1")
}
