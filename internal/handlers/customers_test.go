package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// The simulator's well-known customers (see simulator.Examples), by clientId.
const (
	annaID   = "4812300001" // activated, e-mail with +tag
	zoeID    = "4812300003" // waiting for the e-mailed activation link
	johnID   = "4812300004" // waiting for a PIN, bound to his device
	sofiaID  = "4812300005" // waiting for a PIN, no device yet
	jurgenID = "4812300006" // no password account
	markupID = "4812300008" // markup in every text field
	annaMail = "anna.kowalska+shop@example.com"
)

// htmxPost sends a form as htmx does: HX-Request and the CSRF header.
func (b *browser) htmxPost(path string, form url.Values) *http.Response {
	b.e.t.Helper()
	return b.do(http.MethodPost, path, strings.NewReader(form.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}, "X-Csrf-Token": {b.csrf()},
	})
}

func custParseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func custAttr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func custWalk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		custWalk(c, fn)
	}
}

func custText(n *html.Node) string {
	var b strings.Builder
	custWalk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// formValues is what a browser would submit from the form whose action is action.
func custFormValues(t testing.TB, page, action string) url.Values {
	t.Helper()
	var form *html.Node
	custWalk(custParseHTML(t, page), func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" {
			if a, _ := custAttr(n, "action"); a == action && form == nil {
				form = n
			}
		}
	})
	if form == nil {
		t.Fatalf("no form posting to %s in the page", action)
	}
	v := url.Values{}
	custWalk(form, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		name, ok := custAttr(n, "name")
		if !ok {
			return
		}
		switch n.Data {
		case "input":
			typ, _ := custAttr(n, "type")
			val, _ := custAttr(n, "value")
			if typ == "checkbox" {
				if _, checked := custAttr(n, "checked"); checked {
					v.Add(name, val)
				}
				return
			}
			v.Add(name, val)
		case "textarea":
			v.Add(name, custText(n))
		case "select":
			val := ""
			custWalk(n, func(o *html.Node) {
				if o.Type == html.ElementNode && o.Data == "option" {
					if _, sel := custAttr(o, "selected"); sel {
						val, _ = custAttr(o, "value")
					}
				}
			})
			v.Add(name, val)
		}
	})
	return v
}

// assertInert fails when customer markup became elements or attributes: the only
// scripts are the layout's, and no element carries an attribute the templates never write.
func assertInert(t *testing.T, page string) {
	t.Helper()
	if strings.Contains(page, "<script>alert") || strings.Contains(page, `hx-get="/x"`) || strings.Contains(page, "<img src=x") {
		t.Error("customer markup appears unescaped in the page")
	}
	custWalk(custParseHTML(t, page), func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "img", "iframe", "svg", "b":
			t.Errorf("element <%s> from customer data", n.Data)
		case "script":
			if src, _ := custAttr(n, "src"); !strings.HasPrefix(src, "/static/") {
				t.Errorf("script element from customer data: %v", n.Attr)
			}
		case "a":
			if href, _ := custAttr(n, "href"); strings.HasPrefix(strings.ToLower(href), "javascript:") {
				t.Errorf("javascript: link from customer data")
			}
		}
		for _, a := range n.Attr {
			k := strings.TrimPrefix(strings.ToLower(a.Key), "data-") // htmx reads data-hx-* too
			if k == "hx-get" || strings.HasPrefix(k, "hx-on") || strings.HasPrefix(k, "on") {
				t.Errorf("attribute %s=%q on <%s> from customer data", a.Key, a.Val, n.Data)
			}
		}
	})
}

func TestCustomerSearchFindsByAnything(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	cases := []struct{ name, query, want, kind string }{
		{"e-mail with a +tag", annaMail, annaID, "an e-mail address"},
		{"uuid", "3f1c9a52-7d0e-4b6a-9c1e-2a8b5d4e6f01", annaID, "a uuid"},
		{"clientId", annaID, annaID, "a clientId"},
		{"customId", "LOY-0000001", annaID, "a customId, name or e-mail prefix"},
		{"last name prefix", "Kowalsk", annaID, "a customId, name or e-mail prefix"},
		{"first and last name", "Anna Kowalska", annaID, "a customId, name or e-mail prefix"},
		{"e-mail prefix", "anna.kowalska+", annaID, "a customId, name or e-mail prefix"},
		{"phone with spaces", "+48 600 100 200", annaID, "a phone number"},
		{"phone without separators", "+48600100200", annaID, "a phone number"},
		{"phone digits only", "221234567", "4812300002", "a clientId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := b.htmxPost("/customers/search", url.Values{"q": {tc.query}})
			page := body(res)
			if res.StatusCode != http.StatusOK || !strings.Contains(page, `href="/customers/`+tc.want+`"`) {
				t.Fatalf("search %q: %d, customer %s not in results:\n%s", tc.query, res.StatusCode, tc.want, page)
			}
			if strings.Contains(page, "<html") {
				t.Error("htmx got a whole page, want the results fragment")
			}
			ev, ok := e.lastEvent(audit.ActionCustomerSearch)
			if !ok || ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.Detail), tc.kind) ||
				!strings.Contains(string(ev.Detail), `"query"`) {
				t.Fatalf("search not audited with its kind and query: %+v %s", ev, ev.Detail)
			}
		})
	}
	// The exact hit comes first, before prefix matches.
	page := body(b.htmxPost("/customers/search", url.Values{"q": {"LOY-0000001"}}))
	if i := strings.Index(page, `href="/customers/`); i < 0 || !strings.HasPrefix(page[i:], `href="/customers/`+annaID+`"`) {
		t.Error("the exact customId hit is not the first result")
	}
}

func TestCustomerSearchWithoutJavaScriptKeepsQueryOutOfURLAndLog(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.post("/customers/search", url.Values{"q": {annaMail}})
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Customers</h1>") || !strings.Contains(page, annaID) {
		t.Fatalf("plain search: %d", res.StatusCode)
	}
	if strings.Contains(e.logs.String(), "kowalska") {
		t.Error("the search query reached the log")
	}
}

func TestCustomerSearchPagesOnlyAfterAFullPage(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	// Every generated e-mail is at example-like domains; "a" as a prefix matches many names.
	page := body(b.htmxPost("/customers/search", url.Values{"q": {"a"}}))
	if !strings.Contains(page, "Next page") {
		t.Fatalf("a broad search offers no next page:\n%s", page)
	}
	next := body(b.htmxPost("/customers/search", url.Values{"q": {"a"}, "page": {"1"}}))
	if !strings.Contains(next, "page 2") || !strings.Contains(next, "Previous page") {
		t.Fatalf("page 2:\n%s", next)
	}
	few := body(b.htmxPost("/customers/search", url.Values{"q": {"Kowalska"}}))
	if strings.Contains(few, "Next page") {
		t.Error("next page offered after a short page")
	}
}

func TestCustomerSearchNotFoundAndInvalidInput(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.htmxPost("/customers/search", url.Values{"q": {"nobody-here@example.com"}})
	if page := body(res); res.StatusCode != http.StatusOK || !strings.Contains(page, "No such customer: none matches") {
		t.Fatalf("not found: %d %s", res.StatusCode, page)
	}
	before := e.sim.RequestCounts()
	for _, q := range []string{"ann\x01a", "a\x00b", strings.Repeat("x", 300), "\xff\xfe"} {
		res := b.htmxPost("/customers/search", url.Values{"q": {q}})
		page := body(res)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was looked up") {
			t.Errorf("query %q: %d %s", q, res.StatusCode, page)
		}
	}
	after := e.sim.RequestCounts()
	for _, route := range []string{"profiles.get", "profiles.list"} {
		if after[route] != before[route] {
			t.Errorf("invalid input reached Synerise: %s %d → %d", route, before[route], after[route])
		}
	}
	res = b.htmxPost("/customers/search", url.Values{"q": {""}})
	if res.StatusCode != http.StatusOK {
		t.Errorf("empty query: %d", res.StatusCode)
	}
}

// newFastEnv is a console whose Synerise client gives up after 300ms, on a simulator of
// its own, so timeouts are quick to test.
func newFastEnv(t *testing.T) (*env, *simulator.Simulator) {
	t.Helper()
	sim := simulator.New(simulator.Options{Customers: 300})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	api, err := synerise.NewClient(srv.URL, simulator.DefaultAPIKey, synerise.WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(d *handlers.Deps) {
		d.Profiles, d.Accounts, d.Settings, d.Outbox = api.Profiles, api.Accounts, api.Settings, server.SandboxOutbox(sim)
	})
	return e, sim
}

func TestCustomerSearchTellsEachSyneriseErrorInPlace(t *testing.T) {
	cases := []struct {
		name  string
		fault simulator.Fault
		want  []string
		code  int
	}{
		{"rate limited", simulator.Fault{RateLimitRate: 1, RetryAfter: 7 * time.Second}, []string{"rate limiting", "7 seconds"}, http.StatusTooManyRequests},
		{"unavailable", simulator.Fault{ErrorRate: 1, ErrorStatus: 503}, []string{"Synerise is unavailable", "without saying for how long"}, http.StatusServiceUnavailable},
		{"server error", simulator.Fault{ErrorRate: 1, ErrorStatus: 500}, []string{"Synerise failed", "(500)"}, http.StatusBadGateway},
		{"dropped connection", simulator.Fault{DropRate: 1}, []string{"Could not reach Synerise"}, http.StatusBadGateway},
		{"timeout", simulator.Fault{Latency: time.Second}, []string{"did not answer in time"}, http.StatusGatewayTimeout},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, sim := newFastEnv(t)
			b, _ := e.signedIn(operators.RoleSupport)
			sim.SetFault("profiles.get", tc.fault)
			// One request per case, alternately as htmx and as a plain form: more would
			// open the circuit breaker, which has its own test.
			var res *http.Response
			if i%2 == 0 {
				res = b.htmxPost("/customers/search", url.Values{"q": {annaMail}})
			} else {
				res = b.post("/customers/search", url.Values{"q": {annaMail}})
			}
			page := body(res)
			if res.StatusCode != tc.code {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.code, page)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("message lacks %q:\n%s", w, page)
				}
			}
			if !strings.Contains(page, `role="alert"`) {
				t.Error("the message is not announced")
			}
			ev, ok := e.lastEvent(audit.ActionCustomerSearch)
			if !ok || ev.Outcome != audit.OutcomeFailed || ev.UpstreamError == "" {
				t.Errorf("failed search audit: %+v", ev)
			}
		})
	}
}

func TestCustomerSearchWhenTheCircuitIsOpen(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.sim.SetFault("profiles.get", simulator.Fault{ErrorRate: 1, ErrorStatus: 500})
	var page string
	for range 8 {
		page = body(b.htmxPost("/customers/search", url.Values{"q": {annaMail}}))
	}
	if !strings.Contains(page, "Synerise is failing") || !strings.Contains(page, "paused calls") {
		t.Fatalf("open circuit:\n%s", page)
	}
}

func TestCustomerPageShowsEverythingAndIsAudited(t *testing.T) {
	e := newEnv(t)
	e.setRegistration("REQUIRE_EMAIL_ACTIVATION")
	b, op := e.signedIn(operators.RoleSupport)
	res := b.do(http.MethodGet, "/customers/"+annaID+"?reason=TICKET-42", nil, sameOrigin)
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("customer page: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{annaMail, "3f1c9a52-7d0e-4b6a-9c1e-2a8b5d4e6f01", "LOY-0000001", "Warszawa", "+48 600 100 200",
		"1988-04-12", "loyaltyTier", "gold", "Activated", "Console history", "Viewed a customer", op.Email,
		`href="/customers/` + annaID + `/edit"`, `href="/customers/` + annaID + `/password-reset"`} {
		if !strings.Contains(page, want) {
			t.Errorf("customer page lacks %q", want)
		}
	}
	if strings.Contains(page, "/activation") {
		t.Error("activation resend offered on an activated account")
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if n := strings.Count(page, "<h1"); n != 1 {
		t.Errorf("%d h1 elements", n)
	}
	ev, ok := lastViewIntent(e)
	if !ok || ev.Target.ID != annaID || ev.Actor.OperatorID != op.ID || ev.Reason != "TICKET-42" || ev.Target.Label != "" {
		t.Fatalf("view audit: %+v", ev)
	}
	zoe := body(b.get("/customers/" + zoeID))
	if !strings.Contains(zoe, "Not activated yet") || !strings.Contains(zoe, `/customers/`+zoeID+`/activation`) {
		t.Error("a not-activated customer is not offered the activation resend")
	}
	if res := b.get("/customers/999999"); res.StatusCode != http.StatusNotFound || !strings.Contains(body(res), "No such customer") {
		t.Errorf("unknown customer: %d", res.StatusCode)
	}
	if res := b.get("/customers/abc"); res.StatusCode != http.StatusNotFound {
		t.Errorf("non-numeric id: %d", res.StatusCode)
	}
}

func TestCustomerMarkupRendersInert(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	for _, path := range []string{"/customers/" + markupID, "/customers/" + markupID + "/edit", "/customers/" + markupID + "/password-reset",
		"/customers/4812300009", "/customers/4812300009/edit"} {
		res := b.get(path)
		page := body(res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		assertInert(t, page)
	}
	page := body(b.get("/customers/" + markupID))
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the markup is not shown as text")
	}
	for _, q := range []string{"markup+xss@example.com", "<script>", "hx-on"} {
		res := b.htmxPost("/customers/search", url.Values{"q": {q}})
		assertInert(t, body(res))
	}
}

func TestCustomerTimelineFoldsIntentsIntoOutcomes(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	form := custFormValues(t, body(b.get("/customers/"+annaID+"/password-reset")), "/customers/"+annaID+"/password-reset")
	form.Set("reason", "customer asked on chat")
	if res := b.post("/customers/"+annaID+"/password-reset", form); res.StatusCode != http.StatusOK {
		t.Fatalf("reset: %d %s", res.StatusCode, body(res))
	}
	page := body(b.get("/customers/" + annaID))
	if !strings.Contains(page, "Sent a customer a password reset") || !strings.Contains(page, "customer asked on chat") {
		t.Fatal("the timeline lacks the reset")
	}
	if strings.Contains(page, "In progress") {
		t.Error("an intent with an outcome is listed as in progress")
	}
}

func TestAuditorCannotSearchCustomers(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAuditor)
	before := e.sim.RequestCount("profiles.get")
	if res := b.post("/customers/search", url.Values{"q": {annaMail}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor search: %d", res.StatusCode)
	}
	if e.sim.RequestCount("profiles.get") != before {
		t.Error("a refused search reached Synerise")
	}
}

// customerAuditNoIntents is an audit log whose intents cannot be written.
type customerAuditNoIntents struct{ *audit.Store }

func (customerAuditNoIntents) Intent(context.Context, audit.Event) (audit.Event, error) {
	return audit.Event{}, errors.New("audit: write intent: connection refused")
}

func TestFailingAuditMeansNothingIsSent(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.Audit = customerAuditNoIntents{d.Audit.(*audit.Store)} })
	b, _ := e.signedIn(operators.RoleSupport)
	e.settingsPIN(false)

	edit := custFormValues(t, body(b.get("/customers/"+annaID+"/edit")), "/customers/"+annaID)
	edit.Set("city", "Gdańsk")
	edit.Set("reason", "TICKET-1")
	reset := custFormValues(t, body(b.get("/customers/"+annaID+"/password-reset")), "/customers/"+annaID+"/password-reset")
	reset.Set("reason", "TICKET-1")
	pin := custFormValues(t, body(b.get("/customers/"+johnID+"/activation")), "/customers/"+johnID+"/activation")
	pin.Set("reason", "TICKET-1")

	before := e.sim.RequestCounts()
	for path, form := range map[string]url.Values{
		"/customers/" + annaID: edit, "/customers/" + annaID + "/password-reset": reset, "/customers/" + johnID + "/activation": pin,
	} {
		res := b.post(path, form)
		page := body(res)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Audit log unavailable — nothing was done") {
			t.Errorf("%s with a failing audit log: %d %s", path, res.StatusCode, page)
		}
	}
	after := e.sim.RequestCounts()
	for _, route := range []string{"profiles.update", "accounts.password_reset", "accounts.pin", "accounts.activation"} {
		if after[route] != before[route] {
			t.Errorf("%s called %d times with a failing audit log", route, after[route]-before[route])
		}
	}
}

// settingsPIN switches the workspace to PIN registration.
func (e *env) settingsPIN(allowOtherDevice bool) {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.api.Settings.Get(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	s.SetRegistrationType("REQUIRE_PIN_CONFIRMATION")
	s.SetAllowPinResendFromDifferentDeviceID(allowOtherDevice)
	if _, err := e.api.Settings.Set(ctx, s); err != nil {
		e.t.Fatal(err)
	}
}

func TestSandboxOutboxPage(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	form := custFormValues(t, body(b.get("/customers/"+annaID+"/password-reset")), "/customers/"+annaID+"/password-reset")
	form.Set("reason", "TICKET-7")
	b.post("/customers/"+annaID+"/password-reset", form)
	msg, ok := e.sim.LastMessage(annaMail, simulator.KindPasswordReset)
	if !ok {
		t.Fatal("no reset in the outbox")
	}
	page := body(b.get("/sandbox/outbox"))
	if !strings.Contains(page, msg.Secret) || !strings.Contains(page, "Password reset") || !strings.Contains(page, annaMail) {
		t.Fatalf("outbox page lacks the reset:\n%s", page)
	}
	off := newEnv(t, func(d *handlers.Deps) { d.Outbox = nil; d.Sandbox = false })
	ob, _ := off.signedIn(operators.RoleSupport)
	if res := ob.get("/sandbox/outbox"); res.StatusCode != http.StatusNotFound {
		t.Errorf("outbox outside sandbox mode: %d", res.StatusCode)
	}
}

// viewsRefused is the audit log with customer views refused.
type viewsRefused struct{ *audit.Store }

func (v viewsRefused) Intent(ctx context.Context, e audit.Event) (audit.Event, error) {
	if e.Action == audit.ActionCustomerView {
		return audit.Event{}, errors.New("audit: write intent: connection refused")
	}
	return v.Store.Intent(ctx, e)
}

// The page is rendered while the view is being recorded, but nothing of it is sent unless
// the view is recorded, and it shows the time the view was recorded with.
func TestCustomerPageWaitsForItsViewToBeRecorded(t *testing.T) {
	refused := newEnv(t, func(d *handlers.Deps) { d.Audit = viewsRefused{d.Audit.(*audit.Store)} })
	b, _ := refused.signedIn(operators.RoleSupport)
	res := b.get("/customers/" + annaID)
	page := body(res)
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(page, annaMail) || strings.Contains(page, "Warszawa") {
		t.Fatalf("a view that could not be recorded: %d\n%s", res.StatusCode, page)
	}

	e := newEnv(t)
	b, _ = e.signedIn(operators.RoleSupport)
	e.clock.Add(-400 * 24 * time.Hour) // the console's clock is off from the audit log's
	page = body(b.get("/customers/" + annaID))
	ev, ok := lastViewIntent(e)
	if !ok {
		t.Fatal("the view was not recorded")
	}
	recorded := ev.Time.UTC().Format("2006-01-02 15:04:05")
	if !strings.Contains(page, recorded) {
		t.Fatalf("the page does not show the recorded time %s", recorded)
	}
	if guessed := e.clock.Now().UTC().Format("2006-01-02"); strings.Contains(page, guessed) {
		t.Fatalf("the page shows the console's own time (%s) instead of the recorded one", guessed)
	}
}
