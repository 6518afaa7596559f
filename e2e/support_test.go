package e2e

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// setRegistration sets the simulated workspace's registration type, as an admin would in
// Synerise. The console reads it when it next needs it (it keeps it for up to 30 s), so
// journeys set it before the first customer page.
func (c *console) setRegistration(kind string) {
	c.t.Helper()
	ws := c.sim.Settings()
	ws["registrationType"] = json.RawMessage(strconv.Quote(kind))
	if errs, _ := c.sim.SetSettings(ws); len(errs) > 0 {
		c.t.Fatal(errs)
	}
}

// exampleCustomer is the simulator's first well-known customer in state.
func exampleCustomer(t *testing.T, c *console, state string) simulator.ExampleCustomer {
	t.Helper()
	e, ok := c.sim.ExampleIn(state)
	if !ok {
		t.Fatalf("the simulator has no example customer in state %s", state)
	}
	return e
}

// simProfile is the customer's profile as the simulator holds it, by field.
func simProfile(t *testing.T, c *console, clientID int64) map[string]json.RawMessage {
	t.Helper()
	raw, ok := c.sim.Profile(clientID)
	if !ok {
		t.Fatalf("the simulator has no customer %d", clientID)
	}
	var m map[string]json.RawMessage
	check(t, json.Unmarshal(raw, &m), "profile JSON")
	return m
}

func rawText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	check(t, json.Unmarshal(raw, &s), "JSON string ", string(raw))
	return s
}

func exactName() *bool { return playwright.Bool(true) }

func linkNamed(page playwright.Page, name string) playwright.Locator {
	return page.GetByRole("link", playwright.PageGetByRoleOptions{Name: name, Exact: exactName()})
}

// openCustomer goes to a customer's page, as the search result link leads there.
func openCustomer(t *testing.T, c *console, page playwright.Page, e simulator.ExampleCustomer) {
	t.Helper()
	browsertest.Goto(t, page, c.URL+"/customers/"+strconv.FormatInt(e.ClientID, 10))
	expectVisible(t, heading(page, e.FirstName+" "+e.LastName))
}

// checkIntentOutcome checks that events are one intent by email with reason, followed by its
// outcome, and returns them.
func checkIntentOutcome(t *testing.T, events []audit.Event, email, reason, targetID string, want audit.Outcome) (audit.Event, audit.Event) {
	t.Helper()
	if len(events) != 2 {
		t.Fatalf("%d events, want an intent and an outcome: %+v", len(events), events)
	}
	intent, outcome := events[0], events[1]
	if intent.Outcome != audit.OutcomePending || outcome.Outcome != want || outcome.IntentSeq != intent.Seq {
		t.Errorf("intent %s (seq %d), outcome %s for intent %d; want pending then %s", intent.Outcome, intent.Seq, outcome.Outcome, outcome.IntentSeq, want)
	}
	for _, e := range events {
		if e.Actor.Email != email || e.Actor.Role != "support" {
			t.Errorf("%s event by %s (%s), want %s (support)", e.Action, e.Actor.Email, e.Actor.Role, email)
		}
		if e.Target.Type != "customer" || e.Target.ID != targetID {
			t.Errorf("%s event on %s %s, want customer %s", e.Action, e.Target.Type, e.Target.ID, targetID)
		}
	}
	if intent.Reason != reason {
		t.Errorf("intent reason %q, want %q", intent.Reason, reason)
	}
	return intent, outcome
}

// Support journey 1: a support agent finds a customer by e-mail and by uuid as they type,
// by the start of a name with the search button (and with JavaScript off), and opens the
// customer's page. Every search and the view are in the audit log.
func TestSupportFindsCustomer(t *testing.T) {
	c := startConsole(t)
	c.setRegistration("REQUIRE_EMAIL_ACTIVATION") // as the sandbox of make run
	anna := exampleCustomer(t, c, simulator.StateActivated)
	annaID := strconv.FormatInt(anna.ClientID, 10)
	page, email := c.signIn(operators.RoleSupport)

	check(t, linkNamed(page, "Customers").First().Click())
	expectVisible(t, heading(page, "Customers"))
	results := page.Locator("#results")
	expectText(t, results, "Results appear here as you type.")
	box := page.GetByLabel("Find a customer")
	annaRow := results.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: anna.Email})

	// The e-mail address, pasted: the results come live, Anna as the exact match.
	check(t, box.Fill(anna.Email))
	expectText(t, results, "Searched as an e-mail address")
	expectText(t, annaRow, "Anna Kowalska")
	expectText(t, annaRow, "exact match")
	expectText(t, annaRow, "Activated")
	browsertest.Screenshot(t, page, "support-search-email")
	checkA11y(t, page, "support-search-email")

	// The uuid, pasted over it.
	check(t, box.Fill(strings.ToUpper(anna.UUID)))
	expectText(t, results, "Searched as a uuid")
	expectText(t, annaRow, "exact match")
	browsertest.Check(t, browsertest.Expect().Locator(results.Locator("tbody tr")).ToHaveCount(1), "a uuid finds one customer")

	// No such customer: said plainly.
	check(t, box.Fill("nobody.at.all@example.com"))
	expectText(t, results.GetByRole("status"), "No such customer: none matches an e-mail address “nobody.at.all@example.com”.")

	// The start of her last name, with the search button: a list, not an exact match.
	check(t, box.Fill("kowalsk"))
	check(t, button(page, "Search customers").Click())
	expectText(t, results, "Searched as a customId, name or e-mail prefix")
	expectVisible(t, annaRow)
	browsertest.Check(t, browsertest.Expect().Locator(annaRow).Not().ToContainText("exact match"))
	rows, err := results.Locator("tbody tr").AllTextContents()
	check(t, err)
	for _, r := range rows {
		if !strings.Contains(strings.ToLower(r), "kowalsk") {
			t.Errorf("result %q does not match the prefix kowalsk", r)
		}
	}
	browsertest.Screenshot(t, page, "support-search-name-prefix")
	checkA11y(t, page, "support-search-name-prefix")

	// Without JavaScript (same agent, same session) the box is a plain form: first and
	// last name, whole page back.
	noJS, err := page.Context().Browser().NewContext(playwright.BrowserNewContextOptions{
		JavaScriptEnabled: playwright.Bool(false), Viewport: &browsertest.Viewport,
		Locale: playwright.String("en-US"), TimezoneId: playwright.String("UTC"),
	})
	check(t, err)
	t.Cleanup(func() { _ = noJS.Close() })
	noJS.SetDefaultTimeout(browsertest.Timeout)
	cookies, err := page.Context().Cookies()
	check(t, err)
	session := make([]playwright.OptionalCookie, len(cookies))
	for i, ck := range cookies {
		session[i] = ck.ToOptionalCookie()
	}
	check(t, noJS.AddCookies(session))
	plain, err := noJS.NewPage()
	check(t, err)
	browsertest.Goto(t, plain, c.URL+"/customers")
	expectVisible(t, button(plain, "Sign out"))
	check(t, plain.GetByLabel("Find a customer").Fill("Anna Kowalska"))
	check(t, button(plain, "Search customers").Click())
	expectVisible(t, heading(plain, "Customers"))
	browsertest.Check(t, browsertest.Expect().Locator(plain.GetByLabel("Find a customer")).ToHaveValue("Anna Kowalska"), "the query stays in the box")
	plainRow := plain.Locator("#results").GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: anna.Email})
	expectVisible(t, plainRow)
	browsertest.Screenshot(t, plain, "support-search-no-javascript")

	// Open her page from the name-prefix results.
	check(t, annaRow.GetByRole("link").Click())
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(`/customers/`+annaID+`$`)))
	expectVisible(t, heading(page, "Anna Kowalska"))
	expectText(t, page.GetByText("Account:"), "Activated")
	identifiers := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Identifiers"})})
	expectText(t, identifiers, annaID)
	expectText(t, identifiers, anna.UUID)
	expectText(t, identifiers, anna.Email)
	expectText(t, identifiers, anna.CustomID)
	history := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Console history"})})
	expectText(t, history.GetByRole("row").Nth(1), "Viewed a customer")
	expectText(t, history.GetByRole("row").Nth(1), email)
	browsertest.Screenshot(t, page, "support-customer-page")
	checkA11y(t, page, "support-customer-page")

	// The audit log holds each kind of search, with the query, and the view.
	kinds := map[string]bool{}
	for _, e := range c.events(audit.ActionCustomerSearch) {
		var d struct {
			Kind    string `json:"kind"`
			Query   string `json:"query"`
			Results int    `json:"results"`
		}
		check(t, json.Unmarshal(e.Detail, &d))
		if e.Actor.Email != email || e.Outcome != audit.OutcomeSucceeded {
			t.Errorf("search %q by %s: %s", d.Query, e.Actor.Email, e.Outcome)
		}
		kinds[d.Kind+" "+d.Query] = true
		if d.Query == anna.Email && d.Results != 1 {
			t.Errorf("e-mail search audited with %d results, want 1", d.Results)
		}
	}
	for _, k := range []string{"an e-mail address " + anna.Email, "a uuid " + strings.ToUpper(anna.UUID),
		"a customId, name or e-mail prefix kowalsk", "a customId, name or e-mail prefix Anna Kowalska",
		"an e-mail address nobody.at.all@example.com"} {
		if !kinds[k] {
			t.Errorf("no audited search for %s; have %v", k, kinds)
		}
	}
	views := viewRecords(c.events(audit.ActionCustomerView))
	if len(views) != 1 || views[0].Target.ID != annaID || views[0].Actor.Email != email {
		t.Fatalf("customer.view records: %+v", views)
	}
	// The view's outcome follows the page and names the customer by the e-mail Synerise gave.
	browsertest.Until(t, "the view's outcome labelled "+anna.Email, func() bool {
		return hasOutcome(c.events(audit.ActionCustomerView), views[0].Seq, anna.Email)
	})
}

// viewRecords are the records of customer views (written while Synerise is asked), without
// their outcomes, which follow the page.
func viewRecords(events []audit.Event) []audit.Event {
	var out []audit.Event
	for _, e := range events {
		if e.IntentSeq == 0 {
			out = append(out, e)
		}
	}
	return out
}

func hasOutcome(events []audit.Event, intent int64, label string) bool {
	for _, e := range events {
		if e.IntentSeq == intent && e.Outcome == audit.OutcomeSucceeded && e.Target.Label == label {
			return true
		}
	}
	return false
}

// Support journey 2: the agent edits a customer's basic info with a reason, sees the
// values as saved, then the customer page shows the new values and the change in its
// history. Synerise holds exactly the change, and the audit log its intent and outcome.
func TestSupportEditsBasicInfo(t *testing.T) {
	c := startConsole(t)
	anna := exampleCustomer(t, c, simulator.StateActivated)
	annaID := strconv.FormatInt(anna.ClientID, 10)
	before := simProfile(t, c, anna.ClientID)
	page, email := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, anna)

	check(t, linkNamed(page, "Edit basic info").Click())
	expectVisible(t, heading(page, "Edit basic info: Anna Kowalska"))
	field := func(label string) playwright.Locator {
		return page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: exactName()})
	}
	browsertest.Check(t, browsertest.Expect().Locator(field("City")).ToHaveValue("Warszawa"))
	browsertest.Check(t, browsertest.Expect().Locator(field("SMS")).ToBeChecked())
	check(t, field("City").Fill("Gdańsk"))
	check(t, field("Zip code").Fill("80-001"))
	check(t, field("Phone").Fill("+48 601 222 333"))
	check(t, field("SMS").Uncheck())
	const reason = "TICKET-2001 customer moved to Gdańsk, no more SMS"
	check(t, field("Reason for the change").Fill(reason))
	browsertest.Screenshot(t, page, "support-edit-filled")
	checkA11y(t, page, "support-edit-filled")
	check(t, button(page, "Save changes to Synerise").Click())

	expectText(t, page.GetByRole("status").First(), "Synerise accepted the changes.")
	expectVisible(t, page.GetByRole("heading", playwright.PageGetByRoleOptions{Level: playwright.Int(1), Name: "Changes saved:"}))
	changed := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "What changed"})})
	wantChanges := [][3]string{
		{"Phone", "+48 600 100 200", "+48 601 222 333"},
		{"City", "Warszawa", "Gdańsk"},
		{"Zip code", "00-001", "80-001"},
		{"Agreement: SMS", "given", "not given"},
	}
	browsertest.Check(t, browsertest.Expect().Locator(changed.Locator("tbody tr")).ToHaveCount(len(wantChanges)), "only what was changed is listed")
	for _, w := range wantChanges {
		row := changed.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: w[0]})
		browsertest.Check(t, browsertest.Expect().Locator(row.Locator("td")).ToHaveText([]string{w[1], w[2]}), w[0])
	}
	basic := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Basic info"})})
	expectText(t, basic, "Gdańsk")
	browsertest.Screenshot(t, page, "support-edit-saved")
	checkA11y(t, page, "support-edit-saved")

	// Synerise holds the new values, and nothing else changed.
	after := simProfile(t, c, anna.ClientID)
	for k, want := range map[string]string{"city": "Gdańsk", "zipCode": "80-001", "phone": "+48 601 222 333"} {
		if got := rawText(t, after[k]); got != want {
			t.Errorf("simulator %s = %q, want %q", k, got, want)
		}
	}
	var agreements map[string]bool
	check(t, json.Unmarshal(after["agreements"], &agreements))
	if agreements["sms"] || !agreements["email"] || !agreements["push"] {
		t.Errorf("simulator agreements %v, want SMS withdrawn and the rest kept", agreements)
	}
	for k, v := range before {
		switch k {
		case "city", "zipCode", "phone", "agreements":
			continue
		}
		if !bytes.Equal(after[k], v) {
			t.Errorf("simulator %s changed from %s to %s; nobody edited it", k, v, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("profile has %d fields after the edit, %d before", len(after), len(before))
	}

	// The customer page, read again from Synerise, shows the change and its history.
	check(t, linkNamed(page, "Back to the customer").First().Click())
	expectVisible(t, heading(page, "Anna Kowalska"))
	basic = page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Basic info"})})
	expectText(t, basic, "Gdańsk")
	expectText(t, basic, "+48 601 222 333")
	history := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Console history"})})
	update := history.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: "Updated a customer"})
	browsertest.Check(t, browsertest.Expect().Locator(update).ToHaveCount(1), "the edit is one line of history (the intent folded into its outcome)")
	expectText(t, update, "Succeeded")
	expectText(t, update, reason)
	expectText(t, update, email)
	browsertest.Screenshot(t, page, "support-edit-history")
	checkA11y(t, page, "support-edit-history")

	// The audit log: the intent with the reason and before/after of the changed fields
	// only, then its outcome.
	intent, _ := checkIntentOutcome(t, c.events(audit.ActionCustomerUpdate), email, reason, annaID, audit.OutcomeSucceeded)
	var was, now map[string]any
	check(t, json.Unmarshal(intent.Before, &was))
	check(t, json.Unmarshal(intent.After, &now))
	wantWas := map[string]any{"city": "Warszawa", "zipCode": "00-001", "phone": "+48 600 100 200", "agreements.sms": true}
	wantNow := map[string]any{"city": "Gdańsk", "zipCode": "80-001", "phone": "+48 601 222 333", "agreements.sms": false}
	if !sameJSON(was, wantWas) || !sameJSON(now, wantNow) {
		t.Errorf("audited before %v after %v; want %v and %v", was, now, wantWas, wantNow)
	}
}

func sameJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Support journey 3: invalid basic info (a phone that is not one, a birth date in the
// future, no reason) is shown next to each field, with the typed values kept; nothing
// reaches Synerise, not even the valid change typed with them.
func TestSupportEditRejectsInvalidBasicInfo(t *testing.T) {
	c := startConsole(t)
	anna := exampleCustomer(t, c, simulator.StateActivated)
	before, _ := c.sim.Profile(anna.ClientID)
	updates := c.sim.RequestCount(simulator.RouteProfileUpdate)
	page, _ := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, anna)
	check(t, linkNamed(page, "Edit basic info").Click())
	expectVisible(t, heading(page, "Edit basic info: Anna Kowalska"))

	field := func(label string) playwright.Locator {
		return page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: exactName()})
	}
	future := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	check(t, field("Phone").Fill("call me maybe"))
	check(t, field("Birth date").Fill(future))
	check(t, field("City").Fill("Gdynia"))
	check(t, button(page, "Save changes to Synerise").Click())

	expectText(t, page.GetByRole("alert"), "Nothing was saved: correct the fields marked below.")
	for _, f := range []struct{ label, id, msg string }{
		{"Phone", "phone", "Phone may hold only digits and spaces, with an optional leading +"},
		{"Birth date", "birthDate", "Birth date cannot be in the future."},
		{"Reason for the change", "reason", "Give a reason: free text or a ticket reference."},
	} {
		expectText(t, page.Locator("#"+f.id+"-error"), f.msg)
		browsertest.Check(t, browsertest.Expect().Locator(field(f.label)).ToHaveAttribute("aria-invalid", "true"), f.label)
		browsertest.Check(t, browsertest.Expect().Locator(field(f.label)).ToHaveAttribute("aria-describedby", regexp.MustCompile(`\b`+f.id+`-error\b`)),
			f.label, " points at its message")
	}
	browsertest.Check(t, browsertest.Expect().Locator(field("City")).Not().ToHaveAttribute("aria-invalid", "true"))
	// What the agent typed is kept, so they correct rather than retype.
	browsertest.Check(t, browsertest.Expect().Locator(field("Phone")).ToHaveValue("call me maybe"))
	browsertest.Check(t, browsertest.Expect().Locator(field("Birth date")).ToHaveValue(future))
	browsertest.Check(t, browsertest.Expect().Locator(field("City")).ToHaveValue("Gdynia"))
	browsertest.Screenshot(t, page, "support-edit-invalid")
	checkA11y(t, page, "support-edit-invalid")

	after, _ := c.sim.Profile(anna.ClientID)
	if !bytes.Equal(before, after) {
		t.Errorf("the profile changed after a refused edit:\nbefore %s\nafter  %s", before, after)
	}
	if n := c.sim.RequestCount(simulator.RouteProfileUpdate) - updates; n != 0 {
		t.Errorf("%d profile updates sent to Synerise, want none", n)
	}
	if evs := c.events(audit.ActionCustomerUpdate); len(evs) != 0 {
		t.Errorf("a refused edit left customer.update events: %+v", evs)
	}
}

// Support journey 4: the agent sends a customer a password reset; the sandbox outbox
// (the simulator's and the console's page) holds the token for that customer.
func TestSupportSendsPasswordReset(t *testing.T) {
	c := startConsole(t)
	c.setRegistration("REQUIRE_EMAIL_CONFIRMATION")
	lukasz := exampleCustomer(t, c, simulator.StateUnconfirmed)
	lukaszID := strconv.FormatInt(lukasz.ClientID, 10)
	name := lukasz.FirstName + " " + lukasz.LastName
	page, email := c.signIn(operators.RoleSupport)
	openCustomer(t, c, page, lukasz)

	check(t, linkNamed(page, "Send a password reset e-mail…").Click())
	expectVisible(t, heading(page, "Password reset for "+name))
	expectText(t, page.Locator("#action-panel"), "Synerise will e-mail a password reset link to "+lukasz.Email)
	const reason = "TICKET-4004 customer forgot password"
	check(t, page.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill(reason))
	check(t, button(page, "Send password reset e-mail").Click())
	done := page.Locator("#action-panel").GetByRole("status")
	expectText(t, done, "Sent")
	expectText(t, done, "Synerise accepted the request and e-mails a password reset link to "+lukasz.Email+".")
	browsertest.Screenshot(t, page, "support-reset-sent")
	checkA11y(t, page, "support-reset-sent")

	msgs := c.sim.Outbox()
	if len(msgs) != 1 || msgs[0].Kind != simulator.KindPasswordReset || msgs[0].Email != lukasz.Email ||
		msgs[0].ClientID != lukasz.ClientID || msgs[0].Secret == "" {
		t.Fatalf("simulator outbox %+v, want one password reset token for %s", msgs, lukasz.Email)
	}
	token := msgs[0].Secret

	// The console's sandbox outbox shows the token, linked to the customer.
	check(t, linkNamed(page, "Sandbox outbox").First().Click())
	expectVisible(t, heading(page, "Sandbox outbox"))
	row := page.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: token})
	browsertest.Check(t, browsertest.Expect().Locator(row).ToHaveCount(1))
	expectText(t, row, "Password reset")
	expectText(t, row, lukasz.Email)
	browsertest.Screenshot(t, page, "support-outbox-reset")
	checkA11y(t, page, "support-outbox-reset")
	check(t, row.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: lukasz.Email}).Click())
	expectVisible(t, heading(page, name))
	history := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Console history"})})
	reset := history.GetByRole("row").Filter(playwright.LocatorFilterOptions{HasText: "Sent a customer a password reset"})
	expectText(t, reset, "Succeeded")
	expectText(t, reset, reason)

	intent, _ := checkIntentOutcome(t, c.events(audit.ActionCustomerPasswordReset), email, reason, lukaszID, audit.OutcomeSucceeded)
	if !strings.Contains(string(intent.Detail), lukasz.Email) {
		t.Errorf("intent detail %s does not name the address", intent.Detail)
	}
	if strings.Contains(string(intent.Detail)+string(intent.After), token) {
		t.Error("the reset token is in the audit log")
	}
}

// Support journey 5: under AUTOMATIC registration no account needs activating and none is
// offered; with e-mail confirmation the agent resends the confirmation e-mail and, with PIN
// registration, a PIN for the customer's device; both land in the outbox. A PIN resend for
// another device is refused by the PIN device rule, and the page says why.
func TestSupportResendsActivationAndPIN(t *testing.T) {
	c := startConsole(t)
	c.setRegistration("REQUIRE_EMAIL_CONFIRMATION")
	lukasz := exampleCustomer(t, c, simulator.StateUnconfirmed)
	lukaszID := strconv.FormatInt(lukasz.ClientID, 10)
	john := exampleCustomer(t, c, simulator.StateAwaitingPIN)
	johnID := strconv.FormatInt(john.ClientID, 10)
	if john.DeviceID == "" {
		t.Fatal("the first awaiting-PIN example has no device")
	}
	page, email := c.signIn(operators.RoleSupport)

	// E-mail confirmation: the account is unconfirmed, and the e-mail can be resent. (Under
	// AUTOMATIC, Synerise's default, no resend would be offered: see TestSupportAfterTokensRevoked.)
	openCustomer(t, c, page, lukasz)
	expectText(t, page.GetByText("Account:"), "E-mail not confirmed yet")
	check(t, linkNamed(page, "Resend activation…").Click())
	expectVisible(t, heading(page, "Resend activation for "+lukasz.FirstName+" "+lukasz.LastName))
	expectText(t, page.Locator("#action-panel"), "registration type is REQUIRE_EMAIL_CONFIRMATION, so activation is by e-mail")
	const mailReason = "TICKET-5001 activation e-mail never arrived"
	check(t, page.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill(mailReason))
	check(t, button(page, "Resend activation e-mail").Click())
	expectText(t, page.Locator("#action-panel").GetByRole("status"),
		"Synerise accepted the request and e-mails a new activation link to "+lukasz.Email+".")
	browsertest.Screenshot(t, page, "support-activation-sent")
	checkA11y(t, page, "support-activation-sent")
	activation, ok := c.sim.LastMessage(lukasz.Email, simulator.KindActivation)
	if !ok || activation.ClientID != lukasz.ClientID || activation.Secret == "" || !strings.Contains(activation.Link, activation.Secret) {
		t.Fatalf("no activation e-mail with a token for %s in the outbox: %+v", lukasz.Email, c.sim.Outbox())
	}
	checkIntentOutcome(t, c.events(audit.ActionCustomerActivationResend), email, mailReason, lukaszID, audit.OutcomeSucceeded)

	// The workspace moves to PIN registration (allowPinResendFromDifferentDeviceId stays off).
	c.setRegistration("REQUIRE_PIN_CONFIRMATION")

	// John's PIN, for the device his app last asked from.
	openCustomer(t, c, page, john)
	attrs := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Custom attributes"})})
	expectText(t, attrs.GetByRole("row", playwright.LocatorGetByRoleOptions{Name: "snrs_last_pin_device_id"}), john.DeviceID)
	check(t, linkNamed(page, "Resend activation…").Click())
	rule := page.Locator(".pin-rule")
	expectVisible(t, page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "The PIN device rule"}))
	expectText(t, rule, "The setting Allow PIN resend from another device (allowPinResendFromDifferentDeviceId) is off in this workspace")
	expectText(t, rule, "The last PIN for this customer was requested from device "+john.DeviceID+".")
	device := page.GetByLabel("Customer's device id")
	browsertest.Check(t, browsertest.Expect().Locator(device).ToHaveValue(john.DeviceID), "the known device is offered")
	browsertest.Screenshot(t, page, "support-pin-form")
	checkA11y(t, page, "support-pin-form")
	const pinReason = "TICKET-5002 PIN expired before the customer typed it"
	check(t, page.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill(pinReason))
	check(t, button(page, "Resend activation PIN").Click())
	expectText(t, page.Locator("#action-panel").GetByRole("status"),
		"Synerise accepted the request and e-mails a new PIN to "+john.Email+". The customer must type it on device "+john.DeviceID+".")
	pins := func() []simulator.Message {
		var out []simulator.Message
		for _, m := range c.sim.OutboxFor(john.Email) {
			if m.Kind == simulator.KindPIN {
				out = append(out, m)
			}
		}
		return out
	}
	sent := pins()
	if len(sent) != 1 || sent[0].DeviceID != john.DeviceID || sent[0].ClientID != john.ClientID ||
		!regexp.MustCompile(`^[0-9]{6}$`).MatchString(sent[0].Secret) {
		t.Fatalf("PINs in the outbox for %s: %+v; want one 6-digit PIN for device %s", john.Email, sent, john.DeviceID)
	}

	// A PIN for another device: refused by the rule, explained, nothing sent.
	check(t, linkNamed(page, "Back to the customer").First().Click())
	check(t, linkNamed(page, "Resend activation…").Click())
	check(t, device.Fill("other-phone-42"))
	const otherReason = "TICKET-5003 customer says they have a new phone"
	check(t, page.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: exactName()}).Fill(otherReason))
	check(t, button(page, "Resend activation PIN").Click())
	refusal := page.Locator("#action-panel").GetByRole("alert")
	expectText(t, refusal, "Synerise refused")
	expectText(t, refusal, "No PIN was sent for device other-phone-42, because of the PIN device rule")
	expectText(t, refusal, "(here "+john.DeviceID+")")
	expectText(t, refusal, "an admin can turn “Allow PIN resend from another device (allowPinResendFromDifferentDeviceId)” on in the RaaS settings")
	browsertest.Screenshot(t, page, "support-pin-refused")
	checkA11y(t, page, "support-pin-refused")
	if got := pins(); len(got) != 1 {
		t.Errorf("%d PINs for %s after the refusal, want still 1", len(got), john.Email)
	}
	if acct, _ := c.sim.Account(john.ClientID); acct.PINDeviceID != john.DeviceID {
		t.Errorf("the PIN moved to device %q, want it still bound to %s", acct.PINDeviceID, john.DeviceID)
	}

	// The outbox page shows both messages, newest first.
	check(t, linkNamed(page, "Sandbox outbox").First().Click())
	expectVisible(t, heading(page, "Sandbox outbox"))
	outbox := page.Locator("tbody tr")
	browsertest.Check(t, browsertest.Expect().Locator(outbox).ToHaveCount(2))
	expectText(t, outbox.Nth(0), "Activation PIN")
	expectText(t, outbox.Nth(0), sent[0].Secret)
	expectText(t, outbox.Nth(0), john.DeviceID)
	expectText(t, outbox.Nth(1), "Activation e-mail")
	expectText(t, outbox.Nth(1), activation.Link)
	browsertest.Screenshot(t, page, "support-outbox-activation-pin")
	checkA11y(t, page, "support-outbox-activation-pin")

	// The audit log: the PIN sent with its device, then the refusal with Synerise's 403.
	pinEvents := c.events(audit.ActionCustomerPINResend)
	if len(pinEvents) != 4 {
		t.Fatalf("%d customer.pin_resend events, want 4 (two intents, two outcomes)", len(pinEvents))
	}
	firstIntent, _ := checkIntentOutcome(t, pinEvents[:2], email, pinReason, johnID, audit.OutcomeSucceeded)
	_, refused := checkIntentOutcome(t, pinEvents[2:], email, otherReason, johnID, audit.OutcomeFailed)
	var d map[string]string
	check(t, json.Unmarshal(firstIntent.Detail, &d))
	if d["deviceId"] != john.DeviceID || d["registrationType"] != "REQUIRE_PIN_CONFIRMATION" {
		t.Errorf("PIN intent detail %v", d)
	}
	if refused.UpstreamStatus != 403 {
		t.Errorf("refused PIN outcome: upstream status %d, want 403", refused.UpstreamStatus)
	}
	if slices.ContainsFunc(pinEvents, func(e audit.Event) bool { return strings.Contains(string(e.Detail), sent[0].Secret) }) {
		t.Error("the PIN is in the audit log")
	}
}
