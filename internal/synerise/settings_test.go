package synerise

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
)

const settingsJSON = `{"registrationType":"REQUIRE_PIN_CONFIRMATION","tokenLifetimeInSeconds":3600,` +
	`"confirmationRedirectLink":null,"passwordResetMailSubject":"Hi \u00e9 <b>&amp;</b>",` +
	`"voucherPoolUuid":"5f1c-pool","allowOverwriteCustomIdentify":false,"allowEmailChangeFromWebForm":true,` +
	`"nested":{"b":1,"a":[1.50,2],  "c" : "x"},"pinConfirmationType":"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT",` +
	`"pinConfirmationLength":6,"pinConfirmationValidInSeconds":300,"allowPinResendFromDifferentDeviceId":false}`

func TestSettingsRoundTripIsByteExact(t *testing.T) {
	u := newUpstream(t)
	var posted []byte
	u.handle("GET /sauth/settings/general", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, settingsJSON)
	})
	u.handle("POST /sauth/settings/general", func(w http.ResponseWriter, r *http.Request) {
		posted, _ = io.ReadAll(r.Body)
		w.Write(posted)
	})
	c := newTestClient(t, u)
	s, err := c.Settings.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Settings.Set(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if string(posted) != settingsJSON {
		t.Errorf("posted\n%s\nwant\n%s", posted, settingsJSON)
	}

	// An edit touches only its key; unknown keys keep their bytes.
	s.SetPinConfirmationLength(8)
	s.SetConfirmationRedirectLink(nil)
	out, err := c.Settings.Set(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := out.Raw("passwordResetMailSubject"); string(raw) != `"Hi \u00e9 <b>&amp;</b>"` {
		t.Errorf("unknown string key became %s", raw)
	}
	if raw, _ := out.Raw("nested"); string(raw) != `{"b":1,"a":[1.50,2],  "c" : "x"}` {
		t.Errorf("unknown object key became %s", raw)
	}
	if n, ok := out.PinConfirmationLength(); !ok || n != 8 {
		t.Errorf("pinConfirmationLength = %d %v", n, ok)
	}
	if !reflect.DeepEqual(out.Keys(), s.Keys()) {
		t.Errorf("key order changed: %v", out.Keys())
	}
}

func TestSettingsSmallUnknownKeyExact(t *testing.T) {
	in := `{"passwordResetMailSubject":"Hi \u00e9","nested":{"b":1,"a":[1.50,2]}}`
	var s Settings
	must(t, json.Unmarshal([]byte(in), &s))
	out, err := s.MarshalJSON()
	if err != nil || string(out) != in {
		t.Errorf("MarshalJSON = %s, %v", out, err)
	}
}

func TestSettingsAccessors(t *testing.T) {
	var s Settings
	must(t, json.Unmarshal([]byte(settingsJSON), &s))
	str := func(v string, ok bool) any { return [2]any{v, ok} }
	num := func(v int, ok bool) any { return [2]any{v, ok} }
	bl := func(v bool, ok bool) any { return [2]any{v, ok} }
	checks := []struct {
		name      string
		got, want any
	}{
		{"registrationType", str(s.RegistrationType()), [2]any{"REQUIRE_PIN_CONFIRMATION", true}},
		{"pinConfirmationType", str(s.PinConfirmationType()), [2]any{"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT", true}},
		{"pinConfirmationLength", num(s.PinConfirmationLength()), [2]any{6, true}},
		{"pinConfirmationValidInSeconds", num(s.PinConfirmationValidInSeconds()), [2]any{300, true}},
		{"tokenLifetimeInSeconds", num(s.TokenLifetimeInSeconds()), [2]any{3600, true}},
		{"allowOverwriteCustomIdentify", bl(s.AllowOverwriteCustomIdentify()), [2]any{false, true}},
		{"allowEmailChangeFromWebForm", bl(s.AllowEmailChangeFromWebForm()), [2]any{true, true}},
		{"allowPinResendFromDifferentDeviceId", bl(s.AllowPinResendFromDifferentDeviceID()), [2]any{false, true}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v, ok := s.ConfirmationRedirectLink(); !ok || v != nil {
		t.Errorf("confirmationRedirectLink = %v %v, want nil true", v, ok)
	}
	if v, ok := s.VoucherPoolUUID(); !ok || v == nil || *v != "5f1c-pool" {
		t.Errorf("voucherPoolUuid = %v %v", v, ok)
	}

	before := s.Clone()
	link := "https://shop.example/confirmed?a=1&b=<2>"
	s.SetConfirmationRedirectLink(&link)
	s.SetRegistrationType("AUTOMATIC")
	s.SetAllowPinResendFromDifferentDeviceID(true)
	if raw, _ := s.Raw(KeyConfirmationRedirectLink); string(raw) != `"https://shop.example/confirmed?a=1\u0026b=\u003c2\u003e"` {
		t.Errorf("link raw = %s", raw)
	}
	if v, _ := s.ConfirmationRedirectLink(); v == nil || *v != link {
		t.Errorf("link = %v", v)
	}
	if v, _ := before.RegistrationType(); v != "REQUIRE_PIN_CONFIRMATION" {
		t.Error("Clone shares state with the original")
	}
	if !reflect.DeepEqual(s.Keys(), before.Keys()) {
		t.Error("setting a present key moved it")
	}

	// Wrong types and missing keys are reported, not guessed.
	var odd Settings
	must(t, json.Unmarshal([]byte(`{"pinConfirmationLength":"6","registrationType":null,"tokenLifetimeInSeconds":1.5}`), &odd))
	if _, ok := odd.PinConfirmationLength(); ok {
		t.Error("string accepted as int")
	}
	if _, ok := odd.RegistrationType(); ok {
		t.Error("null accepted as string")
	}
	if _, ok := odd.TokenLifetimeInSeconds(); ok {
		t.Error("1.5 accepted as int")
	}
	if _, ok := odd.VoucherPoolUUID(); ok {
		t.Error("missing key reported present")
	}
	odd.SetVoucherPoolUUID(nil)
	if got := odd.Keys(); got[len(got)-1] != KeyVoucherPoolUUID {
		t.Errorf("new key not appended: %v", got)
	}
	if err := odd.SetRaw("x", json.RawMessage(`{bad`)); err == nil {
		t.Error("invalid raw JSON accepted")
	}
}

func TestSettingsFingerprint(t *testing.T) {
	var a, b, c Settings
	must(t, json.Unmarshal([]byte(`{"x":1,"y":{"p":[1.50, 2],"q":"é"}}`), &a))
	must(t, json.Unmarshal([]byte(`{ "y" : {"q":"\u00e9","p":[1.50,2]}, "x" : 1 }`), &b))
	must(t, json.Unmarshal([]byte(`{"x":1,"y":{"p":[1.5,2],"q":"é"}}`), &c))
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("same content, different fingerprints")
	}
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("1.50 vs 1.5 should differ: the bytes sent back differ")
	}
	if len(a.Fingerprint()) != 64 {
		t.Error("not a SHA-256 hex")
	}
}

func TestSettingsDecodeRejects(t *testing.T) {
	for _, in := range []string{`[]`, `null`, `"x"`, `{"a":1} {}`, `{"a":}`, `{"a":1`} {
		var s Settings
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func TestSettingsPathAndEmptyAnswer(t *testing.T) {
	u := newUpstream(t)
	hits := 0
	u.handle("POST /sauth/settings", func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t, u, WithSettingsPath("/sauth/settings"))
	var s Settings
	must(t, json.Unmarshal([]byte(settingsJSON), &s))
	out, err := c.Settings.Set(context.Background(), &s)
	if err != nil || hits != 1 {
		t.Fatalf("Set = %v (hits %d)", err, hits)
	}
	if out.Fingerprint() != s.Fingerprint() || out == &s {
		t.Error("empty answer should return a copy of what was sent")
	}
	if _, err := c.Settings.Set(context.Background(), &Settings{}); err == nil || hits != 1 {
		t.Error("empty settings were sent: that would reset every key")
	}
}

func TestSettingsMarshalByValueAndPointer(t *testing.T) {
	var s Settings
	must(t, json.Unmarshal([]byte(`{"b":1,"a":"x"}`), &s))
	for _, v := range []any{s, &s} {
		b, err := json.Marshal(v)
		if err != nil || string(b) != `{"b":1,"a":"x"}` {
			t.Errorf("json.Marshal(%T) = %s, %v", v, b, err)
		}
	}
}
