package e2e

import (
	"strconv"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// visit opens path, waits for its h1 (any h1 when h1 is empty) and checks the page (axe, and its markup for the
// Nu HTML Checker).
func visit(t *testing.T, c *console, page playwright.Page, path, h1, state string) {
	t.Helper()
	browsertest.Goto(t, page, c.URL+path)
	if h1 == "" {
		expectVisible(t, page.GetByRole("heading", playwright.PageGetByRoleOptions{Level: playwright.Int(1)}))
	} else {
		expectVisible(t, heading(page, h1))
	}
	checkA11y(t, page, state)
}

// Accessibility journey: the pages and states the other journeys do not reach, for each
// role — the sign-in error, a search without a match, the GDPR forms and their errors,
// approvals, the account pages, the audit log's filters (valid and not) and integrity,
// operators and settings — each checked at WCAG 2.2 AA and kept for the HTML check.
func TestEveryPageIsAccessible(t *testing.T) {
	c := startConsole(t)
	anna := exampleCustomer(t, c, simulator.StateActivated)
	annaPath := "/customers/" + strconv.FormatInt(anna.ClientID, 10)
	annaName := anna.FirstName + " " + anna.LastName

	anon := browsertest.NewPage(t)
	browsertest.Goto(t, anon, c.URL+"/login")
	check(t, anon.GetByLabel("E-mail").Fill("nobody@example.com"))
	check(t, anon.GetByLabel("Password").Fill("wrong password"))
	check(t, button(anon, "Sign in").Click())
	expectVisible(t, anon.GetByRole("alert"))
	checkA11y(t, anon, "sign-in-error")

	support, _ := c.signIn(operators.RoleSupport)
	checkA11y(t, support, "home-support")
	visit(t, c, support, "/customers", "Customers", "search-empty")
	check(t, support.GetByLabel("Find a customer").Fill("nobody.at.all@example.com"))
	expectText(t, support.Locator("#results").GetByRole("status"), "No such customer")
	checkA11y(t, support, "search-no-match")
	visit(t, c, support, annaPath+"/email", "", "email-change-form")
	check(t, button(support, "Check the new address").Click())
	expectVisible(t, support.Locator("[aria-invalid=true]").First())
	checkA11y(t, support, "email-change-errors")
	visit(t, c, support, annaPath+"/erase", "Erase "+annaName, "erase-form")
	visit(t, c, support, annaPath+"/export", "", "export-form")
	visit(t, c, support, "/approvals", "Approvals", "approvals-list")
	visit(t, c, support, "/account/security", "Sign-in security", "account-security")
	visit(t, c, support, "/account/passkeys", "Passkeys", "account-passkeys")
	visit(t, c, support, "/account/sessions", "Your sessions", "account-sessions")
	visit(t, c, support, "/password", "Change your password", "password-change")

	auditor, _ := c.signIn(operators.RoleAuditor)
	visit(t, c, auditor, "/audit", "Audit log", "audit-log")
	visit(t, c, auditor, "/audit?outcome=succeeded&action=auth.signin", "Audit log", "audit-log-filtered")
	if _, err := auditor.Goto(c.URL + "/audit?from=not-a-time"); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, auditor.Locator("[aria-invalid=true]").First())
	checkA11y(t, auditor, "audit-log-filter-error")
	signIns := c.events(audit.ActionSignIn)
	visit(t, c, auditor, "/audit/"+strconv.FormatInt(signIns[0].Seq, 10), "Audit event "+strconv.FormatInt(signIns[0].Seq, 10), "audit-event")
	visit(t, c, auditor, "/audit/integrity", "Audit log integrity", "audit-integrity")

	admin, _ := c.signIn(operators.RoleAdmin)
	visit(t, c, admin, "/operators", "Operators", "operators")
	visit(t, c, admin, "/settings", "RaaS settings", "settings-form")
	visit(t, c, admin, "/settings/history", "History of RaaS settings changes", "settings-history-empty")
	visit(t, c, admin, "/approvals", "Approvals", "approvals-admin")
}
