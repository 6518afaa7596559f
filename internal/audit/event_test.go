package audit

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestActionTable(t *testing.T) {
	want := []Action{
		"auth.signin", "auth.signin_failed", "auth.lockout", "auth.signout", "auth.password_change", "access.denied",
		"operator.create", "operator.disable", "operator.enable", "operator.role_change",
		"operator.password_reset", "customer.search", "customer.view", "customer.update",
		"customer.password_reset", "customer.activation_resend", "customer.pin_resend",
		"settings.view", "settings.update", "audit.search", "audit.view", "audit.export",
		"audit.verify", "audit.checkpoint",
		"auth.sso_refused", "auth.second_factor", "auth.step_up", "auth.totp_enrol", "auth.totp_remove",
		"auth.recovery_codes", "auth.passkey_add", "auth.passkey_remove", "auth.session_end",
		"operator.sessions_end", "operator.sso_link", "operator.break_glass",
		"audit.sink_config", "audit.sink_failure", "audit.sink_recovered",
		"customer.email_change", "customer.erase", "customer.export",
		"approval.request", "approval.approve", "approval.reject", "approval.expire",
	}
	for _, a := range want {
		if !Known(a) {
			t.Errorf("%s is not defined", a)
		}
	}
	all := Actions()
	if len(all) != len(want) {
		t.Errorf("Actions() has %d actions, want %d", len(all), len(want))
	}
	for i, a := range all {
		if i > 0 && all[i-1] >= a {
			t.Errorf("Actions() not sorted at %s", a)
		}
		if d := a.Describe(); d == "" || d == string(a) {
			t.Errorf("%s has no description", a)
		}
		if g := a.Group(); g == "" || !strings.HasPrefix(string(a), g+".") {
			t.Errorf("%s has group %q", a, g)
		}
	}
	if ActionCustomerView.Describe() != "Viewed a customer" || ActionSignIn.Describe() != "Signed in" {
		t.Error("unexpected descriptions")
	}
	if ActionCustomerPINResend.Group() != "customer" {
		t.Error("group of customer.pin_resend")
	}
	if Known("customer.delete") || Known("") {
		t.Error("unknown actions reported as known")
	}
	if Action("x.y").Describe() != "x.y" {
		t.Error("unknown action should describe itself by name")
	}
}

func TestOutcomeValid(t *testing.T) {
	for _, o := range []Outcome{OutcomePending, OutcomeSucceeded, OutcomeFailed, OutcomeDenied, OutcomeUnknown} {
		if !o.Valid() {
			t.Errorf("%s invalid", o)
		}
	}
	for _, o := range []Outcome{"", "ok", "Succeeded"} {
		if o.Valid() {
			t.Errorf("%q valid", o)
		}
	}
}

func TestDetailJSON(t *testing.T) {
	if got := string(DetailJSON(map[string]int{"a": 1})); got != `{"a":1}` {
		t.Errorf("DetailJSON = %s", got)
	}
	got := DetailJSON(map[string]float64{"bad": math.NaN()})
	if !json.Valid(got) || !strings.Contains(string(got), "detailError") {
		t.Errorf("DetailJSON of an unencodable value = %s", got)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": 1}`, `{"a": 1}`}, // untouched, byte for byte
		{`{"password":"x","email":"e"}`, `{"email":"e","password":"[redacted]"}`},
		{`{"newPassword":"x"}`, `{"newPassword":"[redacted]"}`},
		{`{"PIN":"1234","pinCode":"1","pin_code":2}`, `{"PIN":"[redacted]","pinCode":"[redacted]","pin_code":"[redacted]"}`},
		{`{"x":[{"access_token":"t"},{"refreshToken":"r"}]}`, `{"x":[{"access_token":"[redacted]"},{"refreshToken":"[redacted]"}]}`},
		{`{"apiKey":"k","api-key":"k","Authorization":"Bearer b","sessionId":"s","clientSecret":"c"}`,
			`{"Authorization":"[redacted]","api-key":"[redacted]","apiKey":"[redacted]","clientSecret":"[redacted]","sessionId":"[redacted]"}`},
		{`{"password":{"nested":"x"},"n":12345678901234567890}`, `{"n":12345678901234567890,"password":"[redacted]"}`},
		{`{"shipping":"a","mapping":"b"}`, `{"shipping":"a","mapping":"b"}`},
		{`["password"]`, `["password"]`}, // values are not keys
	}
	for _, tt := range tests {
		got, err := redact(json.RawMessage(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("redact(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	if got := cleanText("a\x00b\xffc", 0); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("cleanText = %q", got)
	}
	if got := cleanText("żółw", 3); got != "ż" {
		t.Errorf("cut inside a rune: %q", got)
	}
}
