package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// firefoxOnWindows is what the second browser says it is, so the two rows differ.
const firefoxOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"

// An operator signed in from two browsers sees both on Your sessions, this one marked,
// ends the other from the first, and the other is sent to sign-in at its next click.
func TestOperatorEndsAnotherBrowsersSession(t *testing.T) {
	c := startConsole(t)
	email := c.operator(operators.RoleSupport)
	first := browsertest.NewPage(t)
	c.signInAs(first, email, testPassword)
	second := browsertest.NewPage(t)
	check(t, second.SetExtraHTTPHeaders(map[string]string{"User-Agent": firefoxOnWindows}))
	c.signInAs(second, email, testPassword)

	check(t, linkNamed(first, "Sessions").Click())
	expectVisible(t, heading(first, "Your sessions"))
	table := first.GetByRole("table", playwright.PageGetByRoleOptions{Name: "Active sessions (2)"})
	expectVisible(t, table)
	this := table.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: "This session"})
	expectText(t, this, "Headless Chrome")
	expectText(t, this, "127.0.0.1")
	expectText(t, this, "Password")
	other := table.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: "Firefox 128 on Windows"})
	expectText(t, other, "127.0.0.1")
	if n, err := this.GetByRole("button").Count(); err != nil || n != 0 {
		t.Fatalf("this session offers %d buttons (%v); signing out ends it", n, err)
	}
	browsertest.Screenshot(t, first, "sessions-two-browsers")
	checkA11y(t, first, "sessions-two-browsers")

	check(t, other.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "End session"}).Click())
	expectText(t, first.GetByRole("status").First(), "Session ended: Firefox 128 on Windows at 127.0.0.1")
	expectVisible(t, first.GetByRole("table", playwright.PageGetByRoleOptions{Name: "Active sessions (1)"}))
	browsertest.Screenshot(t, first, "sessions-other-ended")
	checkA11y(t, first, "sessions-other-ended")

	check(t, linkNamed(second, "Customers").First().Click())
	expectVisible(t, second.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)}))
	browsertest.Goto(t, first, c.URL+"/customers")
	expectVisible(t, heading(first, "Customers"))

	evs := c.events(audit.ActionSessionEnd)
	if len(evs) != 2 || evs[1].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("session end events: %+v", evs)
	}
}

// An admin ends every session of an operator from Operators: the operator's browser is
// sent to sign-in at its next click, and the log says how many sessions ended.
func TestAdminEndsAllSessionsOfAnOperator(t *testing.T) {
	c := startConsole(t)
	admin, _ := c.signIn(operators.RoleAdmin)
	support, email := c.signIn(operators.RoleSupport)

	check(t, linkNamed(admin, "Operators").First().Click())
	expectVisible(t, heading(admin, "Operators"))
	check(t, button(admin, "End all sessions of "+email).Click())
	expectText(t, admin.GetByRole("status").First(), email+": 1 session ended.")

	check(t, linkNamed(support, "Customers").First().Click())
	expectVisible(t, support.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)}))
	evs := c.events(audit.ActionOperatorSessions)
	if len(evs) != 2 || evs[1].Outcome != audit.OutcomeSucceeded || evs[1].Target.Label != email {
		t.Fatalf("operator sessions events: %+v", evs)
	}
}
