package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/passkey"
	"github.com/raas-console/console/internal/passkey/passkeytest"
)

// passkeyOrigin is the console's public URL in these tests: the software authenticator
// claims it, whatever address the test server listens on.
const passkeyOrigin = "http://localhost:8443"

// withPasskeys turns passkeys on, with the MFA policy mfa.
func withPasskeys(t *testing.T, mfa string) option {
	return func(d *handlers.Deps) {
		svc, err := passkey.New(d.Database.(*pgxpool.Pool), passkeyOrigin, d.Now)
		if err != nil {
			t.Fatal(err)
		}
		d.Passkeys = svc
		d.Identity.PublicURL = passkeyOrigin
		d.Identity.MFARequired = mfa
	}
}

// options posts to a passkey options endpoint and returns the JSON it answers.
func (b *browser) options(path string, form url.Values) []byte {
	b.e.t.Helper()
	res := b.post(path, form)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		b.e.t.Fatalf("POST %s: %d %s", path, res.StatusCode, body(res))
	}
	return []byte(body(res))
}

// addPasskey registers a passkey from auth for the browser's operator.
func (b *browser) addPasskey(auth *passkeytest.Authenticator, name string) *http.Response {
	b.e.t.Helper()
	cred, err := auth.Create(b.options("/account/passkeys/options", url.Values{"name": {name}}))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.post("/account/passkeys", url.Values{"credential": {string(cred)}})
}

// passkeySignIn signs in passwordless with auth, returning the response and the assertion.
func (b *browser) passkeySignIn(auth *passkeytest.Authenticator, next string) (*http.Response, string) {
	b.e.t.Helper()
	assertion, err := auth.Get(b.options("/login/passkey/options", nil))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.post("/login/passkey", url.Values{"assertion": {string(assertion)}, "next": {next}}), string(assertion)
}

func detail(ev audit.Event) map[string]any {
	var d map[string]any
	_ = json.Unmarshal(ev.Detail, &d)
	return d
}

func TestPasskeyRegisterThenSignInWithoutPassword(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, op := e.signedIn(operators.RoleSupport)
	if page := body(b.get("/account/passkeys")); !strings.Contains(page, "You have no passkeys yet") || !strings.Contains(page, `<label for="passkey-name">`) {
		t.Fatalf("passkeys page: %s", page)
	}
	if strings.Contains(body(e.browser().get("/login")), "Sign in with a passkey") {
		t.Fatal("sign-in page offers passkeys before any is registered")
	}
	auth := passkeytest.New(passkeyOrigin)
	res := b.addPasskey(auth, "Work laptop")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/passkeys" {
		t.Fatalf("add: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	page := body(b.get("/account/passkeys"))
	if !strings.Contains(page, "Work laptop") || !strings.Contains(page, "<td>never</td>") || !strings.Contains(page, "Passkey “Work laptop” added") {
		t.Fatalf("after adding: %s", page)
	}
	add, ok := e.lastEvent(audit.ActionPasskeyAdd)
	if !ok || add.Outcome != audit.OutcomeSucceeded || detail(add)["name"] != "Work laptop" || detail(add)["credential"] == "" {
		t.Fatalf("add audit: %+v", add)
	}

	anon := e.browser()
	if !strings.Contains(body(anon.get("/login")), "Sign in with a passkey") {
		t.Fatal("the sign-in page does not offer a passkey once one is registered")
	}
	res, _ = anon.passkeySignIn(auth, "/customers")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/customers" {
		t.Fatalf("passkey sign-in: %d %s %s", res.StatusCode, res.Header.Get("Location"), body(res))
	}
	if res := anon.get("/"); res.StatusCode != http.StatusOK {
		t.Fatalf("home after passkey sign-in: %d", res.StatusCode)
	}
	in, ok := e.lastEvent(audit.ActionSignIn)
	if !ok || in.Actor.OperatorID != op.ID || detail(in)["method"] != "passkey" || detail(in)["factor"] != "passkey" {
		t.Fatalf("sign-in audit: %+v %s", in, in.Detail)
	}
	if page := body(b.get("/account/passkeys")); strings.Contains(page, "<td>never</td>") {
		t.Fatal("last used not shown after a sign-in")
	}
}

func TestPasskeySignInRefusals(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, op := e.signedIn(operators.RoleSupport)
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Key")

	anon := e.browser()
	res, assertion := anon.passkeySignIn(auth, "/")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d", res.StatusCode)
	}
	replay := e.browser()
	replay.options("/login/passkey/options", nil) // a fresh challenge the old answer does not sign
	res = replay.post("/login/passkey", url.Values{"assertion": {assertion}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body(res), "Sign-in with a passkey failed") {
		t.Fatalf("replayed assertion: %d", res.StatusCode)
	}
	if ev, _ := e.lastEvent(audit.ActionSignInFailed); !strings.HasPrefix(detail(ev)["reason"].(string), "passkey refused") {
		t.Fatalf("replay audit: %s", ev.Detail)
	}
	res = replay.post("/login/passkey", url.Values{"assertion": {assertion}})
	if ev, _ := e.lastEvent(audit.ActionSignInFailed); res.StatusCode != http.StatusUnauthorized || detail(ev)["reason"] != "passkey ceremony expired or already used" {
		t.Fatalf("without a ceremony: %d %s", res.StatusCode, ev.Detail)
	}

	if _, err := e.ops.SetDisabled(context.Background(), op.ID, true); err != nil {
		t.Fatal(err)
	}
	res, _ = e.browser().passkeySignIn(auth, "/")
	ev, _ := e.lastEvent(audit.ActionSignInFailed)
	if res.StatusCode != http.StatusUnauthorized || detail(ev)["reason"] != "operator disabled" || ev.Actor.OperatorID != op.ID {
		t.Fatalf("disabled operator: %d %s", res.StatusCode, ev.Detail)
	}
}

func TestPasskeyWrongOriginRefused(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, _ := e.signedIn(operators.RoleSupport)
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Key")
	auth.Origin = "http://localhost.evil.example"
	res, _ := e.browser().passkeySignIn(auth, "/")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("foreign origin: %d", res.StatusCode)
	}
	if ev, _ := e.lastEvent(audit.ActionSignInFailed); !strings.Contains(detail(ev)["reason"].(string), "passkey refused") {
		t.Fatalf("audit: %s", ev.Detail)
	}
}

func TestPasskeyIsTheRequiredSecondFactor(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "all"))
	op := e.operator("enrol@example.com", operators.RoleSupport)
	b := e.browser()
	if res := b.login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "enrol=1") {
		t.Fatalf("sign-in without a factor: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := b.get("/customers"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("customers before enrolment: %d", res.StatusCode)
	}
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Phone")
	if res := b.get("/customers"); res.StatusCode != http.StatusOK {
		t.Fatalf("customers after adding a passkey: %d", res.StatusCode)
	}

	// The next password sign-in asks for the passkey.
	b2 := e.browser()
	if res := b2.login(op.Email, testPassword); res.Header.Get("Location") != "/login/second-factor" {
		t.Fatalf("password sign-in: %s", res.Header.Get("Location"))
	}
	if res := b2.get("/customers"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("signed in before the second factor")
	}
	// A refused passkey (here an answer that is no assertion) counts against the lockout.
	b2.options("/login/second-factor/passkey/options", nil)
	res := b2.post("/login/second-factor/passkey", url.Values{"assertion": {"{}"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "passkey=failed") {
		t.Fatalf("refused second factor: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if got, _ := e.ops.ByID(context.Background(), op.ID); got.FailedSignins != 2 { // the password's reservation and the passkey's
		t.Fatalf("failed sign-ins %d, want 2", got.FailedSignins)
	}
	if ev, _ := e.lastEvent(audit.ActionSecondFactor); ev.Outcome != audit.OutcomeFailed || detail(ev)["factor"] != "passkey" {
		t.Fatalf("failed second factor audit: %+v", ev)
	}
	good, err := auth.Get(b2.options("/login/second-factor/passkey/options", nil))
	if err != nil {
		t.Fatal(err)
	}
	res = b2.post("/login/second-factor/passkey", url.Values{"assertion": {string(good)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("second factor: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := b2.get("/customers"); res.StatusCode != http.StatusOK {
		t.Fatalf("customers after the second factor: %d", res.StatusCode)
	}
	in, _ := e.lastEvent(audit.ActionSignIn)
	if detail(in)["method"] != "password" || detail(in)["factor"] != "passkey" {
		t.Fatalf("sign-in audit: %s", in.Detail)
	}
}

func TestPasskeyRemoveKeepsTheLastRequiredFactor(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "all"))
	op := e.operator("remove@example.com", operators.RoleSupport)
	b := e.browser()
	b.login(op.Email, testPassword)
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Only")
	list, err := e.handler.Passkeys.(*passkey.Service).List(context.Background(), op.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	path := "/account/passkeys/" + strconv.FormatInt(list[0].ID, 10) + "/remove"
	b.post(path, nil)
	if n, _ := e.handler.Passkeys.Count(context.Background(), op.ID); n != 1 {
		t.Fatal("the only required second factor was removed")
	}
	if ev, _ := e.lastEvent(audit.ActionPasskeyRemove); ev.Outcome != audit.OutcomeFailed {
		t.Fatalf("refusal audit: %+v", ev)
	}
	if page := body(b.get("/account/passkeys")); !strings.Contains(page, "only second factor") {
		t.Fatal("the refusal is not told")
	}
	b.addPasskey(passkeytest.New(passkeyOrigin), "Spare")
	if res := b.post(path, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	if n, _ := e.handler.Passkeys.Count(context.Background(), op.ID); n != 1 {
		t.Fatalf("count after removing one of two: %d", n)
	}
	ev, _ := e.lastEvent(audit.ActionPasskeyRemove)
	var after struct {
		Removed map[string]string `json:"removed"`
	}
	_ = json.Unmarshal(ev.After, &after)
	if ev.Outcome != audit.OutcomeSucceeded || after.Removed["name"] != "Only" || after.Removed["credential"] == "" {
		t.Fatalf("remove audit: %+v %s", ev, ev.After)
	}
	// Another operator's passkey is nobody else's to remove.
	b2, _ := e.signedIn(operators.RoleAdmin)
	if res := b2.post("/account/passkeys/"+strconv.FormatInt(list[0].ID+1, 10)+"/remove", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("removing another operator's passkey: %d", res.StatusCode)
	}
}

func TestPasskeyStepUpOptionsNameOnlyTheOperatorsPasskeys(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, _ := e.signedIn(operators.RoleAdmin)
	res := b.post("/account/passkeys/step-up/options", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body(res), "no passkey") {
		t.Fatalf("step-up options without a passkey: %d", res.StatusCode)
	}
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Key")
	var opts struct {
		PublicKey struct {
			Allow []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
			UserVerification string `json:"userVerification"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(b.options("/account/passkeys/step-up/options", nil), &opts); err != nil {
		t.Fatal(err)
	}
	if len(opts.PublicKey.Allow) != 1 || opts.PublicKey.UserVerification != "required" {
		t.Fatalf("step-up options: %+v", opts)
	}
}

func TestPasskeyAuditHoldsNoKeyMaterial(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, _ := e.signedIn(operators.RoleSupport)
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Key")
	res, assertion := e.browser().passkeySignIn(auth, "/")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatal(res.StatusCode)
	}
	var a struct {
		Response struct {
			Signature  string `json:"signature"`
			UserHandle string `json:"userHandle"`
		} `json:"response"`
		RawID string `json:"rawId"`
	}
	_ = json.Unmarshal([]byte(assertion), &a)
	for _, ev := range e.events() {
		all := string(ev.Detail) + string(ev.Before) + string(ev.After)
		for _, secret := range []string{a.Response.Signature, a.Response.UserHandle, a.RawID} {
			if secret != "" && strings.Contains(all, secret) {
				t.Fatalf("audit event %s holds key material: %s", ev.Action, all)
			}
		}
	}
	if strings.Contains(e.logs.String(), a.Response.Signature) {
		t.Fatal("the log holds an assertion")
	}
}

func TestPasskeyStepUp(t *testing.T) {
	e := newEnv(t, withPasskeys(t, "none"))
	b, _ := e.signedIn(operators.RoleAdmin)
	other := e.operator("target@example.com", operators.RoleSupport)
	auth := passkeytest.New(passkeyOrigin)
	b.addPasskey(auth, "Key")
	e.clock.Add(6 * time.Minute) // the factor proved by adding the passkey is no longer recent
	path := "/operators/" + strconv.FormatInt(other.ID, 10) + "/role"
	res := b.post(path, url.Values{"role": {"auditor"}})
	if page := body(res); !strings.Contains(page, `name="_step_up_passkey"`) || !strings.Contains(page, `id="passkey-step-up"`) {
		t.Fatalf("step-up prompt: %d %s", res.StatusCode, page)
	}
	assertion, err := auth.Get(b.options("/account/passkeys/step-up/options", nil))
	if err != nil {
		t.Fatal(err)
	}
	res = b.post(path, url.Values{"role": {"auditor"}, "_step_up_passkey": {string(assertion)}})
	if got, _ := e.ops.ByID(context.Background(), other.ID); got.Role != operators.RoleAuditor {
		t.Fatalf("role after a passkey step-up: %s (%d %s)", got.Role, res.StatusCode, body(res))
	}
	if ev, _ := e.lastEvent(audit.ActionStepUp); ev.Outcome != audit.OutcomeSucceeded || detail(ev)["factor"] != "passkey" {
		t.Fatalf("step-up audit: %+v %s", ev, ev.Detail)
	}
	// The same assertion again, once the step-up has aged: refused, nothing changes.
	e.clock.Add(6 * time.Minute)
	res = b.post(path, url.Values{"role": {"support"}, "_step_up_passkey": {string(assertion)}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body(res), "passkey could not be checked") {
		t.Fatalf("replayed step-up: %d", res.StatusCode)
	}
	if got, _ := e.ops.ByID(context.Background(), other.ID); got.Role != operators.RoleAuditor {
		t.Fatal("a replayed passkey assertion changed a role")
	}
}
