package audit

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// raasSettings are the RaaS general settings keys: several start with a secret's name
// (token…, password…, pin…) but none holds a secret.
var raasSettings = []string{
	"registrationType", "tokenLifetimeInSeconds", "confirmationRedirectLink", "voucherPoolUuid",
	"allowOverwriteCustomIdentify", "allowEmailChangeFromWebForm", "pinConfirmationType",
	"pinConfirmationLength", "pinConfirmationValidInSeconds", "allowPinResendFromDifferentDeviceId",
	"passwordResetMailSubject", "maxLoginAttempts",
}

func TestSecretKeyNamesSecretsOnly(t *testing.T) {
	secret := []string{
		"password", "Password", "newPassword", "new_password", "newpassword", "oldPassword", "password_confirmation",
		"passwordHash", "oneTimePassword", "passwd", "passphrase", "pwd", "pass",
		"token", "access_token", "accessToken", "accesstoken", "refreshToken", "resetToken", "activationToken",
		"passwordResetToken", "id_token", "tokenValue", "csrf", "csrfToken", "X-CSRF-Token", "jwt", "bearer",
		"secret", "clientSecret", "client_secret", "secretKey", "privateKey", "signingKey", "aws_secret_access_key",
		"apiKey", "api-key", "api_key", "apikey", "APIKey", "X-Api-Key", "XApiKey", "apiKeys",
		"Authorization", "authorizationHeader", "Proxy-Authorization",
		"cookie", "Cookie", "Set-Cookie", "cookies", "sessionCookie",
		"credential", "credentials", "dbCredentials",
		"session", "sessionId", "session_id", "sessionid", "SESSION_ID", "sessionKey",
		"pin", "PIN", "pinCode", "pin_code", "pincode", "newPin", "oldpin", "otp", "totp", "smsOtp",
	}
	notSecret := append(slices.Clone(raasSettings),
		"email", "name", "role", "reason", "key", "old", "new", "changedKeys", "changes", "fingerprint",
		"readBack", "deviceId", "knownDeviceId", "headHash", "hash", "seq", "checkpointId", "firstBreak",
		"shipping", "mapping", "bypass", "compass", "tokenExpiresAt", "token_type", "passwordPolicy",
		"passwordMinLength", "sessionTimeout", "sessionCount", "pinLength", "cookieConsent", "secretariat",
		"keyboard", "monkey", "", "_", "123",
	)
	for _, k := range secret {
		if !secretKey(k) {
			t.Errorf("secretKey(%q) = false, want true (words %q)", k, keyWords(k))
		}
	}
	for _, k := range notSecret {
		if secretKey(k) {
			t.Errorf("secretKey(%q) = true, want false (words %q)", k, keyWords(k))
		}
	}
}

func TestKeyWords(t *testing.T) {
	tests := map[string][]string{
		"tokenLifetimeInSeconds": {"token", "lifetime", "in", "seconds"},
		"X-Api-Key":              {"x", "api", "key"},
		"XAPIKey":                {"xapi", "key"},
		"APIKey":                 {"api", "key"},
		"access_token":           {"access", "token"},
		"voucherPoolUuid":        {"voucher", "pool", "uuid"},
		"PIN":                    {"pin"},
		"s3Key":                  {"s3", "key"},
		"":                       nil,
	}
	for in, want := range tests {
		if got := keyWords(in); !slices.Equal(got, want) {
			t.Errorf("keyWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// A settings change keeps its Before and After readable — the RaaS settings are not
// secrets — while a secret in the same document is still redacted.
func TestRedactKeepsSettingsAndRedactsSecrets(t *testing.T) {
	before := map[string]any{}
	for i, k := range raasSettings {
		before[k] = "value-" + k
		if i%2 == 0 {
			before[k] = i + 1
		}
	}
	raw, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	got, err := redact(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(raw) {
		t.Fatalf("settings were changed by redaction:\n got %s\nwant %s", got, raw)
	}
	ev, err := prepare(Event{Action: ActionSettingsUpdate, Outcome: OutcomePending, Before: raw, After: raw})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ev.Before)+string(ev.After), Redacted) {
		t.Fatalf("settings Before/After redacted: %s", ev.After)
	}

	mixed := json.RawMessage(`{"tokenLifetimeInSeconds":3600,"passwordResetMailSubject":"Reset","nested":{"apiKey":"k","newPassword":"p","pinCode":"1234"},"list":[{"refresh_token":"r","sessionId":"s"}]}`)
	got, err = redact(mixed)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"list":[{"refresh_token":"[redacted]","sessionId":"[redacted]"}],"nested":{"apiKey":"[redacted]","newPassword":"[redacted]","pinCode":"[redacted]"},"passwordResetMailSubject":"Reset","tokenLifetimeInSeconds":3600}`
	if string(got) != want {
		t.Fatalf("redact(%s)\n got %s\nwant %s", mixed, got, want)
	}
}

// An auditor reads markup in a detail as typed: the stored JSON keeps <, > and & instead of
// \u003c-style escapes, both when the console builds a detail and when redaction re-encodes it.
func TestDetailJSONKeepsMarkupReadable(t *testing.T) {
	got := string(DetailJSON(map[string]string{"firstName": `<b>Tom & "Jerry"</b>`}))
	if want := `{"firstName":"<b>Tom & \"Jerry\"</b>"}`; got != want {
		t.Fatalf("DetailJSON = %s, want %s", got, want)
	}
	red, err := redact(json.RawMessage(`{"note":"a <i>b</i> & c","password":"hunter2"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"note":"a <i>b</i> & c","password":"` + Redacted + `"}`; string(red) != want {
		t.Fatalf("redact = %s, want %s", red, want)
	}
}
