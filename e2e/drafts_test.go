package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// draft returns the text of the operator's draft of page ("" when there is none).
func (c *console) draft(email, page string) string {
	c.t.Helper()
	var fields *string
	if err := c.pool.QueryRow(context.Background(), `SELECT string_agg(d.fields::text, ' ') FROM drafts d
		JOIN operators o ON o.id = d.operator_id WHERE o.email = $1 AND d.page = $2`, email, page).Scan(&fields); err != nil {
		c.t.Fatal(err)
	}
	if fields == nil {
		return ""
	}
	return *fields
}

// endSessions deletes every session of the operator, as signing out elsewhere or a
// cleanup would.
func (c *console) endSessions(email string) {
	c.t.Helper()
	if _, err := c.pool.Exec(context.Background(), `DELETE FROM sessions
		WHERE operator_id = (SELECT id FROM operators WHERE email = $1)`, email); err != nil {
		c.t.Fatal(err)
	}
}

// waitSessionEnded waits until the console treats page's session as ended: a replica may
// trust its cache of validated sessions until the database's notification arrives.
func (c *console) waitSessionEnded(page playwright.Page) {
	c.t.Helper()
	browsertest.Until(c.t, "the console to see the session ended", func() bool {
		res, err := page.Request().Get(c.URL+"/", playwright.APIRequestContextGetOptions{MaxRedirects: playwright.Int(0)})
		if err != nil {
			return false
		}
		defer func() { _ = res.Dispose() }()
		return res.Status() == 303
	})
}

func draftNotice(page playwright.Page) playwright.Locator {
	return page.Locator(".draft-notice")
}

// Journey: a support agent types into the customer edit form, the session runs out, and
// the save leads through sign-in back to the form, filled from the draft with a notice;
// the save then succeeds and the draft is gone.
func TestDraftSurvivesSessionExpiryOnCustomerEdit(t *testing.T) {
	c := startConsole(t)
	anna, ok := c.sim.ExampleIn(simulator.StateActivated)
	if !ok {
		t.Fatal("no activated example customer")
	}
	page, email := c.signIn(operators.RoleSupport)
	path := "/customers/" + strconv.FormatInt(anna.ClientID, 10)
	browsertest.Goto(t, page, c.URL+path+"/edit")
	city := page.GetByLabel("City", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)})
	reason := page.GetByLabel("Reason for the change")
	check(t, city.Fill("Gdańsk"))
	check(t, reason.Fill("TICKET-2101 customer moved"))
	browsertest.Until(t, "the draft to be autosaved", func() bool {
		d := c.draft(email, path+"/edit")
		return strings.Contains(d, "Gdańsk") && strings.Contains(d, "TICKET-2101")
	})

	c.expireSessions(email)
	c.waitSessionEnded(page)
	// Without a draft the form after signing in again shows what Synerise has: what an
	// operator without a draft of this form sees, and what everyone saw before drafts.
	other, _ := c.signIn(operators.RoleSupport)
	browsertest.Goto(t, other, c.URL+path+"/edit")
	expectVisible(t, heading(other, "Edit basic info: "+anna.FirstName+" "+anna.LastName))
	browsertest.Check(t, browsertest.Expect().Locator(draftNotice(other)).ToHaveCount(0))
	browsertest.Screenshot(t, other, "draft-restore-before")

	check(t, button(page, "Save changes to Synerise").Click())
	expectVisible(t, heading(page, "Sign in"))
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(testPassword))
	check(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)}).Click())

	// Back on the form, filled from the draft, with the notice.
	expectVisible(t, heading(page, "Edit basic info: "+anna.FirstName+" "+anna.LastName))
	expectText(t, draftNotice(page), "Restored your unsaved changes from ")
	expectText(t, draftNotice(page), " — review and save.")
	expectVisible(t, button(page, "Discard draft"))
	browsertest.Check(t, browsertest.Expect().Locator(city).ToHaveValue("Gdańsk"))
	browsertest.Check(t, browsertest.Expect().Locator(reason).ToHaveValue("TICKET-2101 customer moved"))
	checkA11y(t, page, "customer edit with a restored draft")
	browsertest.Screenshot(t, page, "draft-restore-after")
	checkA11y(t, page, "draft-restore-after")

	check(t, button(page, "Save changes to Synerise").Click())
	expectText(t, page.Locator("#edit-panel"), "Synerise accepted the changes")
	if d := c.draft(email, path+"/edit"); d != "" {
		t.Fatalf("the draft outlived the save: %s", d)
	}
	raw, _ := c.sim.Profile(anna.ClientID)
	if !strings.Contains(string(raw), "Gdańsk") {
		t.Fatalf("the restored change did not reach Synerise: %s", raw)
	}
}

// Journey: an admin's settings change survives the session being deleted mid-form; a
// discarded draft gives the current values back.
func TestDraftSurvivesSessionEndOnSettings(t *testing.T) {
	c := startConsole(t)
	page, email := c.signIn(operators.RoleAdmin)
	browsertest.Goto(t, page, c.URL+"/settings")
	pinLength := page.GetByLabel("PIN length", playwright.PageGetByLabelOptions{Exact: exactName()})
	before, err := pinLength.InputValue()
	check(t, err)
	check(t, pinLength.Fill("10"))
	browsertest.Until(t, "the settings draft to be autosaved", func() bool {
		return strings.Contains(c.draft(email, "/settings"), `"10"`)
	})

	c.endSessions(email)
	c.waitSessionEnded(page)
	check(t, button(page, "Preview changes").Click())
	expectVisible(t, heading(page, "Sign in"))
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(testPassword))
	check(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)}).Click())

	expectVisible(t, heading(page, "RaaS settings"))
	expectText(t, draftNotice(page), "Restored your unsaved changes")
	browsertest.Check(t, browsertest.Expect().Locator(pinLength).ToHaveValue("10"))
	checkA11y(t, page, "settings with a restored draft")

	// Discarding gives the current values back and forgets the draft.
	check(t, button(page, "Discard draft").Click())
	browsertest.Check(t, browsertest.Expect().Locator(pinLength).ToHaveValue(before))
	browsertest.Check(t, browsertest.Expect().Locator(draftNotice(page)).ToHaveCount(0))
	if d := c.draft(email, "/settings"); d != "" {
		t.Fatalf("the discarded draft is still kept: %s", d)
	}

	// Typed again, kept again, and saved through preview and confirm: the draft goes.
	check(t, pinLength.Fill("10"))
	browsertest.Until(t, "the settings draft to be autosaved again", func() bool {
		return strings.Contains(c.draft(email, "/settings"), `"10"`)
	})
	check(t, button(page, "Preview changes").Click())
	expectVisible(t, heading(page, "Check your changes to the RaaS settings"))
	check(t, page.GetByLabel("Reason for this change").Fill("CHG-2102 longer PINs"))
	check(t, button(page, "Save these changes to Synerise").Click())
	expectText(t, page.GetByRole("status").First(), "Settings saved.")
	if d := c.draft(email, "/settings"); d != "" {
		t.Fatalf("the draft outlived the save: %s", d)
	}
	if got := string(c.sim.Settings()["pinConfirmationLength"]); got != "10" {
		t.Fatalf("pinConfirmationLength = %s after the save, want 10", got)
	}
}

// The draft keeps the fingerprint of the form as first loaded: a change made upstream
// while the operator was away shows the usual conflict view, never a silent overwrite.
func TestRestoredDraftMeetsTheConflictCheck(t *testing.T) {
	c := startConsole(t)
	anna, ok := c.sim.ExampleIn(simulator.StateActivated)
	if !ok {
		t.Fatal("no activated example customer")
	}
	page, email := c.signIn(operators.RoleSupport)
	path := "/customers/" + strconv.FormatInt(anna.ClientID, 10)
	browsertest.Goto(t, page, c.URL+path+"/edit")
	check(t, page.GetByLabel("City", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill("Gdańsk"))
	check(t, page.GetByLabel("Reason for the change").Fill("TICKET-2103 customer moved"))
	browsertest.Until(t, "the draft to be autosaved", func() bool {
		return strings.Contains(c.draft(email, path+"/edit"), "TICKET-2103")
	})
	c.endSessions(email)
	c.waitSessionEnded(page)
	// Someone else changes the phone meanwhile.
	if !c.sim.SetPhone(anna.ClientID, "+48 600 999 888") {
		t.Fatal("could not change the phone in the simulator")
	}
	c.signInAs(page, email, testPassword)
	browsertest.Goto(t, page, c.URL+path+"/edit")
	expectText(t, draftNotice(page), "Restored your unsaved changes")
	check(t, button(page, "Save changes to Synerise").Click())
	expectText(t, page.Locator("#edit-panel"), "Nothing was saved.")
	expectText(t, page.Locator("#edit-panel"), "600 999 888")
	if raw, _ := c.sim.Profile(anna.ClientID); strings.Contains(string(raw), "Gdańsk") {
		t.Fatalf("a draft restored over an upstream change was written without a conflict: %s", raw)
	}
}
