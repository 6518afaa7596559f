package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// An admin adds a support operator; the operator signs in with the one-time password and
// is taken to the form that changes it — every other page sends them back there — chooses
// their own password, and reaches the customer search. Their one-time password no longer
// works. Later the admin resets it: a new one-time password, shown once, and the operator's
// open session ends.
func TestOneTimePasswordMustBeChanged(t *testing.T) {
	c := startConsole(t)
	admin, _ := c.signIn(operators.RoleAdmin)
	check(t, linkNamed(admin, "Operators").First().Click())
	expectVisible(t, heading(admin, "Operators"))
	exact := playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}
	check(t, admin.GetByLabel("E-mail", exact).Fill("pat.new@example.com"))
	check(t, admin.GetByLabel("Name", exact).Fill("Pat New"))
	check(t, button(admin, "Add operator").Click())
	expectText(t, admin.GetByRole("status").First(), "Operator pat.new@example.com added")
	oneTime, err := admin.Locator("code.secret").TextContent()
	check(t, err)

	page := browsertest.NewPage(t)
	c.signInAs(page, "pat.new@example.com", oneTime)
	expectVisible(t, heading(page, "Change your password"))
	expectText(t, page.Locator("#password-forced"), "Choose your own password to continue")
	if n, err := linkNamed(page, "Customers").Count(); err != nil || n != 0 {
		t.Fatalf("the forced change form offers %d Customers links (%v)", n, err)
	}
	browsertest.Goto(t, page, c.URL+"/customers")
	expectVisible(t, heading(page, "Change your password"))

	// A mistyped repetition is refused next to its field.
	check(t, page.GetByLabel("Current password").Fill(oneTime))
	check(t, page.GetByLabel("New password", exact).Fill("Pat-chooses-this-one-42"))
	check(t, page.GetByLabel("New password again").Fill("Pat-chooses-this-one-43"))
	check(t, button(page, "Change password").Click())
	expectText(t, page.Locator("#confirm_password-error"), "differ")
	browsertest.Screenshot(t, page, "password-change-forced")
	checkA11y(t, page, "password-change-forced")

	check(t, page.GetByLabel("Current password").Fill(oneTime))
	check(t, page.GetByLabel("New password", exact).Fill("Pat-chooses-this-one-42"))
	check(t, page.GetByLabel("New password again").Fill("Pat-chooses-this-one-42"))
	check(t, button(page, "Change password").Click())
	expectText(t, page.GetByRole("status").First(), "Password changed.")
	expectVisible(t, heading(page, "Welcome, Pat New"))
	check(t, linkNamed(page, "Customers").First().Click())
	expectVisible(t, heading(page, "Customers"))
	expectVisible(t, page.GetByLabel("Find a customer"))
	browsertest.Screenshot(t, page, "password-changed-customers")
	checkA11y(t, page, "password-changed-customers")
	if n := len(c.events(audit.ActionPasswordChange)); n != 3 { // one refusal, an intent and its outcome
		t.Fatalf("%d auth.password_change events, want 3", n)
	}

	// The admin resets Pat's password: shown once, and Pat's session ends.
	check(t, linkNamed(admin, "Operators").First().Click())
	check(t, admin.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Reset password of pat.new@example.com"}).Click())
	expectText(t, admin.GetByRole("status").First(), "New one-time password for pat.new@example.com")
	reset, err := admin.Locator("code.secret").TextContent()
	check(t, err)
	if reset == "" || reset == oneTime {
		t.Fatalf("reset gave %q", reset)
	}
	browsertest.Screenshot(t, admin, "operator-password-reset")
	checkA11y(t, admin, "operator-password-reset")
	browsertest.Goto(t, page, c.URL+"/customers")
	expectVisible(t, heading(page, "Sign in"))
	c.signInAs(page, "pat.new@example.com", reset)
	expectVisible(t, heading(page, "Change your password"))
}
