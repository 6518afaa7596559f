package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// intentAndOutcome returns the last intent of action and its outcome.
func (e *env) intentAndOutcome(action audit.Action) (intent, outcome audit.Event) {
	e.t.Helper()
	for _, ev := range e.events() {
		if ev.Action != action {
			continue
		}
		if ev.Outcome == audit.OutcomePending {
			intent = ev
		} else if ev.IntentSeq == intent.Seq {
			outcome = ev
		}
	}
	if intent.Seq == 0 || outcome.Seq == 0 {
		e.t.Fatalf("%s: no intent and outcome in the audit log", action)
	}
	return intent, outcome
}

func actionForm(t *testing.T, b *browser, path, reason string) url.Values {
	t.Helper()
	res := b.get(path)
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, page)
	}
	form := custFormValues(t, page, path)
	form.Set("reason", reason)
	return form
}

func TestPasswordResetConfirmSendAndAudit(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID + "/password-reset"
	page := body(b.get(path))
	for _, want := range []string{annaMail, "Send password reset e-mail", `<label for="action-reason">`, "<h1>Password reset for Anna Kowalska</h1>"} {
		if !strings.Contains(page, want) {
			t.Errorf("confirm step lacks %q", want)
		}
	}
	form := custFormValues(t, page, path)

	// No reason: refused, nothing sent.
	res := b.post(path, form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(res), "Give a reason") {
		t.Fatalf("no reason: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("accounts.password_reset"); n != 0 {
		t.Fatalf("sent without a reason: %d", n)
	}

	form.Set("reason", "TICKET-3 locked out")
	res = b.htmxPost(path, form)
	page = body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "e-mails a password reset link to "+annaMail) {
		t.Fatalf("reset: %d %s", res.StatusCode, page)
	}
	msg, ok := e.sim.LastMessage(annaMail, simulator.KindPasswordReset)
	if !ok || msg.Secret == "" {
		t.Fatal("no reset token in the outbox")
	}
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerPasswordReset)
	if intent.Reason != "TICKET-3 locked out" || intent.Actor.OperatorID != op.ID || intent.Target.ID != annaID ||
		outcome.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("audit: %+v %+v", intent, outcome)
	}

	// The same form again: refused, nothing sent twice.
	res = b.post(path, form)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body(res), "Already sent") {
		t.Fatalf("double submit: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("accounts.password_reset"); n != 1 {
		t.Fatalf("password reset sent %d times", n)
	}
	// The token never reaches the audit log or the logs.
	for _, ev := range e.events() {
		if strings.Contains(string(ev.Detail)+string(ev.Before)+string(ev.After)+ev.UpstreamError, msg.Secret) {
			t.Fatal("the reset token is in the audit log")
		}
	}
	if strings.Contains(e.logs.String(), msg.Secret) {
		t.Fatal("the reset token is in the log")
	}

	// The claim lives in PostgreSQL, so every replica sees it, and it is forgotten once
	// no session can still hold the form.
	var claims int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM form_submissions`).Scan(&claims); err != nil || claims != 1 {
		t.Fatalf("form claims in the database = %d (%v), want 1", claims, err)
	}
	if n, err := e.handler.PruneForms(context.Background()); err != nil || n != 0 {
		t.Fatalf("pruned a fresh claim: %d %v", n, err)
	}
	e.clock.Add(14 * time.Hour)
	if n, err := e.handler.PruneForms(context.Background()); err != nil || n != 1 {
		t.Fatalf("pruned %d old claims (%v), want 1", n, err)
	}
}

func TestPasswordResetRefusalsInPlainWords(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	// No password account: nothing is offered.
	page := body(b.get("/customers/" + jurgenID + "/password-reset"))
	if !strings.Contains(page, "no password account") || strings.Contains(page, "Send password reset e-mail") {
		t.Fatalf("reset offered to a customer without an account:\n%s", page)
	}
	// Synerise failing: one request, never retried, and a clear message.
	form := actionForm(t, b, "/customers/"+annaID+"/password-reset", "TICKET-4")
	e.sim.SetFault("accounts.password_reset", simulator.Fault{ErrorRate: 1, ErrorStatus: 503})
	res := b.post("/customers/"+annaID+"/password-reset", form)
	page = body(res)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Synerise is unavailable") || strings.Contains(page, "busy") {
		t.Fatalf("503: %d %s", res.StatusCode, page)
	}
	if n := e.sim.RequestCount("accounts.password_reset"); n != 1 {
		t.Fatalf("a failing password reset was sent %d times", n)
	}
	_, outcome := e.intentAndOutcome(audit.ActionCustomerPasswordReset)
	if outcome.Outcome != audit.OutcomeFailed || outcome.UpstreamStatus != 503 {
		t.Fatalf("outcome: %+v", outcome)
	}
}

func TestPasswordResetTimeoutIsOutcomeUnknown(t *testing.T) {
	e, sim := newFastEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	form := actionForm(t, b, "/customers/"+annaID+"/password-reset", "TICKET-8")
	sim.SetFault("accounts.password_reset", simulator.Fault{Latency: time.Second})
	res := b.post("/customers/"+annaID+"/password-reset", form)
	page := body(res)
	if res.StatusCode != http.StatusGatewayTimeout || !strings.Contains(page, "Outcome unknown — check before retrying") {
		t.Fatalf("timeout: %d %s", res.StatusCode, page)
	}
	if n := sim.RequestCount("accounts.password_reset"); n != 1 {
		t.Fatalf("sent %d times", n)
	}
	_, outcome := e.intentAndOutcome(audit.ActionCustomerPasswordReset)
	if outcome.Outcome != audit.OutcomeUnknown || !strings.Contains(outcome.UpstreamError, "outcome unknown — check before retrying") {
		t.Fatalf("outcome: %+v", outcome)
	}
}

func TestActivationEmailResend(t *testing.T) {
	e := newEnv(t)
	e.setRegistration("REQUIRE_EMAIL_ACTIVATION")
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + zoeID + "/activation"
	form := actionForm(t, b, path, "TICKET-11 no e-mail arrived")
	res := b.post(path, form)
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "new activation link") {
		t.Fatalf("activation resend: %d %s", res.StatusCode, page)
	}
	if m, ok := e.sim.LastMessage("zoe.dubois@example.net", simulator.KindActivation); !ok || m.Link == "" {
		t.Fatal("no activation e-mail in the outbox")
	}
	if _, outcome := e.intentAndOutcome(audit.ActionCustomerActivationResend); outcome.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("outcome %+v", outcome)
	}
	if res := b.post(path, form); res.StatusCode != http.StatusConflict {
		t.Fatalf("double submit: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("accounts.activation"); n != 1 {
		t.Fatalf("sent %d times", n)
	}
	// Already activated: nothing offered.
	page = body(b.get("/customers/" + annaID + "/activation"))
	if !strings.Contains(page, "already activated") || strings.Contains(page, "Resend activation e-mail</button>") {
		t.Fatalf("activated customer:\n%s", page)
	}
}

func TestActivationPINResendWithTheCustomersDevice(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.settingsPIN(false)
	john, _ := e.sim.ExampleIn(simulator.StateAwaitingPIN)
	path := "/customers/" + johnID + "/activation"
	page := body(b.get(path))
	for _, want := range []string{"The PIN device rule", "The setting <strong>Allow PIN resend from another device (allowPinResendFromDifferentDeviceId)</strong> is <strong>off</strong>",
		john.DeviceID, `<label for="action-device">`, "Resend activation PIN"} {
		if !strings.Contains(page, want) {
			t.Errorf("PIN page lacks %q", want)
		}
	}
	form := custFormValues(t, page, path)
	if form.Get("deviceId") != john.DeviceID {
		t.Fatalf("device id not prefilled: %q", form.Get("deviceId"))
	}

	// Another device: Synerise refuses, explained by the device rule.
	other := custFormValues(t, body(b.get(path)), path)
	other.Set("deviceId", "agent-laptop-1")
	other.Set("reason", "TICKET-12")
	res := b.post(path, other)
	page = body(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "because of the PIN device rule") ||
		!strings.Contains(page, "the setting “Allow PIN resend from another device (allowPinResendFromDifferentDeviceId)” is off") || !strings.Contains(page, john.DeviceID) {
		t.Fatalf("other device: %d %s", res.StatusCode, page)
	}
	if _, outcome := e.intentAndOutcome(audit.ActionCustomerPINResend); outcome.Outcome != audit.OutcomeFailed || outcome.UpstreamStatus != 403 {
		t.Fatalf("refusal outcome %+v", outcome)
	}

	// The customer's own device: sent.
	form.Set("reason", "TICKET-12")
	res = b.post(path, form)
	if page := body(res); res.StatusCode != http.StatusOK || !strings.Contains(page, "new PIN") {
		t.Fatalf("own device: %d %s", res.StatusCode, page)
	}
	m, ok := e.sim.LastMessage(john.Email, simulator.KindPIN)
	if !ok || m.DeviceID != john.DeviceID || m.Secret == "" {
		t.Fatalf("PIN message: %+v", m)
	}
	intent, outcome := e.intentAndOutcome(audit.ActionCustomerPINResend)
	if outcome.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(intent.Detail), john.DeviceID) {
		t.Fatalf("audit %+v %+v", intent, outcome)
	}
	for _, ev := range e.events() {
		if strings.Contains(string(ev.Detail), m.Secret) {
			t.Fatal("the PIN is in the audit log")
		}
	}
}

func TestActivationPINNeedsATypedDeviceWhenNoneIsKnown(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.settingsPIN(false)
	path := "/customers/" + sofiaID + "/activation"
	page := body(b.get(path))
	if !strings.Contains(page, "No device is known") {
		t.Fatalf("PIN page without a device:\n%s", page)
	}
	form := custFormValues(t, page, path)
	form.Set("reason", "TICKET-13")
	res := b.post(path, form)
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Type the device id") {
		t.Fatalf("no device: %d %s", res.StatusCode, page)
	}
	form.Set("deviceId", "bad device id")
	if res := b.post(path, form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("device id with spaces: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("accounts.pin"); n != 0 {
		t.Fatalf("sent %d times without a valid device", n)
	}
	form.Set("deviceId", "c0ffee00-1111-4222-8333-444455556666")
	if res := b.post(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("typed device: %d %s", res.StatusCode, body(res))
	}
	if m, ok := e.sim.LastMessage("sofia.garcia@example.com", simulator.KindPIN); !ok || m.DeviceID != "c0ffee00-1111-4222-8333-444455556666" {
		t.Fatalf("PIN message %+v", m)
	}
}

func TestAccountActionsNeedAFormToken(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.post("/customers/"+annaID+"/password-reset", url.Values{"reason": {"TICKET-1"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(res), "Form expired") {
		t.Fatalf("no token: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("accounts.password_reset"); n != 0 {
		t.Fatalf("sent %d times", n)
	}
}
