package e2e

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// Data safety journey: a customer whose attributes hold a null, an empty text, numbers, a
// bool, a list and an object. The agent changes only the city; every attribute comes back
// unchanged, lists and objects are shown read-only, and the audit log records the city alone.
func TestSupportEditKeepsEveryAttribute(t *testing.T) {
	c := startConsole(t)
	marta, ok := c.sim.ExampleFor(simulator.CaseAttributeTypes)
	if !ok {
		t.Fatal("no attribute-types example")
	}
	id := strconv.FormatInt(marta.ClientID, 10)
	before := simProfile(t, c, marta.ClientID)
	page, email := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, marta)

	attrs := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Custom attributes"})})
	expectText(t, attrs.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: "lastStore"}), "(null)")
	expectText(t, attrs.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: "nickname"}), "(empty text)")

	check(t, linkNamed(page, "Edit basic info").Click())
	expectVisible(t, heading(page, "Edit basic info: "+marta.FirstName+" "+marta.LastName))
	table := page.Locator(".attr-table")
	for _, key := range []string{"interests", "membership"} {
		row := table.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: key})
		browsertest.Check(t, browsertest.Expect().Locator(row.GetByRole("textbox")).ToHaveCount(0), key+" is not a text box")
		expectText(t, row, "shown as stored, not editable here")
	}
	expectText(t, table.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: "lastStore"}), "Stored as null (no value)")
	browsertest.Screenshot(t, page, "support-edit-attribute-types")
	checkA11y(t, page, "support-edit-attribute-types")

	field := func(label string) playwright.Locator {
		return page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: exactName()})
	}
	check(t, field("City").Fill("Toruń"))
	const reason = "TICKET-1401 moved to Toruń"
	check(t, field("Reason for the change").Fill(reason))
	check(t, button(page, "Save changes to Synerise").Click())
	expectText(t, page.GetByRole("status").First(), "Synerise accepted the changes.")
	changed := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "What changed"})})
	browsertest.Check(t, browsertest.Expect().Locator(changed.Locator("tbody tr")).ToHaveCount(1), "only the city is listed")

	after := simProfile(t, c, marta.ClientID)
	if rawText(t, after["city"]) != "Toruń" {
		t.Errorf("city is %s", after["city"])
	}
	if !bytes.Equal(compactJSON(t, before["attributes"]), compactJSON(t, after["attributes"])) {
		t.Errorf("attributes changed:\nbefore %s\nafter  %s", before["attributes"], after["attributes"])
	}
	if !bytes.Equal(before["phone"], after["phone"]) {
		t.Errorf("the stored phone %s became %s", before["phone"], after["phone"])
	}
	intent, _ := checkIntentOutcome(t, c.events(audit.ActionCustomerUpdate), email, reason, id, audit.OutcomeSucceeded)
	if string(intent.After) != `{"city":"Toruń"}` {
		t.Errorf("the audit log records %s", intent.After)
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	check(t, json.Compact(&b, raw))
	return b.Bytes()
}

// Resilience journey: Synerise revokes every token of the workspace (an API key
// regenerated, a signing key rotated) while an agent works; the next page signs in to the
// workspace again and is served, with no restart. Under AUTOMATIC registration the account
// needs no activation and none is offered.
func TestSupportAfterTokensRevoked(t *testing.T) {
	c := startConsole(t)
	lukasz := exampleCustomer(t, c, simulator.StateUnconfirmed)
	anna := exampleCustomer(t, c, simulator.StateActivated)
	page, _ := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, lukasz)
	expectText(t, page.GetByText("Account:"), "Active — this workspace needs no activation")
	browsertest.Check(t, browsertest.Expect().Locator(linkNamed(page, "Resend activation…")).ToHaveCount(0), "no resend under AUTOMATIC")

	for round := range 2 {
		c.sim.RevokeTokens()
		logins := c.sim.RequestCount(simulator.RouteLogin)
		openCustomer(t, c, page, anna)
		expectVisible(t, heading(page, anna.FirstName+" "+anna.LastName))
		if n := c.sim.RequestCount(simulator.RouteLogin) - logins; n != 1 {
			t.Errorf("round %d: %d workspace logins after a revocation, want 1", round, n)
		}
		openCustomer(t, c, page, lukasz)
		expectVisible(t, heading(page, lukasz.FirstName+" "+lukasz.LastName))
	}
	browsertest.Screenshot(t, page, "support-after-revocation")
	checkA11y(t, page, "support-after-revocation")

}
