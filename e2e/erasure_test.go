package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// TestErasureWithFourEyes: support operator A asks to erase a customer (typing the e-mail
// and a ticket) in one browser; support operator B approves in another; A's request page
// then says the customer was erased, and search answers that there is no such customer.
func TestErasureWithFourEyes(t *testing.T) {
	c := startConsole(t) // default policy: erasure under approval
	anna := exampleCustomer(t, c, simulator.StateActivated)
	a, requester := c.signIn(operators.RoleSupport)
	b, approver := c.signIn(operators.RoleSupport)

	openCustomer(t, c, a, anna)
	check(t, linkNamed(a, "Erase this customer (GDPR erasure)…").Click())
	expectVisible(t, heading(a, "Erase "+anna.FirstName+" "+anna.LastName))
	expectVisible(t, a.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "What will be deleted"}))
	confirm := a.GetByLabel("Type the customer's e-mail address to confirm")
	check(t, confirm.Fill("someone.else@example.com"))
	check(t, a.GetByLabel("Reason").Fill("GDPR-42 erasure request by e-mail"))
	check(t, button(a, "Ask for approval to erase this customer").Click())
	expectText(t, a.Locator("#confirm-error"), "What you typed does not match")
	browsertest.Check(t, browsertest.Expect().Locator(confirm).ToHaveAttribute("aria-invalid", "true"))
	if n := c.sim.RequestCount(simulator.RouteProfileErase); n != 0 {
		t.Fatalf("a wrong confirmation sent %d erasures", n)
	}

	check(t, confirm.Fill(strings.ToUpper(anna.Email)))
	check(t, button(a, "Ask for approval to erase this customer").Click())
	browsertest.Check(t, browsertest.Expect().Page(a).ToHaveURL(regexp.MustCompile(`/approvals/\d+$`)))
	id := a.URL()[strings.LastIndex(a.URL(), "/")+1:]
	browsertest.Screenshot(t, a, "erasure-requested")
	checkA11y(t, a, "erasure-requested")
	if _, ok := c.sim.Profile(anna.ClientID); !ok {
		t.Fatal("the customer was erased before anyone approved")
	}

	browsertest.Goto(t, b, c.URL+"/approvals/"+id)
	expectText(t, b.Locator("main"), anna.Email)
	check(t, b.GetByLabel("Comment (optional)").Fill("Checked the ticket"))
	check(t, button(b, "Approve and carry out").Click())
	browsertest.Screenshot(t, b, "erasure-approved")
	checkA11y(t, b, "erasure-approved")
	if _, ok := c.sim.Profile(anna.ClientID); ok {
		t.Fatal("the customer is still in Synerise after the approval")
	}

	browsertest.Goto(t, a, c.URL+"/approvals/"+id)
	expectText(t, a.Locator("main"), "erased")
	browsertest.Goto(t, a, c.URL+"/customers")
	check(t, a.GetByLabel("Find a customer").Fill(anna.Email))
	expectText(t, a.Locator("#results"), "No such customer")
	// The customer's page answers 404 now, in words.
	res, err := a.Goto(c.URL + "/customers/" + strconv.FormatInt(anna.ClientID, 10))
	check(t, err)
	if res.Status() != 404 {
		t.Fatalf("customer page after erasure: %d", res.Status())
	}
	expectText(t, a.Locator("main"), "No such customer")

	erasures := c.events(audit.ActionCustomerErase)
	if len(erasures) != 2 || erasures[0].Actor.Email != approver || erasures[1].Outcome != audit.OutcomeSucceeded ||
		erasures[0].Reason != "GDPR-42 erasure request by e-mail" || !strings.Contains(string(erasures[0].Detail), "request #"+id) {
		t.Fatalf("erasure records %+v", erasures)
	}
	asked := c.events(audit.ActionApprovalRequest)
	if len(asked) == 0 || asked[0].Actor.Email != requester || asked[0].Target.Label != anna.Email {
		t.Fatalf("request records %+v", asked)
	}
}
