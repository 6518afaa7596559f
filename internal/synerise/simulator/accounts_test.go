package simulator

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPasswordReset(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	tests := []struct {
		name, email string
		want        int
	}{
		{"registered", anna.Email, 202},
		{"registered other case", strings.ToUpper(anna.Email), 202},
		{"awaiting activation", h.example(StateAwaitingEmailActivation).Email, 202},
		{"never registered", h.example(StateNotRegistered).Email, 400},
		{"unknown", "nobody@example.com", 404},
		{"empty", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post("/sauth/clients/password-reset/request", map[string]string{"email": tt.email})
			wantStatus(t, r, tt.want)
			if tt.want != 202 {
				r.profileErr(t)
			}
		})
	}
	msgs := h.sim.OutboxFor(anna.Email)
	if len(msgs) != 2 || msgs[0].Kind != KindPasswordReset || msgs[0].ClientID != anna.ClientID || len(msgs[0].Secret) < 32 {
		t.Fatalf("outbox %+v", msgs)
	}
	tok := msgs[1].Secret
	wantStatus(t, h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": tok, "password": "short"}), 400)
	wantStatus(t, h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": "bogus", "password": "long enough pass"}), 400)
	wantStatus(t, h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": tok, "password": "long enough pass"}), 202)
	wantStatus(t, h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": tok, "password": "long enough pass"}), 400)

	// Tokens expire.
	wantStatus(t, h.post("/sauth/clients/password-reset/request", map[string]string{"email": anna.Email}), 202)
	last, _ := h.sim.LastMessage(anna.Email, KindPasswordReset)
	h.clock.Advance(PasswordResetTokenLifetime)
	h.token = h.login(DefaultAPIKey)
	wantStatus(t, h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": last.Secret, "password": "long enough pass"}), 400)
}

func TestActivationEmail(t *testing.T) {
	h := newHarness(t, Options{})
	zoe := h.example(StateAwaitingEmailActivation)
	tests := []struct {
		name, email string
		want        int
	}{
		{"already activated", h.example(StateActivated).Email, 400},
		{"never registered", h.example(StateNotRegistered).Email, 400},
		{"unknown", "nobody@example.com", 404},
		{"awaiting activation", zoe.Email, 202},
		{"unconfirmed (automatic)", h.example(StateUnconfirmed).Email, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post("/sauth/clients/activation/request", map[string]string{"email": tt.email})
			wantStatus(t, r, tt.want)
			if tt.want == 400 && tt.name == "already activated" && !strings.Contains(r.profileErr(t).Message, "already activated") {
				t.Fatalf("message: %s", r.body)
			}
		})
	}
	msg, ok := h.sim.LastMessage(zoe.Email, KindActivation)
	if !ok || !strings.Contains(msg.Link, url.QueryEscape(msg.Secret)) {
		t.Fatalf("activation message %+v", msg)
	}
	wantStatus(t, h.post("/sauth/clients/activation/confirmation", map[string]string{"token": "nope"}), 400)
	wantStatus(t, h.post("/sauth/clients/activation/confirmation", map[string]string{"token": msg.Secret}), 202)
	if attrs := h.profile(zoe.ClientID)["attributes"].(map[string]any); attrs[AttrEmailConfirmed] != "true" {
		t.Fatalf("not activated: %v", attrs)
	}
	wantStatus(t, h.post("/sauth/clients/activation/request", map[string]string{"email": zoe.Email}), 400)

	// The redirect link setting shapes the e-mailed link.
	wantStatus(t, h.post("/sauth/settings/general", map[string]any{"confirmationRedirectLink": "https://shop.example.com/confirm?src=mail"}), 200)
	luk := h.example(StateUnconfirmed)
	wantStatus(t, h.post("/sauth/clients/activation/request", map[string]string{"email": luk.Email}), 202)
	msg, _ = h.sim.LastMessage(luk.Email, KindActivation)
	if !strings.HasPrefix(msg.Link, "https://shop.example.com/confirm?") || !strings.Contains(msg.Link, "src=mail") {
		t.Fatalf("link %s", msg.Link)
	}
}

func pinBody(e ExampleCustomer, device string) map[string]string {
	return map[string]string{"email": e.Email, "uuid": e.UUID, "deviceId": device}
}

func pinConfirmBody(e ExampleCustomer, device, pin string) map[string]string {
	return map[string]string{"email": e.Email, "uuid": e.UUID, "deviceId": device, "pinCode": pin}
}

const (
	pinRequest = "/sauth/clients/activation/by-pin-code/request"
	pinConfirm = "/sauth/clients/activation/by-pin-code/confirmation"
)

func TestPINDeviceRuleRefusesOtherDevice(t *testing.T) {
	h := newHarness(t, Options{})
	john := h.example(StateAwaitingPIN)
	if john.DeviceID == "" {
		t.Fatal("example has no device")
	}
	r := h.post(pinRequest, pinBody(john, "console-device"))
	wantStatus(t, r, 403)
	if e := r.profileErr(t); !strings.Contains(e.Message, "device") {
		t.Fatalf("403 message %q", e.Message)
	}
	if len(h.sim.OutboxFor(john.Email)) != 0 {
		t.Fatal("a refused resend sent a PIN")
	}
	if a, _ := h.sim.Account(john.ClientID); a.PINDeviceID != john.DeviceID {
		t.Fatalf("binding moved to %s", a.PINDeviceID)
	}
	// From the customer's own device the resend works and the PIN confirms.
	wantStatus(t, h.post(pinRequest, pinBody(john, john.DeviceID)), 202)
	msg, _ := h.sim.LastMessage(john.Email, KindPIN)
	if len(msg.Secret) != 6 || msg.DeviceID != john.DeviceID {
		t.Fatalf("PIN message %+v", msg)
	}
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(john, "console-device", msg.Secret)), 403)
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(john, john.DeviceID, "000000x")), 400)
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(john, john.DeviceID, msg.Secret)), 202)
	if a, _ := h.sim.Account(john.ClientID); !a.Activated || a.State != StateActivated {
		t.Fatalf("account %+v", a)
	}
	wantStatus(t, h.post(pinRequest, pinBody(john, john.DeviceID)), 400) // already activated
}

func TestPINDeviceRuleAllowedMovesBinding(t *testing.T) {
	h := newHarness(t, Options{})
	john := h.example(StateAwaitingPIN)
	settings := h.sim.Settings()
	settings["allowPinResendFromDifferentDeviceId"] = json.RawMessage(`true`)
	settings["pinConfirmationLength"] = json.RawMessage(`8`)
	wantStatus(t, h.post("/sauth/settings/general", settings), 200)

	wantStatus(t, h.post(pinRequest, pinBody(john, "console-device")), 202)
	msg, _ := h.sim.LastMessage(john.Email, KindPIN)
	if len(msg.Secret) != 8 || msg.DeviceID != "console-device" {
		t.Fatalf("PIN message %+v", msg)
	}
	// The customer's own device can no longer confirm, even with the right PIN.
	r := h.post(pinConfirm, pinConfirmBody(john, john.DeviceID, msg.Secret))
	wantStatus(t, r, 403)
	r.profileErr(t)
	// The profile shows where the binding is now.
	attrs := h.profile(john.ClientID)["attributes"].(map[string]any)
	if attrs[AttrLastPINDevice] != "console-device" {
		t.Fatalf("%s = %v", AttrLastPINDevice, attrs[AttrLastPINDevice])
	}
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(john, "console-device", msg.Secret)), 202)
}

func TestPINFirstRequestBindsAnyDeviceAndExpires(t *testing.T) {
	h := newHarness(t, Options{})
	var sofia ExampleCustomer
	for _, e := range h.sim.Examples() {
		if e.State == StateAwaitingPIN && e.DeviceID == "" {
			sofia = e
		}
	}
	wantStatus(t, h.post("/sauth/settings/general", map[string]any{"pinConfirmationValidInSeconds": 60, "pinConfirmationLength": 4}), 200)
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(sofia, "phone-1", "1234")), 400) // no PIN yet
	wantStatus(t, h.post(pinRequest, pinBody(sofia, "phone-1")), 202)
	msg, _ := h.sim.LastMessage(sofia.Email, KindPIN)
	if len(msg.Secret) != 4 {
		t.Fatalf("PIN %q, want 4 digits", msg.Secret)
	}
	wantStatus(t, h.post(pinRequest, pinBody(sofia, "phone-2")), 403)
	h.clock.Advance(61 * time.Second)
	wantStatus(t, h.post(pinConfirm, pinConfirmBody(sofia, "phone-1", msg.Secret)), 400) // expired

	wrongUUID := pinBody(sofia, "phone-1")
	wrongUUID["uuid"] = "00000000-0000-4000-8000-000000000000"
	r := h.post(pinRequest, wrongUUID)
	wantStatus(t, r, 400)
	if !r.hasField("uuid") {
		t.Fatalf("no uuid field error: %s", r.body)
	}
	r = h.post(pinRequest, map[string]string{"email": sofia.Email})
	wantStatus(t, r, 400)
	if !r.hasField("uuid") || !r.hasField("deviceId") {
		t.Fatalf("missing field errors: %s", r.body)
	}
	notReg := h.example(StateNotRegistered)
	wantStatus(t, h.post(pinRequest, pinBody(notReg, "d")), 400)
	wantStatus(t, h.post(pinRequest, map[string]string{"email": "nobody@example.com", "uuid": sofia.UUID, "deviceId": "d"}), 404)
}

func TestAdminOutboxAndAccount(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	wantStatus(t, h.post("/sauth/clients/password-reset/request", map[string]string{"email": anna.Email}), 202)
	r := h.get("/_simulator/outbox?email=" + url.QueryEscape(anna.Email))
	var msgs []Message
	r.decode(t, &msgs)
	if len(msgs) != 1 || msgs[0].Kind != KindPasswordReset || msgs[0].Email != anna.Email {
		t.Fatalf("outbox %s", r.body)
	}
	r = h.get("/_simulator/accounts/" + jsonInt(h.example(StateAwaitingPIN).ClientID))
	var a Account
	r.decode(t, &a)
	if a.PINDeviceID != h.example(StateAwaitingPIN).DeviceID || a.State != StateAwaitingPIN {
		t.Fatalf("account %s", r.body)
	}
	wantStatus(t, h.do("DELETE", "/_simulator/outbox", "", nil), 204)
	if len(h.sim.Outbox()) != 0 {
		t.Fatal("outbox not cleared")
	}
	r = h.get("/_simulator/examples")
	var ex []ExampleCustomer
	r.decode(t, &ex)
	if len(ex) != len(exampleSpecs) {
		t.Fatalf("examples %s", r.body)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAutomaticAccountNeedsNoActivation(t *testing.T) {
	h := newHarness(t, Options{})
	if got := string(h.sim.Settings()["registrationType"]); got != `"AUTOMATIC"` {
		t.Fatalf("the workspace starts with registrationType %s", got)
	}
	ingrid := h.example(StateAutomatic)
	if attrs := h.profile(ingrid.ClientID)["attributes"].(map[string]any); attrs[AttrEmailConfirmed] != "false" {
		t.Fatalf("%s = %v, want \"false\"", AttrEmailConfirmed, attrs[AttrEmailConfirmed])
	}
	if a, _ := h.sim.Account(ingrid.ClientID); !a.Registered || a.Activated || a.State != StateAutomatic {
		t.Fatalf("account %+v", a)
	}
	refused := func(t *testing.T, r response) {
		t.Helper()
		wantStatus(t, r, 400)
		if e := r.profileErr(t); !strings.Contains(e.Message, "activation is not required") {
			t.Fatalf("message %q", e.Message)
		}
	}
	// Whatever the workspace says now: the account registered under AUTOMATIC.
	for _, regType := range []string{"AUTOMATIC", "REQUIRE_EMAIL_ACTIVATION", "REQUIRE_PIN_CONFIRMATION"} {
		t.Run(regType, func(t *testing.T) {
			wantStatus(t, h.post("/sauth/settings/general", map[string]any{"registrationType": regType}), 200)
			refused(t, h.post("/sauth/clients/activation/request", map[string]string{"email": ingrid.Email}))
			refused(t, h.post(pinRequest, pinBody(ingrid, "phone-1")))
			refused(t, h.post(pinConfirm, pinConfirmBody(ingrid, "phone-1", "123456")))
		})
	}
	if msgs := h.sim.OutboxFor(ingrid.Email); len(msgs) != 0 {
		t.Fatalf("a refused request sent %+v", msgs)
	}
	if a, _ := h.sim.Account(ingrid.ClientID); a.PINDeviceID != "" || a.State != StateAutomatic {
		t.Fatalf("a refused PIN request changed the account: %+v", a)
	}
	// The account is usable: a password reset goes out.
	wantStatus(t, h.post("/sauth/clients/password-reset/request", map[string]string{"email": ingrid.Email}), 202)
}

func TestGeneratedAutomaticAccounts(t *testing.T) {
	s := New(Options{})
	n := 0
	for _, c := range s.customers {
		if stateOf(c) != StateAutomatic {
			continue
		}
		n++
		if !c.registered || string(c.p.Attributes[AttrEmailConfirmed]) != `"false"` || c.awaiting != "" || c.pinDevice != "" {
			t.Fatalf("automatic account %d: registered=%v confirmed=%s awaiting=%q device=%q",
				c.p.ClientID, c.registered, c.p.Attributes[AttrEmailConfirmed], c.awaiting, c.pinDevice)
		}
	}
	if n < 50 {
		t.Fatalf("only %d generated accounts registered under AUTOMATIC", n)
	}
}

// A 403 without field errors means a rejected token; the PIN device rule's 403
// must therefore always carry one, on deviceId.
func TestPINDeviceRuleRefusalsCarryAFieldError(t *testing.T) {
	h := newHarness(t, Options{})
	john := h.example(StateAwaitingPIN)
	check := func(t *testing.T, r response) {
		t.Helper()
		wantStatus(t, r, 403)
		e := r.profileErr(t)
		if len(e.Errors) == 0 || !r.hasField("deviceId") {
			t.Fatalf("device rule 403 without a deviceId field error: %s", r.body)
		}
	}
	check(t, h.post(pinRequest, pinBody(john, "console-device")))
	wantStatus(t, h.post(pinRequest, pinBody(john, john.DeviceID)), 202)
	msg, _ := h.sim.LastMessage(john.Email, KindPIN)
	check(t, h.post(pinConfirm, pinConfirmBody(john, "console-device", msg.Secret)))
}
