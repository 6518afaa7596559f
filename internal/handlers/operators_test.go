package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

// An admin marks another operator break-glass and removes the mark: each change is
// audited with the state before and after, and the page shows the mark.
func TestOperatorsBreakGlassToggle(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	other := e.operator("other-"+randSuffix()+"@example.com", operators.RoleSupport)
	path := "/operators/" + strconv.FormatInt(other.ID, 10) + "/break-glass"
	if res := admin.post(path, url.Values{"break_glass": {"true"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("break-glass on: %d %s", res.StatusCode, body(res))
	}
	if op, _ := e.ops.ByID(context.Background(), other.ID); !op.BreakGlass {
		t.Fatal("not break-glass after the toggle")
	}
	ev, ok := e.lastEvent(audit.ActionOperatorBreakGlass)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.After), `"break_glass":true`) || ev.Target.ID != strconv.FormatInt(other.ID, 10) {
		t.Fatalf("audit outcome: %+v after %s", ev, ev.After)
	}
	if intent, err := e.audit.Get(context.Background(), ev.IntentSeq); err != nil || !strings.Contains(string(intent.Before), `"break_glass":false`) {
		t.Fatalf("audit intent: %+v, %v", intent, err)
	}
	page := body(admin.get("/operators"))
	if !strings.Contains(page, `>Break-glass</span>`) || !strings.Contains(page, "Remove break-glass") {
		t.Fatal("the page does not mark the break-glass operator")
	}
	admin.post(path, url.Values{"break_glass": {"false"}})
	if op, _ := e.ops.ByID(context.Background(), other.ID); op.BreakGlass {
		t.Fatal("still break-glass after removing it")
	}
}

// The page marks an operator created by single sign-on "SSO" and offers no password reset
// for them (they have none); every other operator gets "End all sessions"; linking to
// single sign-on is refused while it is off.
func TestOperatorsPageSSOMarks(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	ssoOp, err := e.ops.CreateSSO(context.Background(), "sso-"+randSuffix()+"@example.com", "Sso", operators.RoleSupport, "iss|"+randSuffix())
	if err != nil {
		t.Fatal(err)
	}
	pw := e.operator("pw-"+randSuffix()+"@example.com", operators.RoleSupport)
	page := body(admin.get("/operators"))
	row := func(email string) string {
		i := strings.Index(page, email)
		if i < 0 {
			t.Fatalf("%s not listed", email)
		}
		end := strings.Index(page[i:], "</tr>")
		return page[i : i+end]
	}
	if r := row(ssoOp.Email); !strings.Contains(r, `>SSO</span>`) || strings.Contains(r, "Reset password") || !strings.Contains(r, "End all sessions") {
		t.Fatalf("SSO operator's row: %s", r)
	}
	if r := row(pw.Email); strings.Contains(r, `>SSO</span>`) || !strings.Contains(r, "Reset password") ||
		!strings.Contains(r, `action="/operators/`+strconv.FormatInt(pw.ID, 10)+`/sessions/end"`) {
		t.Fatalf("password operator's row: %s", r)
	}
	res := admin.post("/operators/"+strconv.FormatInt(pw.ID, 10)+"/sso", url.Values{"allowed": {"true"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("link with single sign-on off: %d", res.StatusCode)
	}
	if op, _ := e.ops.ByID(context.Background(), pw.ID); op.SSO {
		t.Fatal("linked with single sign-on off")
	}
}

// An operator created by single sign-on has no password: a reset is refused on the server,
// not only hidden from the page, and nothing changes.
func TestSSOOperatorPasswordResetRefused(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	ssoOp, err := e.ops.CreateSSO(context.Background(), "sso-"+randSuffix()+"@example.com", "Sso", operators.RoleSupport, "iss|"+randSuffix())
	if err != nil {
		t.Fatal(err)
	}
	res := admin.post("/operators/"+strconv.FormatInt(ssoOp.ID, 10)+"/password", nil)
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "has no password to reset") {
		t.Fatalf("reset of an SSO operator: %d\n%s", res.StatusCode, page)
	}
	after, err := e.ops.ByID(context.Background(), ssoOp.ID)
	if err != nil || after.PasswordHash != "" || after.MustChangePassword {
		t.Fatalf("after the refused reset: %+v, %v", after, err)
	}
}

// An operator created by single sign-on has no console password: the password form says
// so instead of asking for a current password they never had, and a change is refused
// without counting against their sign-in lockout.
func TestSSOOperatorHasNoPasswordToChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b, op := e.signedIn(operators.RoleSupport)
	// As single sign-on creates them: no password hash.
	if _, err := e.pool.Exec(ctx, `UPDATE operators SET sso = true, password_hash = '' WHERE id = $1`, op.ID); err != nil {
		t.Fatal(err)
	}
	if res := b.get("/password"); res.StatusCode != http.StatusConflict || !strings.Contains(body(res), "no console password") {
		t.Fatalf("password form: %d", res.StatusCode)
	}
	res := b.post("/password", url.Values{"current_password": {"x"}, "new_password": {"a-new-password-42"}, "confirm_password": {"a-new-password-42"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("password change: %d", res.StatusCode)
	}
	after, err := e.ops.ByID(ctx, op.ID)
	if err != nil || after.PasswordHash != "" || after.FailedSignins != 0 {
		t.Fatalf("after: %+v %v", after, err)
	}
}
