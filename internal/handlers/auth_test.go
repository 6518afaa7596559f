package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
)

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	res := b.get("/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body(res), op.Name) {
		t.Fatalf("home after sign-in: %d", res.StatusCode)
	}
	if ev, ok := e.lastEvent(audit.ActionSignIn); !ok || ev.Actor.OperatorID != op.ID || ev.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("sign-in not audited: %+v", ev)
	}
	cookies := b.client.Jar.Cookies(mustURL(e.srv.URL))

	res = b.post("/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?signed_out=1" {
		t.Fatalf("logout: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, ok := e.lastEvent(audit.ActionSignOut); !ok {
		t.Fatal("sign-out not audited")
	}
	// Replaying the old cookie after sign-out lands on the sign-in page.
	replay := e.browser()
	replay.client.Jar.SetCookies(mustURL(e.srv.URL), cookies)
	res = replay.get("/")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("replayed cookie after sign-out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestSignInRotatesSessionID(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	before := b.client.Jar.Cookies(mustURL(e.srv.URL))
	admin := e.operator("second@example.com", operators.RoleAdmin)
	if res := b.login(admin.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", res.StatusCode)
	}
	old := e.browser()
	old.client.Jar.SetCookies(mustURL(e.srv.URL), before)
	if res := old.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session id from before sign-in still works: %d", res.StatusCode)
	}
}

func TestSignInFailuresLookTheSame(t *testing.T) {
	e := newEnv(t)
	op := e.operator("ann@example.com", operators.RoleSupport)
	disabled := e.operator("dis@example.com", operators.RoleSupport)
	if _, err := e.ops.SetDisabled(context.Background(), disabled.ID, true); err != nil {
		t.Fatal(err)
	}
	var answers []string
	for _, try := range []struct{ email, pw string }{
		{"nobody@example.com", testPassword},
		{op.Email, "wrong-password-123"},
		{disabled.Email, testPassword},
	} {
		res := e.browser().login(try.email, try.pw)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", try.email, res.StatusCode)
		}
		b := body(res)
		i := strings.Index(b, `id="login-error">`)
		if i < 0 {
			t.Fatalf("%s: no error message", try.email)
		}
		answers = append(answers, b[i:i+120])
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Fatalf("sign-in failures differ:\n%s\n%s\n%s", answers[0], answers[1], answers[2])
	}
	n := 0
	for _, ev := range e.events() {
		if ev.Action == audit.ActionSignInFailed {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d failed sign-ins audited, want 3", n)
	}
}

func TestLockoutFromAnyIP(t *testing.T) {
	e := newEnv(t)
	op := e.operator("lock@example.com", operators.RoleAdmin)
	for i := 0; i < operators.MaxFailures; i++ {
		e.browser().login(op.Email, "wrong-password-123")
	}
	if _, ok := e.lastEvent(audit.ActionLockout); !ok {
		t.Fatal("lockout not audited")
	}
	if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("right password during lockout: %d, want 401", res.StatusCode)
	}
	e.clock.Add(operators.LockDuration + time.Second)
	if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after the lock expired: %d", res.StatusCode)
	}
}

func TestSignInRateLimitedPerIPAndForgedXFFIgnored(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.SignInRate = 3 })
	b := e.browser()
	for i := 0; i < 3; i++ {
		b.login("nobody@example.com", "whatever-password")
	}
	// A forged X-Forwarded-For from an untrusted peer neither escapes the bucket nor is logged.
	form := url.Values{"email": {"nobody@example.com"}, "password": {"x"}, "_csrf": {b.csrf()}}
	res := b.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "X-Forwarded-For": {"203.0.113.9"}})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th attempt from one IP: %d, want 429", res.StatusCode)
	}
	ev, _ := e.lastEvent(audit.ActionSignInFailed)
	if ev.ClientIP != "127.0.0.1" {
		t.Fatalf("audited client IP %q, want the connection's 127.0.0.1", ev.ClientIP)
	}
	if strings.Contains(e.logs.String(), "203.0.113.9") {
		t.Fatal("forged X-Forwarded-For reached the log")
	}
}

func TestCSRFAndCrossSiteRefused(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAdmin)
	count := func() int { ops, _ := e.ops.List(context.Background()); return len(ops) }
	before := count()
	add := url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"support"}}

	res := b.do(http.MethodPost, "/operators", strings.NewReader(add.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d, want 403", res.StatusCode)
	}
	add.Set("_csrf", b.csrf())
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		if res := b.do(http.MethodPost, "/operators", strings.NewReader(add.Encode()), h); res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST %v: %d, want 403", h, res.StatusCode)
		}
	}
	// A wrong token, and an empty token matching an empty cookie, from the same origin.
	for _, tc := range []struct{ cookie, sent string }{{b.csrf(), otherFirst(b.csrf())}, {"", ""}} {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"},
			"Cookie": {"console_csrf=" + tc.cookie}}
		form := url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"support"}, "_csrf": {tc.sent}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/operators", strings.NewReader(form.Encode()))
		req.Header = h
		for _, c := range b.client.Jar.Cookies(mustURL(e.srv.URL)) {
			if c.Name != "console_csrf" {
				req.AddCookie(c)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with cookie %q and token %q: %d, want 403", tc.cookie, tc.sent, res.StatusCode)
		}
	}
	if count() != before {
		t.Fatal("a refused request changed something")
	}
	if res := b.post("/operators", add); res.StatusCode != http.StatusCreated {
		t.Fatalf("same-site POST with token: %d: %s", res.StatusCode, body(res))
	}
}

// otherFirst is token with its first character changed, so that it is certainly wrong.
func otherFirst(token string) string {
	if strings.HasPrefix(token, "x") {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}

func TestHTMXWithoutSessionGetsHXRedirect(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	e.clock.Add(31 * time.Minute)
	res := b.htmxGet("/customers")
	if res.Header.Get("HX-Redirect") != "/login?expired=1" || strings.Contains(body(res), "<form") {
		t.Fatalf("expired htmx request: %d HX-Redirect=%q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
}

func TestDisableAndRoleChangeEndSessions(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	victim, op := e.signedIn(operators.RoleSupport)
	if res := victim.get("/customers"); res.StatusCode != http.StatusOK {
		t.Fatalf("support on /customers: %d", res.StatusCode)
	}
	if res := admin.post("/operators/"+itoa(op.ID)+"/role", url.Values{"role": {"auditor"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("role change: %d %s", res.StatusCode, body(res))
	}
	if res := victim.get("/customers"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("session survived a role change: %d", res.StatusCode)
	}
	if ev, ok := e.lastEvent(audit.ActionOperatorRoleChange); !ok || ev.Outcome != audit.OutcomeSucceeded || ev.IntentSeq == 0 {
		t.Fatalf("role change not audited as intent+outcome: %+v", ev)
	}

	victim2, op2 := e.signedIn(operators.RoleSupport)
	if res := admin.post("/operators/"+itoa(op2.ID)+"/disabled", url.Values{"disabled": {"true"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	page := body(admin.get("/operators"))
	if !strings.Contains(page, op2.Email+": Operator disabled; their open sessions have ended.") {
		t.Fatalf("the next page does not carry the flash message:\n%s", page)
	}
	if again := body(admin.get("/operators")); strings.Contains(again, "Operator disabled;") {
		t.Fatal("the flash message was shown twice")
	}
	if res := victim2.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("session survived disabling: %d", res.StatusCode)
	}
}

// A change made straight in the operators table, which ends no session, still ends the
// operator's session at the next request.
func TestSessionEndsWhenOperatorChangedInTheTable(t *testing.T) {
	for _, change := range []string{"disabled = true", "role = 'admin'"} {
		e := newEnv(t)
		b, op := e.signedIn(operators.RoleSupport)
		if res := b.get("/customers"); res.StatusCode != http.StatusOK {
			t.Fatalf("before %s: %d", change, res.StatusCode)
		}
		if _, err := e.pool.Exec(context.Background(), `UPDATE operators SET `+change+` WHERE id = $1`, op.ID); err != nil {
			t.Fatal(err)
		}
		if res := b.get("/customers"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("session survived %s: %d", change, res.StatusCode)
		}
		var left int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE operator_id = $1`, op.ID).Scan(&left); err != nil || left != 0 {
			t.Fatalf("after %s: %d sessions left (%v)", change, left, err)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	res := e.browser().get("/login")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := res.Header.Get(k); !strings.Contains(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// An operator who types their password into the e-mail field gets the usual answer, but
// what they typed is neither kept in the audit log nor shown again in the form.
func TestPasswordTypedAsEmailIsNotStored(t *testing.T) {
	e := newEnv(t)
	e.operator("typo@example.com", operators.RoleSupport)
	b := e.browser()
	const typed = "Correct-Horse-Battery-9"
	res := b.login(typed, "")
	page := body(res)
	if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want a refusal", res.StatusCode)
	}
	if strings.Contains(page, typed) {
		t.Fatal("the sign-in page shows what was typed as the e-mail")
	}
	ev, ok := e.lastEvent(audit.ActionSignInFailed)
	if !ok || ev.Actor.Email != "(not an e-mail address)" || ev.Target.Label != "(not an e-mail address)" {
		t.Fatalf("failed sign-in recorded as %q / %q", ev.Actor.Email, ev.Target.Label)
	}
	var stored int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE strpos(concat_ws(' ', actor_email, target_label, detail::text), $1) > 0`, typed).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatalf("%d audit rows hold what was typed", stored)
	}
	// A real address is still recorded, so attacks on an account remain visible.
	b.login("typo@example.com", "wrong-password-1")
	if ev, _ := e.lastEvent(audit.ActionSignInFailed); ev.Actor.Email != "typo@example.com" {
		t.Fatalf("failed sign-in for an address recorded as %q", ev.Actor.Email)
	}
	// An operator whose address has no dotted domain (the command line accepts one) is
	// still named in full: the name matched an operator, so it is not a password.
	e.operator("desk@localhost", operators.RoleSupport)
	b.login("desk@localhost", "wrong-password-2")
	if ev, _ := e.lastEvent(audit.ActionSignInFailed); ev.Actor.Email != "desk@localhost" || ev.Target.Label != "desk@localhost" {
		t.Fatalf("failed sign-in of operator desk@localhost recorded as %q / %q", ev.Actor.Email, ev.Target.Label)
	}
}
