package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// An admin signs in, adds a support operator and an auditor, and signs out; the new
// support operator signs in with the one-time password and is asked to change it.
func TestAdminAddsOperators(t *testing.T) {
	c := startConsole(t)
	page, _ := c.signIn(operators.RoleAdmin)
	browsertest.Screenshot(t, page, "home-admin")
	checkA11y(t, page, "home-admin")
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Operators", Exact: playwright.Bool(true)}).First().Click())
	expectVisible(t, heading(page, "Operators"))

	add := func(email, name, role string) string {
		check(t, page.GetByLabel("E-mail", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill(email))
		check(t, page.GetByLabel("Name", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill(name))
		_, err := page.GetByLabel("Role", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).SelectOption(playwright.SelectOptionValues{Values: &[]string{role}})
		check(t, err)
		check(t, button(page, "Add operator").Click())
		expectText(t, page.GetByRole("status").First(), "Operator "+email+" added")
		pw, err := page.Locator("code.secret").TextContent()
		check(t, err)
		return pw
	}
	supportPW := add("sam.support@example.com", "Sam Support", "support")
	browsertest.Screenshot(t, page, "operators-added")
	checkA11y(t, page, "operators-added")
	add("alex.auditor@example.com", "Alex Auditor", "auditor")
	expectVisible(t, page.GetByRole("cell", playwright.PageGetByRoleOptions{Name: "sam.support@example.com", Exact: playwright.Bool(true)}))

	// A bad e-mail gets a field message and adds nobody.
	check(t, page.GetByLabel("E-mail", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill("not-an-email"))
	check(t, page.GetByLabel("Name", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill("Nobody"))
	check(t, button(page, "Add operator").Click())
	expectText(t, page.Locator("#email-error"), "Enter an e-mail address")
	browsertest.Screenshot(t, page, "operators-invalid")
	checkA11y(t, page, "operators-invalid")

	check(t, button(page, "Sign out").Click())
	expectText(t, page.GetByRole("status"), "You have signed out.")
	browsertest.Screenshot(t, page, "signed-out")
	checkA11y(t, page, "signed-out")

	// The one-time password opens only the form that changes it (the rest of that journey:
	// password_test.go).
	c.signInAs(page, "sam.support@example.com", supportPW)
	expectVisible(t, heading(page, "Change your password"))
	if n := len(c.events(audit.ActionOperatorCreate)); n < 4 { // two intents and two outcomes
		t.Fatalf("%d operator.create events, want at least 4", n)
	}
}

// Access control: support opening settings and the auditor opening customers get the
// 403 page; an anonymous visitor gets the sign-in page.
func TestAccessControlPages(t *testing.T) {
	c := startConsole(t)
	anon := browsertest.NewPage(t)
	browsertest.Goto(t, anon, c.URL+"/login")
	if _, err := anon.Goto(c.URL + "/customers"); err != nil {
		t.Fatal(err)
	}
	expectVisible(t, heading(anon, "Sign in"))
	browsertest.Screenshot(t, anon, "sign-in")
	checkA11y(t, anon, "sign-in")

	support, _ := c.signIn(operators.RoleSupport)
	res, err := support.Goto(c.URL + "/settings")
	check(t, err)
	if res.Status() != 403 {
		t.Fatalf("support on /settings: %d", res.Status())
	}
	expectVisible(t, heading(support, "Not allowed"))
	browsertest.Screenshot(t, support, "forbidden")
	checkA11y(t, support, "forbidden")

	auditor, _ := c.signIn(operators.RoleAuditor)
	res, err = auditor.Goto(c.URL + "/customers")
	check(t, err)
	if res.Status() != 403 {
		t.Fatalf("auditor on /customers: %d", res.Status())
	}
	expectVisible(t, heading(auditor, "Not allowed"))
	if n := len(c.events(audit.ActionAccessDenied)); n != 2 {
		t.Fatalf("%d denials audited, want 2", n)
	}
}
