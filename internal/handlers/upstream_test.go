package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// setRegistration switches the workspace's registration type through the console's own client.
func (e *env) setRegistration(kind string) {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.api.Settings.Get(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	s.SetRegistrationType(kind)
	if _, err := e.api.Settings.Set(ctx, s); err != nil {
		e.t.Fatal(err)
	}
}

// A view, an action or an edit whose Synerise read fails still leaves a row in the audit
// log, with the outcome and what Synerise said.
func TestFailedAttemptsAreAudited(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)

	e.sim.SetFault(simulator.RouteProfileGet, simulator.Fault{ErrorRate: 1, ErrorStatus: 500})
	res := b.do(http.MethodGet, "/customers/"+annaID+"?reason=TICKET-9", nil, sameOrigin)
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("failing view: %d", res.StatusCode)
	}
	ev, ok := e.lastEvent(audit.ActionCustomerView)
	if !ok || ev.Outcome != audit.OutcomeFailed || ev.Target.ID != annaID || ev.Actor.OperatorID != op.ID ||
		ev.Reason != "TICKET-9" || ev.UpstreamStatus != 500 || !strings.Contains(ev.UpstreamError, "Synerise failed") {
		t.Fatalf("failed view recorded as %+v", ev)
	}

	form := url.Values{"reason": {"TICKET-10"}, "nonce": {"AAAAAAAAAAAAAAAAAAAAAA"}}
	if res := b.post("/customers/"+annaID+"/password-reset", form); res.StatusCode != http.StatusBadGateway {
		t.Fatalf("failing reset: %d", res.StatusCode)
	}
	ev, ok = e.lastEvent(audit.ActionCustomerPasswordReset)
	if !ok || ev.Outcome != audit.OutcomeFailed || ev.Target.ID != annaID || ev.Reason != "TICKET-10" {
		t.Fatalf("failed reset recorded as %+v", ev)
	}
	e.sim.ClearFaults()

	// A customer Synerise does not have: the attempt is recorded as failed with its 404.
	if res := b.get("/customers/999999999"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing customer: %d", res.StatusCode)
	}
	ev, _ = e.lastEvent(audit.ActionCustomerView)
	if ev.Outcome != audit.OutcomeFailed || ev.Target.ID != "999999999" || ev.UpstreamStatus != 404 {
		t.Fatalf("view of a missing customer recorded as %+v", ev)
	}
	for path, action := range map[string]audit.Action{
		"/customers/999999998/activation": audit.ActionCustomerActivationResend,
		"/customers/999999998":            audit.ActionCustomerUpdate,
	} {
		if res := b.post(path, url.Values{"reason": {"TICKET-11"}}); res.StatusCode != http.StatusNotFound {
			t.Fatalf("failing %s: %d", path, res.StatusCode)
		}
		ev, ok = e.lastEvent(action)
		if !ok || ev.Outcome != audit.OutcomeFailed || ev.Target.ID != "999999998" || ev.Reason != "TICKET-11" || ev.UpstreamStatus != 404 {
			t.Fatalf("failed %s recorded as %+v", action, ev)
		}
	}
	// A reason that would be refused in a form is not recorded through a failed attempt
	// either (here a right-to-left override), and a path that is no clientId is no target.
	b.post("/customers/999999998/password-reset", url.Values{"reason": {"approved \u202egnp.exe"}})
	b.post("/customers/abc/password-reset", url.Values{"reason": {"TICKET-12"}})
	evs := e.events()
	for _, ev := range evs[len(evs)-2:] {
		if ev.Action != audit.ActionCustomerPasswordReset || strings.ContainsRune(ev.Reason, '\u202e') || ev.Target.ID == "abc" {
			t.Fatalf("failed attempt recorded as %+v", ev)
		}
	}
}

// A write that was sent is awaited and its outcome recorded even when the operator's
// browser gives up while Synerise is still working on it.
func TestWriteOutlivesTheBrowser(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	form := actionForm(t, b, "/customers/"+annaID+"/password-reset", "TICKET-11")
	form.Set("_csrf", b.csrf())
	e.sim.SetFault(simulator.RoutePasswordReset, simulator.Fault{Latency: 600 * time.Millisecond})

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/customers/"+annaID+"/password-reset", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, err := b.client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the browser was answered (%d) before Synerise was", res.StatusCode)
	}

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ev, ok := e.lastEvent(audit.ActionCustomerPasswordReset); ok && ev.Outcome != audit.OutcomePending {
			if ev.Outcome != audit.OutcomeSucceeded {
				t.Fatalf("outcome %s (%s), want succeeded", ev.Outcome, ev.UpstreamError)
			}
			if _, sent := e.sim.LastMessage(annaMail, simulator.KindPasswordReset); !sent {
				t.Fatal("recorded as succeeded but Synerise sent nothing")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no outcome recorded after the browser went away")
}

// Under AUTOMATIC registration snrs_email_confirmed stays false for everybody: the console
// says the account needs no activation and offers no resend. Under e-mail activation the
// same customer is "Not activated yet" and the resend is offered.
func TestActivationStateFollowsTheRegistrationType(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + zoeID

	e.setRegistration("AUTOMATIC")
	page := body(b.get(path))
	if !strings.Contains(page, "needs no activation") || strings.Contains(page, "Not activated yet") || strings.Contains(page, path+"/activation") {
		t.Fatalf("AUTOMATIC workspace:\n%s", page)
	}
	res := b.get(path + "/activation")
	if page := body(res); !strings.Contains(page, "need no activation") || strings.Contains(page, "Send activation") {
		t.Fatalf("activation form under AUTOMATIC:\n%s", page)
	}
	search := body(b.htmxPost("/customers/search", url.Values{"q": {"4812300003"}}))
	if !strings.Contains(search, "needs no activation") {
		t.Fatalf("search rows under AUTOMATIC:\n%s", search)
	}

	e.setRegistration("REQUIRE_EMAIL_ACTIVATION")
	e.clock.Add(time.Minute) // past the console's short memory of the registration type
	page = body(b.get(path))
	if !strings.Contains(page, "Not activated yet") || !strings.Contains(page, path+"/activation") {
		t.Fatalf("e-mail activation workspace:\n%s", page)
	}
}

// webPush is shown and edited like the other agreements.
func TestWebPushAgreementShownAndEdited(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	if page := body(b.get(path)); !strings.Contains(page, "Web push") {
		t.Fatalf("customer page lacks the web push agreement:\n%s", page)
	}
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	was := form.Get("agreement_webPush") == "on"
	if was {
		form.Del("agreement_webPush")
	} else {
		form.Set("agreement_webPush", "on")
	}
	form.Set("reason", "TICKET-12")
	if res := b.htmxPost(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	want := `{"agreements":{"webPush":` + map[bool]string{true: "false", false: "true"}[was] + `}}`
	if len(rec.sent) != 1 || rec.sent[0] != want {
		t.Fatalf("sent %v, want %s", rec.sent, want)
	}
	if got := e.profile(annaID)["agreements"].(map[string]any)["webPush"]; got != !was {
		t.Fatalf("webPush is %v in Synerise, want %v", got, !was)
	}
}

// A new phone number follows Synerise's rule (digits, spaces, optional +); a stored
// number in another form is left alone when something else is changed.
func TestPhoneRuleForNewValuesOnly(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("phone", "+48 (600) 100-200")
	form.Set("reason", "TICKET-13")
	res := b.htmxPost(path, form)
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Phone may hold only digits and spaces") {
		t.Fatalf("dashes and brackets accepted: %d %s", res.StatusCode, page)
	}
	if len(rec.sent) != 0 {
		t.Fatalf("sent %v", rec.sent)
	}

	// A stored number with dashes survives an edit of the city.
	e.sim.SetPhone(4812300001, "+48 600-100-200")
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	if form.Get("phone") != "+48 600-100-200" {
		t.Fatalf("form shows phone %q", form.Get("phone"))
	}
	form.Set("city", "Sopot")
	form.Set("reason", "TICKET-14")
	if res := b.htmxPost(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("save with a stored odd phone: %d %s", res.StatusCode, body(res))
	}
	if len(rec.sent) != 1 || rec.sent[0] != `{"city":"Sopot"}` {
		t.Fatalf("sent %v", rec.sent)
	}
}

// ".." pasted into the search is never put into a path; the prefix searches still run.
func TestSearchNeverSendsDotSegments(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	for _, q := range []string{"..", "."} {
		e.sim.ResetRequestCounts()
		res := b.htmxPost("/customers/search", url.Values{"q": {q}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("search %q: %d %s", q, res.StatusCode, body(res))
		}
		if n := e.sim.RequestCount(simulator.RouteProfileGet); n != 0 {
			t.Fatalf("search %q made %d profile lookups by path", q, n)
		}
		if n := e.sim.RequestCount(simulator.RouteProfileList); n == 0 {
			t.Fatalf("search %q ran no prefix search", q)
		}
	}
}

// A write whose answer never came is told in words, never as a raw error, and the
// settings history says it may or may not have been applied.
func TestSettingsUnknownOutcomeInWords(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAdmin)
	form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "pinConfirmationLength", "8")
	confirm := submission(t, body(b.post("/settings/preview", form)), "/settings")
	confirm.Set("reason", "TICKET-15")
	e.sim.SetFault(simulator.RouteSettingsSet, simulator.Fault{DropRate: 1})
	page := body(b.post("/settings", confirm))
	for _, raw := range []string{"synerise:", "EOF", "settings.set"} {
		if strings.Contains(page, raw) {
			t.Errorf("settings page shows the raw error %q:\n%s", raw, page)
		}
	}
	if !strings.Contains(page, "may or may not have been applied") || !strings.Contains(page, "The settings read right after show the values from before the change") {
		t.Fatalf("unknown outcome not in words:\n%s", page)
	}
	e.sim.ClearFaults()
	history := body(b.get("/settings/history"))
	if !strings.Contains(history, "may or may not have been applied") || strings.Contains(history, "synerise:") {
		t.Fatalf("history:\n%s", history)
	}
}

// The edit form gives back what it shows: attributes holding null, empty text, numbers, a
// bool, a list and an object all come back unchanged when the agent changes only the city;
// a list or an object is shown read-only; removing is the Remove box alone.
func TestEditKeepsAttributesOfEveryType(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	ex, ok := e.sim.ExampleFor(simulator.CaseAttributeTypes)
	if !ok {
		t.Fatal("no attribute-types example")
	}
	id := strconv.FormatInt(ex.ClientID, 10)
	path := "/customers/" + id
	before := e.profile(id)["attributes"]

	page := body(b.get(path + "/edit"))
	for _, want := range []string{"null (no value)", "empty text", `<code class="attr-readonly">[&#34;a&#34;,&#34;b&#34;]</code>`, "An object: shown as stored"} {
		if !strings.Contains(page, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	form := custFormValues(t, page, path)
	for _, key := range []string{"interests", "membership"} {
		if row := attrRow(form, key); row == "" || form.Has("attr."+row+".value") {
			t.Errorf("%s is editable as text (row %q)", key, row)
		}
	}
	form.Set("city", "Toruń")
	form.Set("reason", "TICKET-16")
	res := b.htmxPost(path, form)
	saved := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, saved)
	}
	if len(rec.sent) != 1 || rec.sent[0] != `{"city":"Toruń"}` {
		t.Fatalf("sent %v, want the city only", rec.sent)
	}
	changed, _, _ := strings.Cut(saved[strings.Index(saved, "What changed"):], "</table>")
	if n := strings.Count(changed, `<th scope="row">`); n != 1 || !strings.Contains(changed, "Toruń") {
		t.Errorf("the saved page lists %d changes, want the city only:\n%s", n, changed)
	}
	if after := e.profile(id)["attributes"]; !reflect.DeepEqual(before, after) {
		t.Fatalf("attributes changed:\nbefore %v\nafter  %v", before, after)
	}
	intent, _ := e.intentAndOutcome(audit.ActionCustomerUpdate)
	if string(intent.After) != `{"city":"Toruń"}` {
		t.Fatalf("audit records %s", intent.After)
	}

	// Remove on the list deletes it; an emptied text is sent as empty text, not deleted.
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("attr."+attrRow(form, "interests")+".remove", "on")
	form.Set("attr."+attrRow(form, "visits")+".value", "43")
	form.Set("reason", "TICKET-17")
	if res := b.htmxPost(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("second save: %d %s", res.StatusCode, body(res))
	}
	if rec.sent[1] != `{"attributes":{"interests":null,"visits":43}}` {
		t.Fatalf("sent %s", rec.sent[1])
	}
	attrs := e.profile(id)["attributes"].(map[string]any)
	if _, ok := attrs["interests"]; ok || attrs["visits"] != float64(43) || attrs["lastStore"] != nil || attrs["nickname"] != "" {
		t.Fatalf("attributes now %v", attrs)
	}
	if _, ok := attrs["lastStore"]; !ok {
		t.Fatal("lastStore (null) was deleted")
	}
}

// Tokens revoked under a running console (an API key regenerated, a signing key rotated):
// the next view signs in again once and is served; nothing wedges.
func TestRevokedTokensDoNotWedgeTheConsole(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	if res := b.get("/customers/" + annaID); res.StatusCode != http.StatusOK {
		t.Fatalf("first view: %d", res.StatusCode)
	}
	for round := range 3 {
		e.sim.RevokeTokens()
		e.sim.ResetRequestCounts()
		res := b.get("/customers/" + zoeID)
		if page := body(res); res.StatusCode != http.StatusOK {
			t.Fatalf("round %d: view after revocation: %d\n%s", round, res.StatusCode, page)
		}
		if n := e.sim.RequestCount(simulator.RouteLogin); n != 1 {
			t.Fatalf("round %d: %d logins after one revocation, want 1", round, n)
		}
	}
}

// Retry-After is a promise: asked to wait 30 s, the console does not ask again sooner, and
// tells the operator how long to wait. A 503 without it reads "unavailable", not "busy".
func TestRetryAfterIsHonouredAndTold(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.sim.SetFault(simulator.RouteProfileGet, simulator.Fault{ErrorRate: 1, ErrorStatus: 503, RetryAfter: 30 * time.Second})
	e.sim.ResetRequestCounts()
	start := time.Now()
	res := b.get("/customers/" + annaID)
	page := body(res)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the view took %s: the console waited on a 30 s Retry-After", took)
	}
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Synerise is busy") || !strings.Contains(page, "wait 30 seconds") {
		t.Fatalf("%d:\n%s", res.StatusCode, page)
	}
	if n := e.sim.RequestCount(simulator.RouteProfileGet); n != 1 {
		t.Fatalf("%d reads, want 1: Synerise asked for 30 s", n)
	}
	// Another operator request for the same customer within the 30 s is not sent at all.
	e.sim.ClearFaults()
	res = b.get("/customers/" + annaID)
	page = body(res)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Synerise is busy") || !strings.Contains(page, "Synerise asked to wait") {
		t.Fatalf("second view within the wait: %d\n%s", res.StatusCode, page)
	}
	if n := e.sim.RequestCount(simulator.RouteProfileGet); n != 1 {
		t.Fatalf("%d reads, want still 1: the same request went out again before Retry-After allowed", n)
	}

	e.sim.SetFault(simulator.RouteProfileGet, simulator.Fault{ErrorRate: 1, ErrorStatus: 503})
	page = body(b.get("/customers/" + zoeID))
	if !strings.Contains(page, "Synerise is unavailable") || strings.Contains(page, "busy") {
		t.Fatalf("503 without Retry-After:\n%s", page)
	}
}

// sameOrigin is what a browser sends with a navigation from a page of the console.
var sameOrigin = http.Header{"Sec-Fetch-Site": {"same-origin"}}

// A reason in a link is recorded only when the link was followed from the console itself:
// a link on another site must not write words in the operator's name.
func TestReasonOnlyFromSameOriginLinks(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID + "?reason=approved+by+CISO"
	cases := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"cross-site link", http.Header{"Sec-Fetch-Site": {"cross-site"}}, ""},
		{"same-site link", http.Header{"Sec-Fetch-Site": {"same-site"}}, ""},
		{"typed or bookmarked", http.Header{"Sec-Fetch-Site": {"none"}}, ""},
		{"no fetch metadata, foreign referer", http.Header{"Referer": {"https://evil.example/page"}}, ""},
		{"no fetch metadata, no referer", nil, ""},
		{"same-origin link", sameOrigin, "approved by CISO"},
		{"no fetch metadata, own referer", http.Header{"Referer": {e.srv.URL + "/customers"}}, "approved by CISO"},
	}
	for _, tc := range cases {
		res := b.do(http.MethodGet, path, nil, tc.header)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.name, res.StatusCode)
		}
		res.Body.Close()
		ev, _ := lastViewIntent(e)
		if ev.Reason != tc.want || ev.Outcome != audit.OutcomePending {
			t.Errorf("%s: view recorded with reason %q, want %q", tc.name, ev.Reason, tc.want)
		}
	}
}

// A crafted sign-in link cannot smuggle a reason through the post-sign-in redirect, which
// the browser would follow as a same-origin navigation.
func TestSignInRedirectDropsTheQuery(t *testing.T) {
	e := newEnv(t)
	op := e.operator("support-next-"+randSuffix()+"@example.com", operators.RoleSupport)
	b := e.browser()
	next := url.QueryEscape("/customers/" + annaID + "?reason=approved by CISO")
	res := b.post("/login?next="+next, url.Values{"email": {op.Email}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/customers/"+annaID {
		t.Fatalf("%d Location %q, want /customers/%s", res.StatusCode, res.Header.Get("Location"), annaID)
	}
}

// The registration type costs one settings read per 30 s, however many customer pages
// are shown at once; the activation form reads the settings fresh and that read is the one
// remembered.
func TestRegistrationTypeIsReadOncePerInterval(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.setRegistration("REQUIRE_EMAIL_ACTIVATION")
	e.sim.ResetRequestCounts()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { body(b.get("/customers/" + zoeID)) })
	}
	wg.Wait()
	if n := e.sim.RequestCount(simulator.RouteSettingsGet); n != 1 {
		t.Fatalf("8 customer pages read the settings %d times, want 1", n)
	}
	e.clock.Add(time.Minute)
	body(b.get("/customers/" + zoeID + "/activation"))
	body(b.get("/customers/" + zoeID))
	if n := e.sim.RequestCount(simulator.RouteSettingsGet); n != 2 {
		t.Fatalf("after the interval: %d settings reads in all, want 2 (the activation form's read remembered)", n)
	}
}
