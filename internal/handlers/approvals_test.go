package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// newApprovalsEnv is a console in which the kinds named need approval.
func newApprovalsEnv(t *testing.T, under ...string) *env {
	t.Helper()
	return newEnv(t, func(d *handlers.Deps) { d.ApprovalPolicy = approvals.Policy{Under: under} })
}

// requestSettings asks, as b, for a change of one setting and returns the request's id.
func requestSettings(t *testing.T, e *env, b *browser, key, value, reason string) int64 {
	t.Helper()
	res := previewAndSave(t, b, map[string]string{key: value}, reason)
	return requestID(t, res)
}

// requestID reads the request's id from the redirect to its page.
func requestID(t *testing.T, res *http.Response) int64 {
	t.Helper()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/approvals/") {
		t.Fatalf("want a redirect to the request, got %d %q: %s", res.StatusCode, loc, body(res))
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/approvals/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func approvalURL(id int64, verb string) string {
	return "/approvals/" + strconv.FormatInt(id, 10) + verb
}

func (e *env) request(id int64) approvals.Request {
	e.t.Helper()
	r, err := approvals.NewStore(e.pool).Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// eventsNaming returns the events with the action whose detail names request id.
func (e *env) eventsNaming(a audit.Action, id int64) []audit.Event {
	var out []audit.Event
	for _, ev := range e.events() {
		if ev.Action == a && strings.Contains(string(ev.Detail), `"request #`+strconv.FormatInt(id, 10)+`"`) {
			out = append(out, ev)
		}
	}
	return out
}

func settingValue(e *env, key string) string { return string(e.sim.Settings()[key]) }

func TestApprovalSettingsPendingThenExecuted(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	seedSettings(t, e, settingsNonDefault)
	a, opA := e.signedIn(operators.RoleAdmin)
	bb, opB := e.signedIn(operators.RoleAdmin)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-7 longer PINs")
	if got := settingValue(e, "pinConfirmationValidInSeconds"); got != "900" || e.sim.RequestCount("settings.set") != 0 {
		t.Fatalf("written before approval: %s, %d writes", got, e.sim.RequestCount("settings.set"))
	}
	r := e.request(id)
	if r.State != approvals.StatePending || r.RequestedBy != opA.ID || r.Reason != "TICKET-7 longer PINs" ||
		!r.ExpiresAt.Equal(r.RequestedAt.Add(24*time.Hour)) {
		t.Fatalf("request: %+v", r)
	}
	page := body(a.get(approvalURL(id, "")))
	for _, want := range []string{"Waiting for approval", "900 seconds (15 minutes)", "600 seconds (10 minutes)",
		"TICKET-7 longer PINs", "You asked for this change"} {
		if !strings.Contains(page, want) {
			t.Errorf("requester's page lacks %q", want)
		}
	}
	if strings.Contains(page, "Approve and carry out") {
		t.Error("the requester is offered the approval")
	}
	if len(e.eventsNaming(audit.ActionApprovalRequest, id)) != 2 {
		t.Error("request not audited as intent and outcome naming it")
	}
	if !strings.Contains(body(bb.get("/")), "Approvals (1)") || !strings.Contains(body(a.get("/")), "Approvals (0)") {
		t.Error("navigation counts wrong")
	}
	list := body(bb.get("/approvals"))
	checkAccessible(t, list)
	if !strings.Contains(list, "Waiting for you (1)") || !strings.Contains(list, `href="/approvals/`+strconv.FormatInt(id, 10)+`"`) {
		t.Errorf("list: %s", list)
	}
	bpage := body(bb.get(approvalURL(id, "")))
	checkAccessible(t, bpage)
	res := bb.post(approvalURL(id, "/approve"), url.Values{"comment": {"ok, checked with the shop"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, body(res))
	}
	if got := settingValue(e, "pinConfirmationValidInSeconds"); got != "600" || e.sim.RequestCount("settings.set") != 1 {
		t.Fatalf("after approval: %s, %d writes", got, e.sim.RequestCount("settings.set"))
	}
	r = e.request(id)
	if r.State != approvals.StateExecuted || r.DecidedBy == nil || *r.DecidedBy != opB.ID || !strings.Contains(r.Outcome, "Settings saved") {
		t.Fatalf("request after approval: %+v", r)
	}
	exec := e.eventsNaming(audit.ActionSettingsUpdate, id)
	if len(exec) != 2 || exec[1].Actor.OperatorID != opB.ID || exec[1].Outcome != audit.OutcomeSucceeded || exec[1].Reason != "TICKET-7 longer PINs" {
		t.Fatalf("execution events: %+v", exec)
	}
	if dec := e.eventsNaming(audit.ActionApprovalApprove, id); len(dec) != 2 || dec[1].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("decision events: %+v", dec)
	}
	if page := body(a.get(approvalURL(id, ""))); !strings.Contains(page, "Approved and carried out") || !strings.Contains(page, "Settings saved") {
		t.Errorf("requester does not see the outcome: %s", page)
	}
}

func TestApprovalSettingsConflictStaysPending(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	seedSettings(t, e, settingsNonDefault)
	a, _ := e.signedIn(operators.RoleAdmin)
	bb, _ := e.signedIn(operators.RoleAdmin)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-8")
	moved := map[string]json.RawMessage{}
	for k, v := range e.sim.Settings() {
		moved[k] = v
	}
	moved["pinConfirmationLength"] = json.RawMessage(`6`)
	seedSettings(t, e, moved)
	writes := e.sim.RequestCount("settings.set")
	res := bb.post(approvalURL(id, "/approve"), nil)
	page := body(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "changed in Synerise since the request") ||
		!strings.Contains(page, "PIN length") {
		t.Fatalf("approve after a change: %d %s", res.StatusCode, page)
	}
	if e.sim.RequestCount("settings.set") != writes || settingValue(e, "pinConfirmationValidInSeconds") != "900" {
		t.Fatal("something was written")
	}
	if r := e.request(id); r.State != approvals.StatePending || r.DecidedBy != nil || !strings.Contains(r.Outcome, "Not carried out") {
		t.Fatalf("request: %+v", r)
	}
	if dec := e.eventsNaming(audit.ActionApprovalApprove, id); len(dec) != 2 || dec[1].Outcome != audit.OutcomeFailed {
		t.Fatalf("decision events: %+v", dec)
	}
	if len(e.eventsNaming(audit.ActionSettingsUpdate, id)) != 0 {
		t.Error("an execution was recorded")
	}
}

func TestApprovalSettingsExecutionFails(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	seedSettings(t, e, settingsNonDefault)
	a, _ := e.signedIn(operators.RoleAdmin)
	bb, _ := e.signedIn(operators.RoleAdmin)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-9")
	e.sim.SetFault("settings.set", simulator.Fault{ErrorRate: 1, ErrorStatus: http.StatusBadRequest})
	res := bb.post(approvalURL(id, "/approve"), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, body(res))
	}
	if n := e.sim.RequestCount("settings.set"); n != 1 {
		t.Errorf("%d writes, want 1", n)
	}
	r := e.request(id)
	if r.State != approvals.StateFailed || !strings.Contains(r.Outcome, "carrying it out failed: Synerise refused the request") {
		t.Fatalf("request: %+v", r)
	}
	if exec := e.eventsNaming(audit.ActionSettingsUpdate, id); len(exec) != 2 || exec[1].Outcome != audit.OutcomeFailed {
		t.Fatalf("execution events: %+v", exec)
	}
	if page := body(bb.get(approvalURL(id, ""))); !strings.Contains(page, "Approved, but carrying it out failed") {
		t.Errorf("page: %s", page)
	}
}

func TestApprovalRejectNeedsComment(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	a, _ := e.signedIn(operators.RoleAdmin)
	bb, opB := e.signedIn(operators.RoleAdmin)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-10")
	res := bb.post(approvalURL(id, "/reject"), url.Values{"comment": {"  "}})
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Say why you reject") {
		t.Fatalf("reject without a comment: %d %s", res.StatusCode, page)
	}
	if e.request(id).State != approvals.StatePending {
		t.Fatal("rejected without a comment")
	}
	res = bb.post(approvalURL(id, "/reject"), url.Values{"comment": {"not during the sale"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", res.StatusCode, body(res))
	}
	r := e.request(id)
	if r.State != approvals.StateRejected || r.Comment != "not during the sale" || *r.DecidedBy != opB.ID {
		t.Fatalf("request: %+v", r)
	}
	if e.sim.RequestCount("settings.set") != 0 {
		t.Error("a rejected change was written")
	}
	if dec := e.eventsNaming(audit.ActionApprovalReject, id); len(dec) != 2 || dec[1].Reason != "not during the sale" {
		t.Fatalf("reject events: %+v", dec)
	}
	if res := bb.post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusConflict {
		t.Errorf("approve after reject: %d", res.StatusCode)
	}
}

func TestApprovalExpires(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	a, _ := e.signedIn(operators.RoleAdmin)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-11")
	e.clock.Add(25 * time.Hour)
	bb, _ := e.signedIn(operators.RoleAdmin)
	if !strings.Contains(body(bb.get("/")), "Approvals (0)") {
		t.Error("an expired request is counted")
	}
	if page := body(bb.get(approvalURL(id, ""))); !strings.Contains(page, "Expired without a decision") || strings.Contains(page, "Approve and carry out") {
		t.Errorf("page: %s", page)
	}
	if r := e.request(id); r.State != approvals.StateExpired {
		t.Fatalf("state %s", r.State)
	}
	if ev := e.eventsNaming(audit.ActionApprovalExpire, id); len(ev) != 1 || ev[0].Actor.Role != "system" {
		t.Fatalf("expiry events: %+v", ev)
	}
	if res := bb.post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusConflict {
		t.Errorf("approve after expiry: %d %s", res.StatusCode, body(res))
	}
	if e.sim.RequestCount("settings.set") != 0 {
		t.Error("an expired change was written")
	}
}

func TestApprovalRefusedToRequesterAndOtherRoles(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	a, opA := e.signedIn(operators.RoleAdmin)
	s, opS := e.signedIn(operators.RoleSupport)
	au, _ := e.signedIn(operators.RoleAuditor)
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-12")
	for _, tt := range []struct {
		who  *browser
		id   int64
		want string
	}{{a, opA.ID, "You asked for this change"}, {s, opS.ID, "may not decide this kind of change"}} {
		res := tt.who.post(approvalURL(id, "/approve"), nil)
		if page := body(res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, tt.want) {
			t.Errorf("approve by %d: %d %s", tt.id, res.StatusCode, page)
		}
		denied := e.eventsNaming(audit.ActionApprovalApprove, id)
		if len(denied) == 0 || denied[len(denied)-1].Outcome != audit.OutcomeDenied || denied[len(denied)-1].Actor.OperatorID != tt.id {
			t.Errorf("refusal of %d not audited: %+v", tt.id, denied)
		}
	}
	if res := au.post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("auditor: %d", res.StatusCode)
	}
	if res := s.post(approvalURL(id, "/reject"), url.Values{"comment": {"no"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support rejecting settings: %d", res.StatusCode)
	}
	if strings.Contains(body(au.get("/")), "Approvals") {
		t.Error("auditors see Approvals in the navigation")
	}
	if !strings.Contains(body(s.get("/")), "Approvals (0)") {
		t.Error("support should see the approvals of their kinds, none waiting")
	}
	if e.request(id).State != approvals.StatePending || e.sim.RequestCount("settings.set") != 0 {
		t.Fatal("a refused approval did something")
	}
}

func TestApprovalTwiceAtOnceSendsOnce(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionSettings)
	a, _ := e.signedIn(operators.RoleAdmin)
	deciders := []*browser{}
	for range 4 {
		b, _ := e.signedIn(operators.RoleAdmin)
		b.csrf()
		deciders = append(deciders, b)
	}
	id := requestSettings(t, e, a, "pinConfirmationValidInSeconds", "600", "TICKET-13")
	statuses := make([]int, len(deciders))
	var wg sync.WaitGroup
	for i, b := range deciders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.post(approvalURL(id, "/approve"), nil).StatusCode
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			won++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", s)
		}
	}
	if won != 1 || e.sim.RequestCount("settings.set") != 1 {
		t.Fatalf("%d approvals won, %d writes; statuses %v", won, e.sim.RequestCount("settings.set"), statuses)
	}
	if res := deciders[0].post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusConflict || e.sim.RequestCount("settings.set") != 1 {
		t.Fatalf("approving again: %d", res.StatusCode)
	}
}

func TestApprovalOperatorRole(t *testing.T) {
	e := newApprovalsEnv(t, approvals.ActionOperatorRole)
	a, _ := e.signedIn(operators.RoleAdmin)
	bb, opB := e.signedIn(operators.RoleAdmin)
	x := e.operator("x-"+randSuffix()+"@example.com", operators.RoleSupport)
	ctx := context.Background()
	roleOf := func(id int64) operators.Role {
		op, err := e.ops.ByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return op.Role
	}
	id := requestID(t, a.post("/operators/"+strconv.FormatInt(x.ID, 10)+"/role", url.Values{"role": {"admin"}}))
	if roleOf(x.ID) != operators.RoleSupport {
		t.Fatal("role changed before approval")
	}
	if page := body(bb.get(approvalURL(id, ""))); !strings.Contains(page, "Change an operator&#39;s role") || !strings.Contains(page, x.Email) {
		t.Errorf("page: %s", page)
	}
	if res := bb.post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, body(res))
	}
	if roleOf(x.ID) != operators.RoleAdmin || e.request(id).State != approvals.StateExecuted {
		t.Fatalf("after approval: role %s, state %s", roleOf(x.ID), e.request(id).State)
	}
	if ev := e.eventsNaming(audit.ActionOperatorRoleChange, id); len(ev) != 2 || ev[1].Actor.OperatorID != opB.ID || ev[1].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("execution events: %+v", ev)
	}

	// The role moved since the request: nothing is changed and the request waits again.
	id = requestID(t, a.post("/operators/"+strconv.FormatInt(x.ID, 10)+"/role", url.Values{"role": {"auditor"}}))
	if _, err := e.ops.SetRole(ctx, x.ID, operators.RoleSupport); err != nil {
		t.Fatal(err)
	}
	res := bb.post(approvalURL(id, "/approve"), nil)
	if page := body(res); res.StatusCode != http.StatusConflict || !strings.Contains(page, "role is now support; it was admin when the change was asked for") {
		t.Fatalf("approve after a move: %d %s", res.StatusCode, page)
	}
	if roleOf(x.ID) != operators.RoleSupport || e.request(id).State != approvals.StatePending {
		t.Fatal("a moved role change was carried out")
	}

	// Nobody approves a change of their own role.
	id = requestID(t, a.post("/operators/"+strconv.FormatInt(opB.ID, 10)+"/role", url.Values{"role": {"support"}}))
	if !strings.Contains(body(bb.get("/")), "Approvals (1)") {
		t.Error("a change of the viewer's own role is counted as waiting for them")
	}
	if res := bb.post(approvalURL(id, "/approve"), nil); res.StatusCode != http.StatusForbidden || roleOf(opB.ID) != operators.RoleAdmin {
		t.Fatalf("approving one's own role change: %d", res.StatusCode)
	}
}

func TestApprovalsNoneKeepsDirectChanges(t *testing.T) {
	e := newApprovalsEnv(t)
	a, _ := e.signedIn(operators.RoleAdmin)
	x := e.operator("y-"+randSuffix()+"@example.com", operators.RoleSupport)
	if res := a.post("/operators/"+strconv.FormatInt(x.ID, 10)+"/role", url.Values{"role": {"admin"}}); res.Header.Get("Location") != "/operators" {
		t.Fatalf("direct role change: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res := previewAndSave(t, a, map[string]string{"pinConfirmationValidInSeconds": "600"}, "TICKET-14")
	if res.Header.Get("Location") != "/settings" || settingValue(e, "pinConfirmationValidInSeconds") != "600" {
		t.Fatalf("direct settings save: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if page := body(a.get("/approvals")); !strings.Contains(page, "No change needs approval") || !strings.Contains(page, "Nothing waits for your decision") {
		t.Errorf("approvals page: %s", page)
	}
}
