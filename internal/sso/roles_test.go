package sso_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/raas-console/console/internal/idptest"
	"github.com/raas-console/console/internal/sso"
)

// TestRole: the first RoleMap entry, in configured order, whose group the user has wins.
func TestRole(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1", func(c *sso.Config) {
		c.RoleMap = []sso.GroupRole{{Group: "helpdesk", Role: "support"}, {Group: "console-admins", Role: "admin"}, {Group: "audit", Role: "auditor"}}
	})
	for _, tc := range []struct {
		groups []string
		role   string
		ok     bool
	}{
		{[]string{"console-admins", "helpdesk"}, "support", true}, // map order, not the user's order
		{[]string{"audit", "console-admins"}, "admin", true},
		{[]string{"audit"}, "auditor", true},
		{[]string{"staff", "Console-Admins"}, "", false}, // group names are exact
		{nil, "", false},
	} {
		role, ok := p.Role(tc.groups)
		if role != tc.role || ok != tc.ok {
			t.Errorf("Role(%q) = %q, %v; want %q, %v", tc.groups, role, ok, tc.role, tc.ok)
		}
	}
}

// TestGroupsAsString: a roles claim written as one string (spaces or commas) is read as
// a list; a changed user gets the new groups at the next sign-in.
func TestGroupsAsString(t *testing.T) {
	cy := idptest.User{Email: "cy@example.com", Password: "pw-cy", Claims: map[string]any{"roles": "helpdesk, console-admins staff"}}
	idp := startIdP(t, cy)
	p := newProvider(t, idp.Issuer(), func(c *sso.Config) {
		c.RolesClaim = "roles"
		c.RoleMap = []sso.GroupRole{{Group: "console-admins", Role: "admin"}, {Group: "helpdesk", Role: "support"}}
	})
	id, err := signIn(t, idp, p, newBrowser(t), cy, -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"helpdesk", "console-admins", "staff"}; !slices.Equal(id.Groups, want) {
		t.Fatalf("groups %q, want %q", id.Groups, want)
	}
	if role, ok := p.Role(id.Groups); role != "admin" || !ok {
		t.Errorf("role %q %v, want admin", role, ok)
	}
	cy.Claims = map[string]any{"roles": "staff"}
	idp.SetUser(cy)
	id, err = signIn(t, idp, p, newBrowser(t), cy, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Role(id.Groups); ok {
		t.Errorf("groups %q after the change still map to a role", id.Groups)
	}
}

// TestReauthentication: the provider remembers a sign-in (auth_time stays), max_age=0
// with prompt=login makes the user type the password again (auth_time moves on).
func TestReauthentication(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	browser := newBrowser(t)
	first, err := signIn(t, idp, p, browser, ann, -1)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // auth_time has whole seconds
	// A wrong password would fail the login if the form were shown: the session answers.
	again, err := signIn(t, idp, p, browser, idptest.User{Email: ann.Email, Password: "not asked"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AuthTime.Equal(first.AuthTime) {
		t.Errorf("session reuse: auth_time %s, want the first %s", again.AuthTime, first.AuthTime)
	}
	fresh, err := signIn(t, idp, p, browser, ann, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.AuthTime.After(first.AuthTime) {
		t.Errorf("forced login: auth_time %s, want after %s", fresh.AuthTime, first.AuthTime)
	}
}

// jwksKids lists the key ids the provider publishes.
func jwksKids(t *testing.T, issuer string) []string {
	t.Helper()
	resp, err := http.Get(issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// TestStaleAuthTime: a provider that ignores max_age and reports an old auth_time is
// not hidden: Identity.AuthTime says when the user really authenticated.
func TestStaleAuthTime(t *testing.T) {
	idp := startIdP(t)
	p := newProvider(t, idp.Issuer())
	idp.Misbehave("stale-auth-time")
	id, err := signIn(t, idp, p, newBrowser(t), ann, 0)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(id.AuthTime); age < 59*time.Minute || age > 61*time.Minute {
		t.Errorf("auth_time %s ago, want an hour", age)
	}
}
