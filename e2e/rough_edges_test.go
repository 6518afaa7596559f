package e2e

import (
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
