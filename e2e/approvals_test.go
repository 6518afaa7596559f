package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// TestSettingsChangeWithFourEyes: with settings under approval, admin A changes the PIN
// length in one browser and gets a request; nothing changes in Synerise. Admin B, in
// another browser, sees "Approvals (1)", opens the request, sees the old and the new
// value and approves; the setting changes in Synerise, and A's request page shows the
// outcome.
func TestSettingsChangeWithFourEyes(t *testing.T) {
	c := startConsoleWith(t, map[string]string{"CONSOLE_APPROVALS": "settings"})
	seed := c.sim.Settings()
	seed["pinConfirmationLength"] = json.RawMessage(`8`)
	if errs, _ := c.sim.SetSettings(seed); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, requester := c.signIn(operators.RoleAdmin)
	b, approver := c.signIn(operators.RoleAdmin)

	check(t, linkNamed(a, "Settings").Click())
	check(t, a.GetByLabel("PIN length", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill("6"))
	check(t, button(a, "Preview changes").Click())
	check(t, a.GetByLabel("Reason for this change").Fill("TICKET-21 shorter PINs"))
	check(t, button(a, "Save these changes to Synerise").Click())
	browsertest.Check(t, browsertest.Expect().Page(a).ToHaveURL(regexp.MustCompile(`/approvals/\d+$`)))
	id := a.URL()[strings.LastIndex(a.URL(), "/")+1:]
	expectText(t, a.GetByRole("status").Filter(playwright.LocatorFilterOptions{HasText: "State:"}), "Waiting for approval")
	expectText(t, a.Locator("main"), "Another admin must approve it")
	browsertest.Screenshot(t, a, "approval-requested")
	checkA11y(t, a, "approval-requested")
	if got := string(c.sim.Settings()["pinConfirmationLength"]); got != "8" {
		t.Fatalf("PIN length %s before approval", got)
	}

	browsertest.Goto(t, b, c.URL+"/")
	check(t, linkNamed(b, "Approvals (1)").Click())
	expectVisible(t, heading(b, "Approvals"))
	check(t, linkNamed(b, "#"+id).Click())
	expectVisible(t, heading(b, "Request #"+id+": Change the RaaS settings"))
	row := b.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: "PIN length"})
	browsertest.Check(t, browsertest.Expect().Locator(row.Locator("th, td")).ToHaveText([]string{"PIN length", "8 digits", "6 digits"},
		playwright.LocatorAssertionsToHaveTextOptions{UseInnerText: playwright.Bool(true)}))
	expectText(t, b.Locator("main"), requester)
	expectText(t, b.Locator("main"), "TICKET-21 shorter PINs")
	browsertest.Screenshot(t, b, "approval-to-decide")
	checkA11y(t, b, "approval-to-decide")
	check(t, b.GetByLabel("Comment (optional)").Fill("Agreed with the shop"))
	check(t, button(b, "Approve and carry out").Click())
	expectText(t, b.GetByRole("status").Filter(playwright.LocatorFilterOptions{HasText: "State:"}), "Approved and carried out")
	expectVisible(t, linkNamed(b, "Approvals (0)"))
	if got := string(c.sim.Settings()["pinConfirmationLength"]); got != "6" {
		t.Fatalf("PIN length %s after approval", got)
	}

	browsertest.Goto(t, a, c.URL+"/approvals/"+id)
	expectText(t, a.Locator("main"), "Approved and carried out")
	expectText(t, a.Locator("main"), "Settings saved")
	expectText(t, a.Locator("main"), approver)
	browsertest.Screenshot(t, a, "approval-outcome")
	checkA11y(t, a, "approval-outcome")

	updates := c.events(audit.ActionSettingsUpdate)
	if len(updates) != 2 || updates[0].Actor.Email != approver || !strings.Contains(string(updates[0].Detail), "request #"+id) ||
		updates[1].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("settings records %+v", updates)
	}
}
