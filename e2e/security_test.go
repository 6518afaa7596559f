package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// expireSessions ends every session of the operator with email as the idle timeout
// would: the rows stay, but their time is up.
func (c *console) expireSessions(email string) {
	c.t.Helper()
	tag, err := c.pool.Exec(context.Background(), `UPDATE sessions
		SET last_seen_at = now() - interval '31 minutes', expires_at = now() - interval '1 minute'
		WHERE operator_id = (SELECT id FROM operators WHERE email = $1)`, email)
	if err != nil {
		c.t.Fatal(err)
	}
	if tag.RowsAffected() == 0 {
		c.t.Fatalf("no session of %s to expire", email)
	}
}

// liveSessions counts the operator's unexpired sessions.
func (c *console) liveSessions(email string) int {
	c.t.Helper()
	var n int
	if err := c.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions
		WHERE operator_id = (SELECT id FROM operators WHERE email = $1) AND expires_at > now()`, email).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// customerEvents returns the audit events with action on the customer clientID.
func (c *console) customerEvents(action audit.Action, clientID int64) []audit.Event {
	c.t.Helper()
	var out []audit.Event
	for _, e := range c.events(action) {
		if e.Target.Type == "customer" && e.Target.ID == strconv.FormatInt(clientID, 10) {
			out = append(out, e)
		}
	}
	return out
}

// Journey 10: a support agent's session runs out while the edit form is open. Saving
// lands on the sign-in page with a clear notice; nothing reaches Synerise, nothing is
// audited as a change, and no "saved" message appears.
func TestSessionExpiresWhileEditing(t *testing.T) {
	c := startConsole(t)
	anna, ok := c.sim.ExampleIn(simulator.StateActivated)
	if !ok {
		t.Fatal("no activated example customer")
	}
	page, email := c.signIn(operators.RoleSupport)
	base := c.URL + "/customers/" + strconv.FormatInt(anna.ClientID, 10)
	browsertest.Goto(t, page, base+"/edit")
	expectVisible(t, heading(page, "Edit basic info: "+anna.FirstName+" "+anna.LastName))
	city := page.GetByLabel("City", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)})
	browsertest.Check(t, browsertest.Expect().Locator(city).ToHaveValue("Warszawa"))
	check(t, city.Fill("Gdańsk"))
	check(t, page.GetByLabel("Reason for the change").Fill("TICKET-1010 customer moved"))
	browsertest.Screenshot(t, page, "j10-form-filled")
	checkA11y(t, page, "j10-form-filled")

	before, _ := c.sim.Profile(anna.ClientID)
	updates := c.sim.RequestCount(simulator.RouteProfileUpdate)
	var htmxStatus []int
	var mu sync.Mutex
	page.OnResponse(func(r playwright.Response) {
		if r.Request().Method() == "POST" && strings.HasSuffix(r.URL(), "/customers/"+strconv.FormatInt(anna.ClientID, 10)) {
			mu.Lock()
			htmxStatus = append(htmxStatus, r.Status())
			mu.Unlock()
		}
	})

	// The session runs out while the agent is typing, after the form's draft was kept.
	browsertest.Until(t, "the draft to be autosaved", func() bool {
		return strings.Contains(c.draft(email, "/customers/"+strconv.FormatInt(anna.ClientID, 10)+"/edit"), "TICKET-1010")
	})
	c.expireSessions(email)
	c.waitSessionEnded(page)
	check(t, button(page, "Save changes to Synerise").Click())

	// The whole page goes to sign-in (HX-Redirect), with a notice that nothing was sent.
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(
		`/login\?expired=1&next=`+regexp.QuoteMeta(url.QueryEscape("/customers/"+strconv.FormatInt(anna.ClientID, 10)+"/edit"))+`$`)))
	expectVisible(t, heading(page, "Sign in"))
	expectText(t, page.GetByRole("status"), "Your session has ended. Sign in again; nothing was sent.")
	browsertest.Screenshot(t, page, "j10-session-expired")
	checkA11y(t, page, "j10-session-expired")
	body, err := page.Locator("body").InnerText()
	check(t, err)
	for _, s := range []string{"saved", "accepted", "Gdańsk", "Edit basic info"} {
		if strings.Contains(body, s) {
			t.Errorf("the sign-in page after the expired save shows %q:\n%s", s, body)
		}
	}
	if n, err := page.Locator("form[action^='/login']").Count(); err != nil || n != 1 {
		t.Errorf("%d sign-in forms on the page (%v), want exactly 1 (never one swapped into the edit form)", n, err)
	}
	mu.Lock()
	if len(htmxStatus) != 1 || htmxStatus[0] != 401 {
		t.Errorf("the save answered %v, want one 401 with HX-Redirect", htmxStatus)
	}
	mu.Unlock()

	// Nothing went upstream, nothing changed, nothing was audited as a change.
	if n := c.sim.RequestCount(simulator.RouteProfileUpdate) - updates; n != 0 {
		t.Errorf("%d profile updates reached Synerise after the session ended", n)
	}
	after, _ := c.sim.Profile(anna.ClientID)
	if !bytes.Equal(before, after) {
		t.Errorf("the profile changed:\nbefore %s\nafter  %s", before, after)
	}
	if ev := c.events(audit.ActionCustomerUpdate); len(ev) != 0 {
		t.Errorf("customer.update events after an expired session: %+v", ev)
	}
	if n := c.liveSessions(email); n != 0 {
		t.Errorf("%d live sessions after expiry", n)
	}

	// Signing in again from that page returns to the edit form, filled from the draft
	// with a notice; Synerise still has Warszawa until the agent saves.
	signInHere(t, page, email)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(base+"/edit"), "signing in again returns to the form")
	expectVisible(t, heading(page, "Edit basic info: "+anna.FirstName+" "+anna.LastName))
	expectText(t, draftNotice(page), "Restored your unsaved changes")
	browsertest.Check(t, browsertest.Expect().Locator(city).ToHaveValue("Gdańsk"))
	browsertest.Check(t, browsertest.Expect().Locator(page.GetByLabel("Reason for the change")).ToHaveValue("TICKET-1010 customer moved"))
	browsertest.Screenshot(t, page, "j10-signed-in-again")
	checkA11y(t, page, "j10-signed-in-again")
	if n := len(c.events(audit.ActionCustomerUpdate)); n != 0 {
		t.Errorf("%d customer.update events, want none", n)
	}
}

// signInHere signs in with the sign-in form already on the page, keeping where it
// returns to.
func signInHere(t *testing.T, page playwright.Page, email string) {
	t.Helper()
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(testPassword))
	check(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in"}).Click())
	expectVisible(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign out"}))
}

// pageGuard records what a page does that it should not: dialogs (alert and the like),
// requests that leave the console or go to paths the console does not serve, and CSP
// violations reported on the console.
type pageGuard struct {
	t       *testing.T
	dialogs func() []string
	mu      sync.Mutex
	bad     []string
}

func guard(t *testing.T, c *console, page playwright.Page) *pageGuard {
	g := &pageGuard{t: t, dialogs: browsertest.WatchForScripts(t, page)}
	allowed := regexp.MustCompile(`^/(|login|logout|customers(/.*)?|audit(/.*)?|drafts|static/(htmx\.min\.js|app\.js|passkey\.js|drafts\.js|[a-z]+\.css)|favicon\.ico)$`)
	page.OnRequest(func(r playwright.Request) {
		u, err := url.Parse(r.URL())
		if err != nil || u.Scheme+"://"+u.Host != c.URL || !allowed.MatchString(u.Path) {
			g.mu.Lock()
			g.bad = append(g.bad, "request "+r.Method()+" "+r.URL())
			g.mu.Unlock()
		}
	})
	page.OnConsole(func(m playwright.ConsoleMessage) {
		if m.Type() == "error" && (strings.Contains(m.Text(), "Content Security Policy") || strings.Contains(m.Text(), "Refused to")) {
			g.mu.Lock()
			g.bad = append(g.bad, "console: "+m.Text())
			g.mu.Unlock()
		}
	})
	return g
}

// injected lists attributes and elements in the page that the templates never write:
// event handlers, hx-on, hx-get="/x", javascript: URLs, scripts other than the console's
// own, and embedded content.
const injected = `() => {
	const bad = [];
	for (const el of document.querySelectorAll('*')) {
		for (const a of el.attributes) {
			const n = a.name.toLowerCase().replace(/^data-hx-/, 'hx-'), v = a.value.trim().toLowerCase(); // htmx reads data-hx-* too
			if (n.startsWith('on') || n.startsWith('hx-on') || (n === 'hx-get' && v === '/x') ||
				(['href', 'src', 'action', 'formaction', 'hx-get', 'hx-post'].includes(n) && v.startsWith('javascript:')) ||
				n.includes('"') || n.includes('<') || n.includes('alert')) {
				bad.push(el.tagName + ' ' + a.name + '=' + a.value);
			}
		}
	}
	for (const el of document.querySelectorAll('script, iframe, frame, svg, img, object, embed, base, meta[http-equiv]')) {
		if (el.tagName === 'SCRIPT' && ['/static/htmx.min.js', '/static/app.js', '/static/passkey.js', '/static/drafts.js'].includes(el.getAttribute('src')) && el.text === '') continue;
		bad.push('element ' + el.outerHTML.slice(0, 120));
	}
	return bad;
}`

// check fails the test if anything was injected into the page or any script ran.
func (g *pageGuard) check(page playwright.Page, where string) {
	g.t.Helper()
	res, err := page.Evaluate(injected)
	check(g.t, err, "inspect the DOM on ", where)
	if list, _ := res.([]any); len(list) > 0 {
		g.t.Errorf("%s: markup from customer data became live: %v", where, list)
	}
	if d := g.dialogs(); len(d) > 0 {
		g.t.Errorf("%s: scripts ran and opened dialogs: %v", where, d)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.bad) > 0 {
		g.t.Errorf("%s: %v", where, g.bad)
		g.bad = nil
	}
}

// Journey 11: customers whose names and fields hold markup (<script>, " hx-get="/x",
// hx-on:click=…, javascript: links) are found, listed, opened and edited; everything shows
// as literal text, no script runs, no request leaves for /x, and the auditor reads the
// search in the log just as literally.
func TestMarkupInCustomerDataStaysText(t *testing.T) {
	c := startConsole(t)
	var xss, obrien simulator.ExampleCustomer
	for _, e := range c.sim.Examples() {
		switch e.Email {
		case "markup+xss@example.com":
			xss = e
		case "o'brien+markup@example.co.uk":
			obrien = e
		}
	}
	if xss.FirstName != "<script>alert(1)</script>" || xss.LastName != `" hx-get="/x` || obrien.FirstName != "hx-on:click=alert(1)" {
		t.Fatalf("the simulator's markup customers changed: %+v %+v", xss, obrien)
	}
	xssName := xss.FirstName + " " + xss.LastName
	obrienName := obrien.FirstName + " " + obrien.LastName // hx-on:click=alert(1) <a href="javascript:alert(1)">O'Brien</a>

	page, _ := c.signIn(operators.RoleSupport)
	g := guard(t, c, page)
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Customers", Exact: playwright.Bool(true)}).First().Click())

	// Search by the start of the first name: the search box itself takes the markup.
	check(t, page.GetByLabel("Find a customer").Fill("<script>alert(1)</script>"))
	xssLink := page.Locator("#results").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: xssName, Exact: playwright.Bool(true)})
	expectVisible(t, xssLink)
	expectText(t, page.Locator("#results"), "Searched as a customId, name or e-mail prefix")
	browsertest.Screenshot(t, page, "j11-search-script")
	checkA11y(t, page, "j11-search-script")
	g.check(page, "results for <script>")

	check(t, page.GetByLabel("Find a customer").Fill("hx-on:click"))
	obrienLink := page.Locator("#results").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: obrienName, Exact: playwright.Bool(true)})
	expectVisible(t, obrienLink)
	check(t, obrienLink.Hover())
	browsertest.Screenshot(t, page, "j11-search-hx-on")
	checkA11y(t, page, "j11-search-hx-on")
	g.check(page, "results for hx-on:click")

	// Open the first one: every field is literal text.
	check(t, page.GetByLabel("Find a customer").Fill(xss.Email))
	check(t, xssLink.Click())
	h1 := heading(page, xssName)
	expectVisible(t, h1)
	browsertest.Check(t, browsertest.Expect().Locator(page.Locator("h1")).ToHaveText(xssName))
	field := func(label string) playwright.Locator {
		return page.Locator(`dl.fields dt:text-is("` + label + `") + dd`)
	}
	for label, want := range map[string]string{
		"First name": "<script>alert(1)</script>", "Last name": `" hx-get="/x`, "Display name": "hx-on:click=alert(1)",
		"City": "javascript:alert(1)", "Company": "<img src=x onerror=alert(1)>", "Address": `'><svg onload=alert(1)>`,
		"customId": "LOY-<b>8</b>",
	} {
		browsertest.Check(t, browsertest.Expect().Locator(field(label)).ToHaveText(want), label+" shown literally")
	}
	expectText(t, page.GetByRole("row", playwright.PageGetByRoleOptions{Name: "favouriteStore"}), `<iframe src="javascript:alert(1)">`)
	// Click and hover what an injected handler would hang on.
	check(t, h1.Click())
	check(t, field("Display name").Click())
	check(t, field("City").Hover())
	browsertest.Screenshot(t, page, "j11-customer-page")
	checkA11y(t, page, "j11-customer-page")
	g.check(page, "customer page")

	// The edit form carries the values in attributes: they must come back unchanged.
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Edit basic info"}).Click())
	expectVisible(t, heading(page, "Edit basic info: "+xssName))
	for label, want := range map[string]string{
		"First name": xss.FirstName, "Last name": xss.LastName, "Display name": "hx-on:click=alert(1)",
		"City": "javascript:alert(1)", "Address": `'><svg onload=alert(1)>`, "Company": "<img src=x onerror=alert(1)>",
	} {
		in := page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)})
		browsertest.Check(t, browsertest.Expect().Locator(in).ToHaveValue(want), label+" input holds the value literally")
	}
	browsertest.Check(t, browsertest.Expect().Locator(page.GetByLabel("Value of favouriteStore")).ToHaveValue(`<iframe src="javascript:alert(1)">`))
	browsertest.Screenshot(t, page, "j11-edit-form")
	checkA11y(t, page, "j11-edit-form")
	g.check(page, "edit form")

	// The second customer's page: a javascript: link in the last name stays text.
	browsertest.Goto(t, page, c.URL+"/customers/"+strconv.FormatInt(obrien.ClientID, 10))
	browsertest.Check(t, browsertest.Expect().Locator(page.Locator("h1")).ToHaveText(obrienName))
	if n, err := page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "O'Brien", Exact: playwright.Bool(true)}).Count(); err != nil || n != 0 {
		t.Errorf("%d links named O'Brien (%v): the last name became a link", n, err)
	}
	check(t, page.Locator("h1").Click())
	browsertest.Screenshot(t, page, "j11-obrien-page")
	checkA11y(t, page, "j11-obrien-page")
	g.check(page, "second customer page")

	// The audit log has the views and the searches, the query as typed.
	if n := len(viewRecords(c.customerEvents(audit.ActionCustomerView, xss.ClientID))); n != 1 {
		t.Errorf("%d views of the markup customer audited, want 1", n)
	}
	if n := len(viewRecords(c.customerEvents(audit.ActionCustomerView, obrien.ClientID))); n != 1 {
		t.Errorf("%d views of the second markup customer audited, want 1", n)
	}
	var scriptSearch audit.Event
	for _, e := range c.events(audit.ActionCustomerSearch) {
		var d struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(e.Detail, &d)
		if d.Query == "<script>alert(1)</script>" {
			scriptSearch = e
		}
	}
	if scriptSearch.Seq == 0 {
		t.Fatal("the search for <script>alert(1)</script> is not in the audit log")
	}

	// The auditor opens that search in the log: the query is shown as text there too.
	auditor, _ := c.signIn(operators.RoleAuditor)
	ag := guard(t, c, auditor)
	browsertest.Goto(t, auditor, c.URL+"/audit?action=customer.search")
	expectVisible(t, heading(auditor, "Audit log"))
	ag.check(auditor, "audit log of searches")
	browsertest.Goto(t, auditor, c.URL+"/audit/"+strconv.FormatInt(scriptSearch.Seq, 10))
	expectVisible(t, heading(auditor, "Audit event "+strconv.FormatInt(scriptSearch.Seq, 10)))
	shown, err := auditor.Locator("pre code").TextContent()
	check(t, err)
	var detail struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal([]byte(shown), &detail); err != nil || detail.Query != "<script>alert(1)</script>" {
		t.Errorf("the event's detail shows query %q (%v), want the text as typed:\n%s", detail.Query, err, shown)
	}
	browsertest.Screenshot(t, auditor, "j11-auditor-search-event")
	checkA11y(t, auditor, "j11-auditor-search-event")
	ag.check(auditor, "audit event of the search")
}

// Journey 12: after viewing a customer and signing out, the browser's Back button shows
// no customer data: the page is fetched again and the console answers with sign-in.
func TestBackAfterSignOutShowsNoCustomer(t *testing.T) {
	c := startConsole(t)
	anna, ok := c.sim.ExampleIn(simulator.StateActivated)
	if !ok {
		t.Fatal("no activated example customer")
	}
	name := anna.FirstName + " " + anna.LastName
	page, email := c.signIn(operators.RoleSupport)
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Customers", Exact: playwright.Bool(true)}).First().Click())
	check(t, page.GetByLabel("Find a customer").Fill(anna.Email))
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: name}).Click())
	expectVisible(t, heading(page, name))
	expectText(t, page.Locator("dl.fields").First(), anna.Email)
	customerURL := page.URL()
	browsertest.Screenshot(t, page, "j12-customer")
	checkA11y(t, page, "j12-customer")

	check(t, button(page, "Sign out").Click())
	expectText(t, page.GetByRole("status"), "You have signed out.")

	noCustomer := func(where string) {
		t.Helper()
		expectVisible(t, heading(page, "Sign in"))
		html, err := page.Content()
		check(t, err)
		for _, s := range []string{anna.Email, anna.LastName, anna.CustomID, "Marszałkowska", "600 100 200"} {
			if strings.Contains(html, s) {
				t.Errorf("%s: the page still holds %q", where, s)
			}
		}
		stored, err := page.Evaluate(`() => JSON.stringify(Object.entries(localStorage)) + JSON.stringify(Object.entries(sessionStorage))`)
		check(t, err)
		if s, _ := stored.(string); strings.Contains(s, anna.Email) || strings.Contains(s, anna.LastName) {
			t.Errorf("%s: browser storage holds customer data: %s", where, s)
		}
	}

	// Back: the customer's page is asked for again and the console sends sign-in instead.
	res, err := page.GoBack()
	check(t, err)
	if res == nil {
		t.Fatal("Back was served from the browser's cache (no response): the customer page was kept")
	}
	backToCustomer := regexp.MustCompile(`/login\?next=` + regexp.QuoteMeta(url.QueryEscape(strings.TrimPrefix(customerURL, c.URL))) + `$`)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(backToCustomer))
	noCustomer("Back to the customer page")
	browsertest.Screenshot(t, page, "j12-back-after-signout")
	checkA11y(t, page, "j12-back-after-signout")

	// Back again, to the search page whose results listed her: sign-in again.
	_, err = page.GoBack()
	check(t, err)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(`/login\?next=%2Fcustomers$`)))
	noCustomer("Back to the search page")

	// Only the one view while signed in is audited; the sign-out is.
	if n := len(viewRecords(c.customerEvents(audit.ActionCustomerView, anna.ClientID))); n != 1 {
		t.Errorf("%d customer.view events, want 1", n)
	}
	if n := c.liveSessions(email); n != 0 {
		t.Errorf("%d live sessions after sign-out", n)
	}
	out := c.events(audit.ActionSignOut)
	if len(out) != 1 || out[0].Actor.Email != email || out[0].Outcome != audit.OutcomeSucceeded {
		t.Errorf("sign-out events: %+v", out)
	}

	// Going forward to the sign-in page that Back led to and signing in there returns to
	// the customer: this time the view is shown, and audited.
	_, err = page.GoForward()
	check(t, err)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(backToCustomer))
	expectVisible(t, heading(page, "Sign in"))
	signInHere(t, page, email)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(customerURL), "signing in returns to the customer")
	expectVisible(t, heading(page, name))
	if n := len(viewRecords(c.customerEvents(audit.ActionCustomerView, anna.ClientID))); n != 2 {
		t.Errorf("%d customer.view events after signing in again, want 2", n)
	}
}
