package e2e

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// The audit filter's address names only the filters set: filtering with htmx pushes
// "/audit?outcome=succeeded", the form sent without htmx asks for the same address (no
// empty field is sent), and the export links carry the same filters only.
func TestAuditFilterAddressHasOnlySetFilters(t *testing.T) {
	c := startConsole(t)
	page, _ := c.signIn(operators.RoleAuditor)
	var mu sync.Mutex
	var asked []string
	page.OnRequest(func(r playwright.Request) {
		if u, err := url.Parse(r.URL()); err == nil && u.Path == "/audit" {
			mu.Lock()
			asked = append(asked, u.RawQuery)
			mu.Unlock()
		}
	})
	filter := func() {
		t.Helper()
		_, err := page.GetByLabel("Outcome").SelectOption(playwright.SelectOptionValues{Values: &[]string{"succeeded"}})
		check(t, err)
		check(t, button(page, "Show matching events").Click())
		browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(c.URL+"/audit?outcome=succeeded"))
		browsertest.Check(t, browsertest.Expect().Locator(linkNamed(page, "CSV for spreadsheets")).
			ToHaveAttribute("href", "/audit/export.csv?outcome=succeeded"))
	}

	browsertest.Goto(t, page, c.URL+"/audit")
	filter()
	expectVisible(t, linkNamed(page, "Clear the filters"))

	// Without htmx (its script not loaded), the form is sent by the browser itself.
	check(t, page.Route("**/static/htmx.min.js", func(r playwright.Route) { _ = r.Abort() }))
	browsertest.Goto(t, page, c.URL+"/audit")
	filter()

	mu.Lock()
	defer mu.Unlock()
	for _, q := range asked {
		for _, kv := range strings.Split(q, "&") {
			if strings.HasSuffix(kv, "=") {
				t.Errorf("the browser asked for /audit?%s, with an empty parameter", q)
			}
		}
	}
}

// A settings save whose request never reaches the console leaves the preview as it was,
// the reason as typed, and says so; saving again once the connection is back saves the
// change. The same holds for the edit form's preview.
func TestSettingsKeptAfterADroppedConnection(t *testing.T) {
	c := startConsole(t)
	before := c.sim.Settings()
	page, _ := c.signIn(operators.RoleAdmin)
	browsertest.Goto(t, page, c.URL+"/settings")
	field := page.GetByLabel("Customer sign-in lifetime", playwright.PageGetByLabelOptions{Exact: exactName()})
	check(t, field.Fill("5400"))

	drop := func(path string) func() {
		var mu sync.Mutex
		on := true
		check(t, page.Route(c.URL+path, func(r playwright.Route) {
			mu.Lock()
			dropping := on
			mu.Unlock()
			if dropping && r.Request().Method() == "POST" {
				_ = r.Abort("connectionreset")
				return
			}
			_ = r.Continue()
		}))
		return func() { mu.Lock(); on = false; mu.Unlock() }
	}
	lost := "The console could not be reached; your change is still here — try again."

	restore := drop("/settings/preview")
	check(t, button(page, "Preview changes").Click())
	expectText(t, page.GetByRole("alert"), lost)
	browsertest.Check(t, browsertest.Expect().Locator(field).ToHaveValue("5400"), "the typed value is kept")
	restore()
	check(t, button(page, "Preview changes").Click())
	expectVisible(t, heading(page, "Check your changes to the RaaS settings"))
	expectVisible(t, page.Locator("[data-search-shortcut]")) // the new page's header works as the first one's

	const reason = "CHG-9001 longer customer sign-in"
	reasonBox := page.GetByLabel("Reason for this change")
	check(t, reasonBox.Fill(reason))
	restore = drop("/settings")
	check(t, button(page, "Save these changes to Synerise").Click())
	expectText(t, page.GetByRole("alert"), lost)
	expectVisible(t, heading(page, "Check your changes to the RaaS settings"))
	browsertest.Check(t, browsertest.Expect().Locator(reasonBox).ToHaveValue(reason), "the reason is kept")
	expectText(t, page.Locator("table.setting-changes"), "5400 seconds (90 minutes)")
	if now := c.sim.Settings(); !bytes.Equal(now["tokenLifetimeInSeconds"], before["tokenLifetimeInSeconds"]) {
		t.Fatalf("the dropped save changed the setting to %s", now["tokenLifetimeInSeconds"])
	}
	browsertest.Screenshot(t, page, "settings-save-dropped-connection")

	restore()
	check(t, button(page, "Save these changes to Synerise").Click())
	expectText(t, page.GetByRole("status").First(), "Settings saved.")
	if got := string(c.sim.Settings()["tokenLifetimeInSeconds"]); got != "5400" {
		t.Errorf("tokenLifetimeInSeconds = %s after saving again, want 5400", got)
	}
}

// A PIN refused by the PIN device rule is told under one heading, "Synerise refused",
// whose words the message does not repeat.
func TestPINRefusalSaysSyneriseRefusedOnce(t *testing.T) {
	c := startConsole(t)
	c.setRegistration("REQUIRE_PIN_CONFIRMATION")
	john := exampleCustomer(t, c, simulator.StateAwaitingPIN)
	page, _ := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, john)
	check(t, linkNamed(page, "Resend activation…").Click())
	check(t, page.GetByLabel("Customer's device id").Fill("other-phone-42"))
	check(t, page.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill("TICKET-5003 new phone"))
	check(t, button(page, "Resend activation PIN").Click())
	refusal := page.Locator("#action-panel").GetByRole("alert")
	expectText(t, refusal, "No PIN was sent for device other-phone-42, because of the PIN device rule")
	text, err := refusal.InnerText()
	check(t, err)
	if n := strings.Count(text, "Synerise refused"); n != 1 {
		t.Errorf("the refusal says “Synerise refused” %d times:\n%s", n, text)
	}
}
