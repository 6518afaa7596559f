package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/passkey/passkeytest"
)

// Requirement 20 of SECURITY.md for the second factors: an authenticator app's secret,
// the recovery codes and what a passkey signs are never stored in the database in clear
// nor written to a log, through enrolment, a sign-in with a code, one with a recovery
// code, and a passwordless sign-in with a passkey.
func TestSecondFactorSecretsNeverStoredOrLogged(t *testing.T) {
	e := newEnv(t, withTOTP("none"), withPasskeys(t, "none"))
	b, op := e.signedIn(operators.RoleAdmin)
	secret, codes := e.enrolTOTP(b)

	second := e.passwordStep(op.Email)
	if res := second.secondFactor(e.totpCode(secret)); res.StatusCode != http.StatusSeeOther || !second.signedInAs() {
		t.Fatalf("sign-in with a code: %d", res.StatusCode)
	}
	third := e.passwordStep(op.Email)
	if res := third.secondFactor(codes[0]); res.StatusCode != http.StatusSeeOther || !third.signedInAs() {
		t.Fatalf("sign-in with a recovery code: %d", res.StatusCode)
	}

	auth := passkeytest.New(passkeyOrigin)
	if res := third.addPasskey(auth, "Work laptop"); res.StatusCode >= 400 {
		t.Fatalf("add passkey: %d %s", res.StatusCode, body(res))
	}
	res, assertion := e.browser().passkeySignIn(auth, "/")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("passkey sign-in: %d %s", res.StatusCode, body(res))
	}
	var signed struct {
		Response struct {
			Signature string `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal([]byte(assertion), &signed); err != nil || len(signed.Response.Signature) < 40 {
		t.Fatalf("assertion %s: %v", assertion, err)
	}

	search := map[string]string{
		secret:                    "authenticator app secret",
		spaced(secret):            "authenticator app secret, grouped as shown",
		signed.Response.Signature: "passkey assertion signature",
		op.Email:                  "control: the operator's e-mail",
	}
	for _, c := range codes {
		search[c] = "recovery code"
	}
	controlSeen := false
	for _, f := range findCanaries(t, e, search, e.logs.String()) {
		if strings.HasPrefix(f, "control: ") {
			controlSeen = true
			continue
		}
		t.Error(f)
	}
	if !controlSeen {
		t.Fatal("the operator's e-mail was found nowhere: the search does not work")
	}
}

// spaced is secret in groups of four, as the setup page shows it.
func spaced(secret string) string {
	var groups []string
	for len(secret) > 4 {
		groups = append(groups, secret[:4])
		secret = secret[4:]
	}
	return strings.Join(append(groups, secret), " ")
}
