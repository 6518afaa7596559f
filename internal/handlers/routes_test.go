package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

// TestEveryRouteEnforcesItsRoles walks every route × {anonymous, support, admin,
// auditor}. It fails on a route registered outside the table, on an anonymous request
// that is not sent to sign-in, and on a role that gets in where the table says no (or is
// refused where it says yes).
func TestEveryRouteEnforcesItsRoles(t *testing.T) {
	// Every identity part on, so their routes are in the walk too.
	e := newEnv(t, withTOTP("none"), withPasskeys(t, "none"))
	table := map[string]bool{}
	for _, r := range e.handler.Routes() {
		table[r.Method+" "+r.Path] = true
	}
	for _, r := range e.handler.Echo().Routes() {
		if !table[r.Method+" "+r.Path] {
			t.Errorf("route %s %s is served but missing from the route table", r.Method, r.Path)
		}
	}
	browsers := map[operators.Role]*browser{}
	for _, role := range operators.Roles() {
		browsers[role], _ = e.signedIn(role)
	}
	anon := e.browser()
	for _, r := range e.handler.Routes() {
		path := strings.NewReplacer(":id", "999999", ":seq", "1", ":ref", "999999", "*", "app.css").Replace(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			send := func(b *browser) *http.Response {
				if r.Method == http.MethodGet {
					return b.get(path)
				}
				return b.post(path, nil)
			}
			if !r.Public {
				res := send(anon)
				if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
					t.Errorf("anonymous: %d %s, want a redirect to sign-in", res.StatusCode, res.Header.Get("Location"))
				}
			}
			for _, role := range operators.Roles() {
				if r.Path == "/logout" {
					continue // signing out would end the shared browsers
				}
				res := send(browsers[role])
				if r.Allows(role) && res.StatusCode == http.StatusForbidden {
					t.Errorf("%s refused on a route that allows it: %s", role, body(res))
				}
				if !r.Allows(role) && res.StatusCode != http.StatusForbidden {
					t.Errorf("%s got %d on a route that does not allow it, want 403", role, res.StatusCode)
				}
			}
		})
	}
	if ev, ok := e.lastEvent(audit.ActionAccessDenied); !ok || ev.Outcome != audit.OutcomeDenied {
		t.Fatal("denials were not audited")
	}
}

func TestForbiddenPageIsAuditedAndTells(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleAuditor)
	res := b.get("/customers")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body(res), "Not allowed") {
		t.Fatalf("auditor on /customers: %d", res.StatusCode)
	}
	ev, ok := e.lastEvent(audit.ActionAccessDenied)
	if !ok || ev.Actor.OperatorID != op.ID || ev.Target.ID != "GET /customers" {
		t.Fatalf("denial audit: %+v", ev)
	}
}
