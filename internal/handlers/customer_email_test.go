package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// gdprApprovals puts the named kinds of change under approval, on the test database.
func gdprApprovals(under ...string) option {
	return func(d *handlers.Deps) {
		d.Approvals = approvals.NewStore(d.Database.(*pgxpool.Pool))
		d.ApprovalPolicy = approvals.Policy{Under: under}
	}
}

// emailOf is the customer's e-mail address in the simulator.
func (e *env) emailOf(id string) string {
	e.t.Helper()
	v, _ := e.profile(id)["email"].(string)
	return v
}

// emailForm opens the change-e-mail form and fills it in.
func emailForm(t *testing.T, b *browser, id, addr, reason string) url.Values {
	t.Helper()
	form := custFormValues(t, body(b.get("/customers/"+id+"/email")), "/customers/"+id+"/email/confirm")
	form.Set("email", addr)
	form.Set("reason", reason)
	return form
}

// requestIDFrom reads N from a redirect to /approvals/N.
func requestIDFrom(t *testing.T, res *http.Response) int64 {
	t.Helper()
	loc := res.Header.Get("Location")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/approvals/"), 10, 64)
	if res.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("want a redirect to the request, got %d %q: %s", res.StatusCode, loc, body(res))
	}
	return id
}

func TestCustomerEmailValidationChangesNothing(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	zoeMail := e.emailOf(zoeID)
	tests := []struct{ name, addr, reason, want string }{
		{"empty", "", "T-1", "Type the new e-mail address."},
		{"display name", "Anna <anna@example.com>", "T-1", "Type one e-mail address only"},
		{"two addresses", "a@example.com, b@example.com", "T-1", "Type one e-mail address only"},
		{"not an address", "anna.example.com", "T-1", "Type one e-mail address only"},
		{"control character", "a\x01@example.com", "T-1", "contains control characters"},
		{"same as now", strings.ToUpper(annaMail), "T-1", "is already this customer&#39;s address"},
		{"no reason", "anna.new@example.com", "", "Give a reason"},
		{"taken", zoeMail, "T-1", zoeMail + " is already the e-mail of another customer (clientId " + zoeID + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := emailForm(t, b, annaID, tt.addr, tt.reason)
			for _, path := range []string{"/customers/" + annaID + "/email/confirm", "/customers/" + annaID + "/email"} {
				res := b.post(path, form)
				page := body(res)
				if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tt.want) {
					t.Fatalf("%s: %d, want 422 with %q: %s", path, res.StatusCode, tt.want, page)
				}
			}
		})
	}
	if n := e.sim.RequestCount(simulator.RouteProfileUpdate); n != 0 {
		t.Fatalf("%d updates sent", n)
	}
	if e.emailOf(annaID) != annaMail || e.count(audit.ActionCustomerEmailChange) != 0 {
		t.Fatal("a refused form changed the customer or wrote an audit record of a change")
	}
}

func TestCustomerEmailDirectWhenNotUnderApproval(t *testing.T) {
	e := newEnv(t, gdprApprovals()) // CONSOLE_APPROVALS=none
	b, op := e.signedIn(operators.RoleSupport)
	const addr = "anna.new@example.com"
	res := b.post("/customers/"+annaID+"/email/confirm", emailForm(t, b, annaID, addr, "TICKET-9 lost her inbox"))
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, annaMail) || !strings.Contains(page, "Change the e-mail to "+addr) {
		t.Fatalf("confirmation: %d %s", res.StatusCode, page)
	}
	if n := e.sim.RequestCount(simulator.RouteProfileUpdate); n != 0 {
		t.Fatalf("the confirmation step sent %d updates", n)
	}
	form := custFormValues(t, page, "/customers/"+annaID+"/email")
	res = b.post("/customers/"+annaID+"/email", form)
	page = body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "E-mail address changed") {
		t.Fatalf("change: %d %s", res.StatusCode, page)
	}
	if e.emailOf(annaID) != addr {
		t.Fatalf("e-mail now %q", e.emailOf(annaID))
	}
	if _, err := e.api.Profiles.GetByEmail(context.Background(), annaMail); err == nil {
		t.Fatal("the old address still finds the customer")
	}
	if !strings.Contains(body(b.htmxPost("/customers/search", url.Values{"q": {annaMail}})), "No such customer: none matches") {
		t.Fatal("search by the old address finds someone")
	}
	if !strings.Contains(body(b.htmxPost("/customers/search", url.Values{"q": {addr}})), "/customers/"+annaID) {
		t.Fatal("search by the new address does not find the customer")
	}
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerEmailChange)
	if intent.Actor.OperatorID != op.ID || intent.Reason != "TICKET-9 lost her inbox" || outcome.Outcome != audit.OutcomeSucceeded ||
		!strings.Contains(string(intent.Before), annaMail) || !strings.Contains(string(intent.After), addr) {
		t.Fatalf("audit %+v / %+v", intent, outcome)
	}
	// The same form again is refused: sent once.
	if res := b.post("/customers/"+annaID+"/email", form); res.StatusCode == http.StatusOK {
		t.Fatal("a second submit was accepted")
	}
	if n := e.sim.ExecutedCount(simulator.RouteProfileUpdate); n != 1 {
		t.Fatalf("%d updates executed", n)
	}
}

func TestCustomerEmailUnderApprovalIsARequest(t *testing.T) {
	e := newEnv(t, gdprApprovals(approvals.ActionCustomerEmail, approvals.ActionCustomerErase))
	b, op := e.signedIn(operators.RoleSupport)
	const addr = "anna.new@example.com"
	page := body(b.post("/customers/"+annaID+"/email/confirm", emailForm(t, b, annaID, addr, "TICKET-9")))
	if !strings.Contains(page, "Ask for approval to change the e-mail to "+addr) {
		t.Fatalf("confirmation does not say it asks for approval: %s", page)
	}
	id := requestIDFrom(t, b.post("/customers/"+annaID+"/email", custFormValues(t, page, "/customers/"+annaID+"/email")))
	req, err := approvals.NewStore(e.pool).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var pl map[string]any
	_ = json.Unmarshal(req.Payload, &pl)
	if req.Action != approvals.ActionCustomerEmail || req.TargetID != annaID || req.RequestedBy != op.ID || req.Fingerprint != annaMail ||
		len(req.Changes) != 1 || req.Changes[0].Old != annaMail || req.Changes[0].New != addr || pl["new"] != addr || req.Reason != "TICKET-9" {
		t.Fatalf("request %+v payload %v", req, pl)
	}
	if n := e.sim.RequestCount(simulator.RouteProfileUpdate); n != 0 || e.emailOf(annaID) != annaMail {
		t.Fatalf("asking for approval changed the customer (%d updates)", n)
	}
	if _, outcome := e.intentAndOutcome(audit.ActionApprovalRequest); outcome.Outcome != audit.OutcomeSucceeded ||
		e.count(audit.ActionCustomerEmailChange) != 0 {
		t.Fatal("want an approval request record and no change record")
	}
}

// approve approves request id as b, with a comment.
func approve(t *testing.T, b *browser, id int64) *http.Response {
	t.Helper()
	return b.post("/approvals/"+strconv.FormatInt(id, 10)+"/approve", url.Values{"comment": {"checked with the customer"}})
}

// askEmailChange asks, as b, for approval of anna's change to addr, and returns the request.
func askEmailChange(t *testing.T, b *browser, addr string) int64 {
	t.Helper()
	page := body(b.post("/customers/"+annaID+"/email/confirm", emailForm(t, b, annaID, addr, "TICKET-9")))
	return requestIDFrom(t, b.post("/customers/"+annaID+"/email", custFormValues(t, page, "/customers/"+annaID+"/email")))
}

func TestCustomerEmailApprovedIsExecuted(t *testing.T) {
	e := newEnv(t, gdprApprovals(approvals.ActionCustomerEmail))
	a, _ := e.signedIn(operators.RoleSupport)
	b, approver := e.signedIn(operators.RoleSupport)
	const addr = "anna.new@example.com"
	id := askEmailChange(t, a, addr)
	res := approve(t, b, id)
	if res.StatusCode >= 400 {
		t.Fatalf("approve: %d %s", res.StatusCode, body(res))
	}
	if e.emailOf(annaID) != addr {
		t.Fatalf("e-mail now %q", e.emailOf(annaID))
	}
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerEmailChange)
	if intent.Actor.OperatorID != approver.ID || outcome.Outcome != audit.OutcomeSucceeded ||
		!strings.Contains(string(intent.Detail), "request #"+strconv.FormatInt(id, 10)) {
		t.Fatalf("execution audit %+v / %+v", intent, outcome)
	}
}

func TestCustomerEmailExecutionConflicts(t *testing.T) {
	t.Run("address changed meanwhile: nothing written, still pending", func(t *testing.T) {
		e := newEnv(t, gdprApprovals(approvals.ActionCustomerEmail))
		a, _ := e.signedIn(operators.RoleSupport)
		b, _ := e.signedIn(operators.RoleSupport)
		id := askEmailChange(t, a, "anna.new@example.com")
		changeEmailInSimulator(t, e, annaID, "anna.elsewhere@example.com")
		updates := e.sim.ExecutedCount(simulator.RouteProfileUpdate)
		res := approve(t, b, id)
		if res.StatusCode < 400 && !strings.Contains(body(res), "anna.elsewhere@example.com") {
			t.Fatalf("approve after a change: %d %s", res.StatusCode, body(res))
		}
		if e.sim.ExecutedCount(simulator.RouteProfileUpdate) != updates || e.emailOf(annaID) != "anna.elsewhere@example.com" {
			t.Fatal("the change was written over a moved target")
		}
		req, _ := approvals.NewStore(e.pool).Get(context.Background(), id)
		if req.State != approvals.StatePending {
			t.Fatalf("request state %s, want pending", req.State)
		}
	})
	t.Run("address taken meanwhile: fails in words, audited", func(t *testing.T) {
		e := newEnv(t, gdprApprovals(approvals.ActionCustomerEmail))
		a, _ := e.signedIn(operators.RoleSupport)
		b, _ := e.signedIn(operators.RoleSupport)
		const addr = "wanted@example.com"
		id := askEmailChange(t, a, addr)
		changeEmailInSimulator(t, e, zoeID, addr)
		approve(t, b, id)
		req, _ := approvals.NewStore(e.pool).Get(context.Background(), id)
		if req.State != approvals.StateFailed || !strings.Contains(req.Outcome, addr+" is already the e-mail of another customer (clientId "+zoeID+")") {
			t.Fatalf("approve with the address taken: %s %q", req.State, req.Outcome)
		}
		if e.emailOf(annaID) != annaMail {
			t.Fatal("anna's address changed")
		}
		ev, ok := e.lastEvent(audit.ActionCustomerEmailChange)
		if !ok || ev.Outcome != audit.OutcomeFailed {
			t.Fatalf("no failed e-mail change record: %+v", ev)
		}
	})
}

// changeEmailInSimulator changes a customer's address behind the console's back.
func changeEmailInSimulator(t *testing.T, e *env, id, addr string) {
	t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	if err := e.api.Profiles.ChangeEmail(context.Background(), n, addr); err != nil {
		t.Fatal(err)
	}
}
