package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// eraseForm opens the erasure page and fills in the typed confirmation and the reason.
func eraseForm(t *testing.T, b *browser, id, typed, reason string) url.Values {
	t.Helper()
	form := custFormValues(t, body(b.get("/customers/"+id+"/erase")), "/customers/"+id+"/erase")
	form.Set("confirm", typed)
	form.Set("reason", reason)
	return form
}

// gone checks that every way to the customer answers "no such customer".
func gone(t *testing.T, e *env, b *browser, id, mail string) {
	t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	if _, ok := e.sim.Profile(n); ok {
		t.Fatal("the simulator still has the profile")
	}
	if _, err := e.api.Profiles.GetByEmail(context.Background(), mail); !synerise.IsNotFound(err) {
		t.Fatalf("lookup by e-mail: %v", err)
	}
	if page := body(b.htmxPost("/customers/search", url.Values{"q": {mail}})); !strings.Contains(page, "No such customer: none matches") {
		t.Fatalf("search by e-mail: %s", page)
	}
	if page := body(b.htmxPost("/customers/search", url.Values{"q": {id}})); !strings.Contains(page, "No such customer: none matches") {
		t.Fatalf("search by clientId: %s", page)
	}
	res := b.get("/customers/" + id)
	if page := body(res); res.StatusCode != http.StatusNotFound || !strings.Contains(page, "No such customer") {
		t.Fatalf("customer page: %d %s", res.StatusCode, page)
	}
}

func TestCustomerErasePageShowsWhatIsDeleted(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	page := body(b.get("/customers/" + annaID + "/erase"))
	for _, want := range []string{"What will be deleted", annaMail, "Agreements", "Custom attributes",
		`<label for="erase-confirm">Type the customer&#39;s e-mail address to confirm</label>`, `<label for="gdpr-reason">Reason</label>`, "Erase this customer"} {
		if !strings.Contains(page, want) {
			t.Errorf("erase page lacks %q", want)
		}
	}
	if page := body(b.get("/customers/" + annaID)); !strings.Contains(page, `href="/customers/`+annaID+`/erase"`) {
		t.Error("the customer page offers no erasure")
	}
}

func TestCustomerEraseRefusalsSendNothing(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	tests := []struct{ name, typed, reason, want string }{
		{"nothing typed", "", "GDPR-1", "What you typed does not match"},
		{"another address", "zoe@example.com", "GDPR-1", "What you typed does not match"},
		{"the clientId instead of the e-mail", annaID, "GDPR-1", "What you typed does not match"},
		{"no reason", annaMail, "", "Give a reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post("/customers/"+annaID+"/erase", eraseForm(t, b, annaID, tt.typed, tt.reason))
			if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tt.want) {
				t.Fatalf("%d, want 422 with %q: %s", res.StatusCode, tt.want, page)
			}
		})
	}
	if n := e.sim.RequestCount(simulator.RouteProfileErase); n != 0 {
		t.Fatalf("%d erasures sent", n)
	}
	if _, ok := e.sim.Profile(4812300001); !ok || e.count(audit.ActionCustomerErase) != 0 {
		t.Fatal("a refused form erased the customer or recorded an erasure")
	}
}

func TestCustomerEraseDirectWhenNotUnderApproval(t *testing.T) {
	e := newEnv(t, gdprApprovals())
	b, op := e.signedIn(operators.RoleAdmin)
	// Capitals do not matter in the typed address.
	res := b.post("/customers/"+annaID+"/erase", eraseForm(t, b, annaID, " "+strings.ToUpper(annaMail)+" ", "GDPR-7 art. 17 request"))
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Customer erased") {
		t.Fatalf("erase: %d %s", res.StatusCode, page)
	}
	gone(t, e, b, annaID, annaMail)
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerErase)
	if intent.Actor.OperatorID != op.ID || intent.Reason != "GDPR-7 art. 17 request" || intent.Target.ID != annaID ||
		intent.Target.Label != annaMail || outcome.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("audit %+v / %+v", intent, outcome)
	}
	if n := e.sim.ExecutedCount(simulator.RouteProfileErase); n != 1 {
		t.Fatalf("%d erasures executed", n)
	}
}

func TestCustomerEraseUnderApproval(t *testing.T) {
	e := newEnv(t, gdprApprovals(approvals.ActionCustomerErase))
	a, requester := e.signedIn(operators.RoleSupport)
	b, approver := e.signedIn(operators.RoleSupport)
	id := requestIDFrom(t, a.post("/customers/"+annaID+"/erase", eraseForm(t, a, annaID, annaMail, "GDPR-7")))
	if n := e.sim.RequestCount(simulator.RouteProfileErase); n != 0 {
		t.Fatalf("asking for approval sent %d erasures", n)
	}
	req, err := approvals.NewStore(e.pool).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if req.Action != approvals.ActionCustomerErase || req.RequestedBy != requester.ID || req.Fingerprint == "" || len(req.Changes) == 0 ||
		!strings.Contains(req.Changes[0].Old, annaMail) || req.Changes[0].New != "erased" {
		t.Fatalf("request %+v", req)
	}
	if res := approve(t, b, id); res.StatusCode >= 400 {
		t.Fatalf("approve: %d %s", res.StatusCode, body(res))
	}
	gone(t, e, b, annaID, annaMail)
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerErase)
	if intent.Actor.OperatorID != approver.ID || intent.Reason != "GDPR-7" || outcome.Outcome != audit.OutcomeSucceeded ||
		!strings.Contains(string(intent.Detail), "request #"+strconv.FormatInt(id, 10)) {
		t.Fatalf("execution audit %+v / %+v", intent, outcome)
	}
	if page := body(a.get("/approvals/" + strconv.FormatInt(id, 10))); !strings.Contains(page, "erased") {
		t.Fatalf("the request page does not say the customer was erased: %s", page)
	}
}

func TestCustomerEraseTargetMovedStaysPending(t *testing.T) {
	e := newEnv(t, gdprApprovals(approvals.ActionCustomerErase))
	a, _ := e.signedIn(operators.RoleSupport)
	b, _ := e.signedIn(operators.RoleSupport)
	id := requestIDFrom(t, a.post("/customers/"+annaID+"/erase", eraseForm(t, a, annaID, annaMail, "GDPR-7")))
	changeEmailInSimulator(t, e, annaID, "anna.moved@example.com")
	approve(t, b, id)
	if n := e.sim.RequestCount(simulator.RouteProfileErase); n != 0 {
		t.Fatalf("%d erasures sent for a moved target", n)
	}
	req, _ := approvals.NewStore(e.pool).Get(context.Background(), id)
	if req.State != approvals.StatePending {
		t.Fatalf("state %s, want pending", req.State)
	}
}

func TestCustomerEraseWithoutEmailTypesTheClientID(t *testing.T) {
	e := newEnv(t, gdprApprovals())
	b, _ := e.signedIn(operators.RoleSupport)
	anon, ok := e.sim.ExampleIn(simulator.StateAnonymous)
	if !ok || anon.Email != "" {
		t.Fatalf("no anonymous example without e-mail: %+v", anon)
	}
	id := strconv.FormatInt(anon.ClientID, 10)
	if page := body(b.get("/customers/" + id + "/erase")); !strings.Contains(page, "Type the customer&#39;s clientId to confirm") {
		t.Fatalf("erase page of a customer without e-mail: %s", page)
	}
	res := b.post("/customers/"+id+"/erase", eraseForm(t, b, id, id, "GDPR-8"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body(res), "Customer erased") {
		t.Fatalf("erase: %d %s", res.StatusCode, body(res))
	}
	if _, ok := e.sim.Profile(anon.ClientID); ok {
		t.Fatal("still there")
	}
}

// The erasure and e-mail change forms need a recent second factor from an operator who has
// one: after the step-up window the form gets the prompt, and nothing is sent or asked.
func TestCustomerEraseAndEmailChangeNeedStepUp(t *testing.T) {
	e := newEnv(t, withTOTP("all"), gdprApprovals(), func(d *handlers.Deps) { d.Identity.StepUpWindow = 5 * time.Minute })
	b, _ := e.signedIn(operators.RoleSupport)
	e.enrolTOTP(b)
	erase := eraseForm(t, b, annaID, annaMail, "GDPR-7")
	email := custFormValues(t, body(b.post("/customers/"+annaID+"/email/confirm", emailForm(t, b, annaID, "anna.new@example.com", "T-1"))),
		"/customers/"+annaID+"/email")
	e.clock.Add(6 * time.Minute)
	for path, form := range map[string]url.Values{"/customers/" + annaID + "/erase": erase, "/customers/" + annaID + "/email": email} {
		res := b.post(path, form)
		if page := body(res); !strings.Contains(page, `name="_step_up_code"`) {
			t.Fatalf("%s after the window: %d, no step-up prompt: %s", path, res.StatusCode, page)
		}
	}
	if n := e.sim.RequestCount(simulator.RouteProfileErase) + e.sim.RequestCount(simulator.RouteProfileUpdate); n != 0 {
		t.Fatalf("%d writes sent without the second factor", n)
	}
	if e.count(audit.ActionCustomerErase) != 0 || e.count(audit.ActionCustomerEmailChange) != 0 {
		t.Fatal("a change was recorded without the second factor")
	}
}
