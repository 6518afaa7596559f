package simulator

import (
	"encoding/json"
	"maps"
	"net/http"
	"testing"
)

func TestSettingsDefaultsAndBothPaths(t *testing.T) {
	h := newHarness(t, Options{})
	for _, path := range []string{"/sauth/settings/general", "/sauth/settings"} {
		r := h.get(path)
		wantStatus(t, r, 200)
		var got map[string]json.RawMessage
		r.decode(t, &got)
		if !maps.EqualFunc(got, defaultSettings(), func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("%s: %s", path, r.body)
		}
		for _, k := range []string{"registrationType", "tokenLifetimeInSeconds", "confirmationRedirectLink", "voucherPoolUuid",
			"allowOverwriteCustomIdentify", "allowEmailChangeFromWebForm", "pinConfirmationType", "pinConfirmationLength",
			"pinConfirmationValidInSeconds", "allowPinResendFromDifferentDeviceId", "passwordResetMailSubject"} {
			if _, ok := got[k]; !ok {
				t.Fatalf("missing %s", k)
			}
		}
	}
	if string(h.sim.Settings()["pinConfirmationType"]) != `"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT"` {
		t.Fatal("pinConfirmationType default")
	}
}

func TestSettingsPostResetsUnsentKeys(t *testing.T) {
	h := newHarness(t, Options{})
	full := map[string]any{
		"registrationType": "REQUIRE_PIN_CONFIRMATION", "tokenLifetimeInSeconds": 7200,
		"confirmationRedirectLink": "https://shop.example.com/ok", "voucherPoolUuid": "3f1c9a52-7d0e-4b6a-9c1e-2a8b5d4e6f01",
		"allowOverwriteCustomIdentify": true, "allowEmailChangeFromWebForm": true, "pinConfirmationType": "EVERYONE",
		"pinConfirmationLength": 8, "pinConfirmationValidInSeconds": 600, "allowPinResendFromDifferentDeviceId": true,
		"passwordResetMailSubject": "Zresetuj hasło", "maxLoginAttempts": 9, "someFutureKeyUnknownHere": 1,
	}
	r := h.post("/sauth/settings/general", full)
	wantStatus(t, r, 200)
	var got map[string]json.RawMessage
	r.decode(t, &got)
	if _, ok := got["someFutureKeyUnknownHere"]; ok {
		t.Fatal("unknown key stored")
	}
	if string(got["passwordResetMailSubject"]) != `"Zresetuj hasło"` || string(got["pinConfirmationLength"]) != "8" {
		t.Fatalf("POST answer %s", r.body)
	}
	// Send only one key: every other key goes back to its default, including
	// keys the console does not model.
	r = h.post("/sauth/settings", map[string]any{"pinConfirmationLength": 5})
	wantStatus(t, r, 200)
	want := defaultSettings()
	want["pinConfirmationLength"] = json.RawMessage(`5`)
	r = h.get("/sauth/settings/general")
	got = nil
	r.decode(t, &got)
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Fatalf("after partial POST: %s", r.body)
	}
}

func TestSettingsValidation(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name, body, field string
	}{
		{"registrationType unknown", `{"registrationType":"MAGIC"}`, "registrationType"},
		{"registrationType not string", `{"registrationType":1}`, "registrationType"},
		{"pinConfirmationType", `{"pinConfirmationType":"SOMETIMES"}`, "pinConfirmationType"},
		{"pin length low", `{"pinConfirmationLength":3}`, "pinConfirmationLength"},
		{"pin length high", `{"pinConfirmationLength":13}`, "pinConfirmationLength"},
		{"pin length fraction", `{"pinConfirmationLength":6.5}`, "pinConfirmationLength"},
		{"pin length string", `{"pinConfirmationLength":"6"}`, "pinConfirmationLength"},
		{"pin validity low", `{"pinConfirmationValidInSeconds":29}`, "pinConfirmationValidInSeconds"},
		{"token lifetime high", `{"tokenLifetimeInSeconds":31536001}`, "tokenLifetimeInSeconds"},
		{"token lifetime zero", `{"tokenLifetimeInSeconds":0}`, "tokenLifetimeInSeconds"},
		{"token lifetime null", `{"tokenLifetimeInSeconds":null}`, "tokenLifetimeInSeconds"},
		{"redirect relative", `{"confirmationRedirectLink":"/confirm"}`, "confirmationRedirectLink"},
		{"redirect javascript", `{"confirmationRedirectLink":"javascript:alert(1)"}`, "confirmationRedirectLink"},
		{"voucher not uuid", `{"voucherPoolUuid":"pool-1"}`, "voucherPoolUuid"},
		{"bool as string", `{"allowPinResendFromDifferentDeviceId":"true"}`, "allowPinResendFromDifferentDeviceId"},
		{"bool null", `{"allowEmailChangeFromWebForm":null}`, "allowEmailChangeFromWebForm"},
		{"subject empty", `{"passwordResetMailSubject":""}`, "passwordResetMailSubject"},
	}
	before := h.sim.Settings()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post("/sauth/settings/general", tt.body)
			wantStatus(t, r, 400)
			r.profileErr(t)
			if !r.hasField(tt.field) {
				t.Fatalf("no field error for %s: %s", tt.field, r.body)
			}
		})
	}
	if !maps.EqualFunc(before, h.sim.Settings(), func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Fatal("a refused POST changed the settings")
	}
	t.Run("nulls allowed where nullable", func(t *testing.T) {
		wantStatus(t, h.post("/sauth/settings/general", `{"confirmationRedirectLink":null,"voucherPoolUuid":null}`), 200)
	})
	t.Run("not an object", func(t *testing.T) {
		wantStatus(t, h.post("/sauth/settings/general", `[1]`), 400)
		wantStatus(t, h.do(http.MethodPost, "/sauth/settings/general", `{}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 400)
	})
}
