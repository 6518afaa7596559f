package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/mfa"
	"github.com/raas-console/console/internal/operators"
)

// withTOTP gives the console TOTP factors on the test database and the MFA policy.
func withTOTP(policy string) option {
	return func(d *handlers.Deps) {
		store, err := mfa.NewStore(d.Database.(*pgxpool.Pool), bytes.Repeat([]byte("m"), 32))
		if err != nil {
			panic(err)
		}
		d.TOTP = store
		d.Identity.MFARequired = policy
	}
}

var (
	reTOTPSecret    = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7 ]+)</code>`)
	reRecoveryCodes = regexp.MustCompile(`<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>`)
)

// totpCode is the authenticator app's code for secret at the console's clock.
func (e *env) totpCode(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrolTOTP sets up an authenticator app for the signed-in browser b as a person would:
// the secret read from the page's text; it returns the secret and the recovery codes.
func (e *env) enrolTOTP(b *browser) (string, []string) {
	e.t.Helper()
	res := b.get("/account/security/totp")
	page := body(res)
	m := reTOTPSecret.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		e.t.Fatalf("setup page: %d, no secret in text:\n%s", res.StatusCode, page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	res = b.post("/account/security/totp", url.Values{"code": {e.totpCode(secret)}})
	page = body(res)
	var codes []string
	for _, m := range reRecoveryCodes.FindAllStringSubmatch(page, -1) {
		codes = append(codes, m[1])
	}
	if res.StatusCode != http.StatusOK || len(codes) != 10 {
		e.t.Fatalf("confirm: %d, %d recovery codes:\n%s", res.StatusCode, len(codes), page)
	}
	// The confirming code is spent; the next one comes with the next time step.
	e.clock.Add(30 * time.Second)
	return secret, codes
}

// passwordStep signs in with the password and expects to be asked for the second factor.
func (e *env) passwordStep(email string) *browser {
	e.t.Helper()
	b := e.browser()
	res := b.login(email, testPassword)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login/second-factor" {
		e.t.Fatalf("password step: %d to %q, want the second factor", res.StatusCode, res.Header.Get("Location"))
	}
	return b
}

func (b *browser) secondFactor(code string) *http.Response {
	b.e.t.Helper()
	return b.post("/login/second-factor", url.Values{"code": {code}})
}

// signedInAs reports whether the browser's session is signed in (the home page answers).
func (b *browser) signedInAs() bool {
	b.e.t.Helper()
	return b.get("/").StatusCode == http.StatusOK
}

// auditContains reports whether any audit row, in any column, contains s.
func (e *env) auditContains(s string) bool {
	e.t.Helper()
	var n int
	err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events a WHERE position(lower($1) in lower(a::text)) > 0`, s).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n > 0
}

func TestTOTPEnrolmentQRSecretAndTenRecoveryCodes(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	b, op := e.signedIn(operators.RoleSupport)
	if page := body(b.get("/account/security")); !strings.Contains(page, "No authenticator app is set up") {
		t.Fatalf("security page before setup:\n%s", page)
	}
	res := b.get("/account/security/totp")
	page := body(res)
	if !strings.Contains(page, `<img src="/account/security/totp/qr.png" alt="QR code for your authenticator app"`) ||
		!strings.Contains(page, `<label for="code">`) || !reTOTPSecret.MatchString(page) {
		t.Fatalf("setup page lacks the QR code, the secret or the labelled code field:\n%s", page)
	}
	secret := strings.ReplaceAll(reTOTPSecret.FindStringSubmatch(page)[1], " ", "")
	if again := body(b.get("/account/security/totp")); !strings.Contains(again, reTOTPSecret.FindStringSubmatch(page)[1]) {
		t.Fatal("reloading the setup page changed the secret the app has scanned")
	}
	qr := b.get("/account/security/totp/qr.png")
	img, _ := io.ReadAll(qr.Body)
	if qr.StatusCode != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("QR code: %d %s", qr.StatusCode, qr.Header.Get("Content-Type"))
	}
	if res := b.post("/account/security/totp", url.Values{"code": {"12345x"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", res.StatusCode)
	}
	if ev, _ := e.lastEvent(audit.ActionTOTPEnrol); ev.Outcome != audit.OutcomeFailed {
		t.Fatalf("wrong code audited as %q", ev.Outcome)
	}
	code := e.totpCode(secret)
	res = b.post("/account/security/totp", url.Values{"code": {code}})
	page = body(res)
	codes := reRecoveryCodes.FindAllStringSubmatch(page, -1)
	if res.StatusCode != http.StatusOK || len(codes) != 10 || !strings.Contains(page, "I have saved them") {
		t.Fatalf("confirm: %d, %d codes\n%s", res.StatusCode, len(codes), page)
	}
	if ev, _ := e.lastEvent(audit.ActionTOTPEnrol); ev.Outcome != audit.OutcomeSucceeded || ev.Actor.OperatorID != op.ID {
		t.Fatalf("enrolment audited as %+v", ev)
	}
	if _, ok := e.lastEvent(audit.ActionRecoveryCodes); !ok {
		t.Fatal("recovery codes not audited")
	}
	if page := body(b.get("/account/security")); !strings.Contains(page, "An authenticator app is set up") || !strings.Contains(page, "10 unused recovery codes left") {
		t.Fatalf("security page after setup:\n%s", page)
	}
	for _, s := range append([]string{secret, code}, codes[0][1], codes[9][1]) {
		if e.auditContains(s) {
			t.Fatalf("the audit log contains a secret or code %q", s)
		}
	}
}

func TestSignInAsksSecondFactorAndACodeWorksOnce(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	first, op := e.signedIn(operators.RoleAdmin)
	secret, _ := e.enrolTOTP(first)

	b := e.passwordStep(op.Email)
	if b.signedInAs() {
		t.Fatal("signed in by the password alone")
	}
	page := body(b.get("/login/second-factor"))
	if !strings.Contains(page, `<label for="code">`) || !strings.Contains(page, `autocomplete="one-time-code"`) {
		t.Fatalf("second-factor page:\n%s", page)
	}
	code := e.totpCode(secret)
	if res := b.secondFactor(code); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || !b.signedInAs() {
		t.Fatalf("right code: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if ev, _ := e.lastEvent(audit.ActionSignIn); !strings.Contains(string(ev.Detail), `"factor":"totp"`) {
		t.Fatalf("sign-in event detail %s", ev.Detail)
	}

	// The same code again, from another browser, is refused: a code works once.
	replay := e.passwordStep(op.Email)
	if res := replay.secondFactor(code); res.StatusCode != http.StatusUnauthorized || replay.signedInAs() {
		t.Fatalf("replayed code: %d", res.StatusCode)
	}
	if ev, _ := e.lastEvent(audit.ActionSecondFactor); ev.Outcome != audit.OutcomeFailed || !strings.Contains(string(ev.Detail), "wrong code") {
		t.Fatalf("replay audited as %+v %s", ev, ev.Detail)
	}
	e.clock.Add(30 * time.Second)
	if res := replay.secondFactor(e.totpCode(secret)); res.StatusCode != http.StatusSeeOther || !replay.signedInAs() {
		t.Fatalf("the next code: %d", res.StatusCode)
	}
	if e.auditContains(code) || e.auditContains(secret) {
		t.Fatal("the audit log contains the code or the secret")
	}
	// Without a pending password, the page sends to sign-in.
	if res := e.browser().get("/login/second-factor"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("second-factor page without a password: %d", res.StatusCode)
	}
}

func TestRecoveryCodeWorksOnceAndTheCountDrops(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	first, op := e.signedIn(operators.RoleSupport)
	_, codes := e.enrolTOTP(first)

	b := e.passwordStep(op.Email)
	typed := strings.ToUpper(codes[4])
	if res := b.secondFactor(typed); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d %s", res.StatusCode, body(res))
	}
	if page := body(b.get("/")); !strings.Contains(page, "You used a recovery code. 9 unused recovery codes left.") {
		t.Fatalf("no word of the codes left:\n%s", page)
	}
	if ev, _ := e.lastEvent(audit.ActionSecondFactor); ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.Detail), `"recovery_codes_left":9`) {
		t.Fatalf("recovery code audited as %s %s", ev.Outcome, ev.Detail)
	}
	again := e.passwordStep(op.Email)
	if res := again.secondFactor(codes[4]); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body(res), "already used") {
		t.Fatalf("the same recovery code again: %d", res.StatusCode)
	}
	if page := body(b.get("/account/security")); !strings.Contains(page, "9 unused recovery codes left") {
		t.Fatalf("security page:\n%s", page)
	}
	if e.auditContains(codes[4]) || e.auditContains(strings.ReplaceAll(codes[4], "-", "")) {
		t.Fatal("the audit log contains the recovery code")
	}
}

func TestWrongCodesLockLikeWrongPasswords(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	first, op := e.signedIn(operators.RoleAdmin)
	secret, _ := e.enrolTOTP(first)

	b := e.passwordStep(op.Email) // the password's attempt counts until the factor is given
	for i := 2; i <= operators.MaxFailures; i++ {
		res := b.secondFactor("000000")
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, res.StatusCode)
		}
	}
	if n := e.failedSignins(op.ID); n != operators.MaxFailures {
		t.Fatalf("failed_signins = %d, want %d", n, operators.MaxFailures)
	}
	if n := e.count(audit.ActionLockout); n != 1 {
		t.Fatalf("%d lockouts audited", n)
	}
	if res := b.secondFactor(e.totpCode(secret)); res.StatusCode != http.StatusUnauthorized || b.signedInAs() {
		t.Fatalf("the right code on a locked account: %d", res.StatusCode)
	}
	if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the right password on a locked account: %d", res.StatusCode)
	}
}

func TestPolicyAllForcesEnrolmentAfterThePasswordChange(t *testing.T) {
	e := newEnv(t, withTOTP("all"))
	op, err := e.ops.CreateWithOneTimePassword(context.Background(), "new@example.com", "New", operators.RoleSupport, e.hash)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if res := b.login(op.Email, testPassword); res.Header.Get("Location") != "/password" {
		t.Fatalf("first stop after sign-in: %q, want /password", res.Header.Get("Location"))
	}
	if res := b.get("/account/security"); res.Header.Get("Location") != "/password" {
		t.Fatalf("security page before the password change: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res := b.post("/password", url.Values{"current_password": {testPassword}, "new_password": {"a-brand-new-pass-1977"}, "confirm_password": {"a-brand-new-pass-1977"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d %s", res.StatusCode, body(res))
	}
	for _, path := range []string{"/", "/customers"} {
		if res := b.get(path); res.Header.Get("Location") != "/account/security?enrol=1" {
			t.Fatalf("%s before enrolment: %d %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	page := body(b.get("/account/security?enrol=1"))
	if !strings.Contains(page, `id="enrol-required"`) || !strings.Contains(page, `action="/logout"`) {
		t.Fatalf("enrolment page lacks the explanation or sign-out:\n%s", page)
	}
	e.enrolTOTP(b)
	if !b.signedInAs() {
		t.Fatal("still kept on enrolment after setting up the app")
	}
}

func TestPolicyAdminRequiresOnlyAdmins(t *testing.T) {
	e := newEnv(t, withTOTP("admin"))
	support := e.operator("s@example.com", operators.RoleSupport)
	admin := e.operator("a@example.com", operators.RoleAdmin)
	if res := e.browser().login(support.Email, testPassword); res.Header.Get("Location") != "/" {
		t.Fatalf("support: to %q", res.Header.Get("Location"))
	}
	b := e.browser()
	if res := b.login(admin.Email, testPassword); res.Header.Get("Location") != "/account/security?enrol=1" {
		t.Fatalf("admin: to %q", res.Header.Get("Location"))
	}
	// The app is the admin's only factor, so policy refuses removing it.
	e.enrolTOTP(b)
	page := body(b.get("/account/security"))
	if !strings.Contains(page, `id="totp-remove-blocked"`) {
		t.Fatalf("removal offered for the only factor:\n%s", page)
	}
	if res := b.post("/account/security/totp/remove", nil); res.StatusCode != http.StatusConflict {
		t.Fatalf("removing the only factor: %d", res.StatusCode)
	}
	if ok, _ := e.handlerTOTPEnrolled(admin.ID); !ok {
		t.Fatal("the only factor was removed")
	}
}

// handlerTOTPEnrolled reads whether the operator has a confirmed app.
func (e *env) handlerTOTPEnrolled(id int64) (bool, error) {
	var ok bool
	err := e.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM operator_totp WHERE operator_id = $1 AND confirmed_at IS NOT NULL)`, id).Scan(&ok)
	return ok, err
}
