package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

const (
	firefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	chromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)

// userAgent sends every request with a User-Agent, as a real browser does.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// browserAs is a browser that says it is ua, signed in as op.
func (e *env) browserAs(op operators.Operator, ua string) *browser {
	e.t.Helper()
	b := e.browser()
	b.client.Transport = userAgent{ua: ua, next: http.DefaultTransport}
	if res := b.login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %d", res.StatusCode)
	}
	return b
}

// refOf is the ref of the operator's newest session started with ua.
func (e *env) refOf(op operators.Operator, ua string) int64 {
	e.t.Helper()
	var ref int64
	err := e.pool.QueryRow(context.Background(), `SELECT ref FROM sessions WHERE operator_id = $1 AND user_agent = $2
		ORDER BY ref DESC LIMIT 1`, op.ID, ua).Scan(&ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// signedOut reports whether b's next page sends it to sign-in.
func signedOut(b *browser) bool {
	res := b.get("/")
	return res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
}

func endPath(ref int64) string { return "/account/sessions/" + strconv.FormatInt(ref, 10) + "/end" }

var endForm = regexp.MustCompile(`action="/account/sessions/(\d+)/end"`)

func TestSessionsPageListsAndEndsAnotherBrowser(t *testing.T) {
	e := newEnv(t)
	op := e.operator("sam@example.com", operators.RoleSupport)
	first := e.browserAs(op, firefoxWindows)
	second := e.browserAs(op, chromeLinux)
	secondRef := e.refOf(op, chromeLinux)

	res := first.get("/account/sessions")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sessions page: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{"<h1>Your sessions</h1>", "<caption>Active sessions (2)</caption>", "Firefox 128 on Windows",
		"Chrome 156 on Linux", "127.0.0.1", "This session", "Password", `title="` + chromeLinux + `"`, "End all other sessions"} {
		if !strings.Contains(page, want) {
			t.Errorf("sessions page lacks %q", want)
		}
	}
	forms := endForm.FindAllStringSubmatch(page, -1)
	if len(forms) != 1 || forms[0][1] != strconv.FormatInt(secondRef, 10) {
		t.Fatalf("end buttons for %v, want only the other session's ref %d", forms, secondRef)
	}
	for _, c := range second.client.Jar.Cookies(mustURL(e.srv.URL)) {
		if c.Name == "console_session" && strings.Contains(page, c.Value) {
			t.Fatal("the page shows a session cookie")
		}
	}

	res = first.post(endPath(secondRef), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/sessions" {
		t.Fatalf("end: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if !signedOut(second) {
		t.Fatal("the ended browser is still signed in")
	}
	if page := body(first.get("/account/sessions")); !strings.Contains(page, "Session ended: Chrome 156 on Linux at 127.0.0.1") ||
		strings.Contains(page, "Chrome 156 on Linux</span>") {
		t.Fatalf("after ending: %s", page)
	}
	if signedOut(first) {
		t.Fatal("ending another session signed this one out")
	}
	ev, ok := e.lastEvent(audit.ActionSessionEnd)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || ev.Actor.OperatorID != op.ID || ev.Target.ID != strconv.FormatInt(op.ID, 10) {
		t.Fatalf("audit: %+v", ev)
	}
	var after struct {
		Ended    int `json:"ended"`
		Sessions []struct {
			Ref      int64  `json:"ref"`
			ClientIP string `json:"client_ip"`
			Browser  string `json:"browser"`
		} `json:"ended_sessions"`
	}
	if err := json.Unmarshal(ev.After, &after); err != nil || after.Ended != 1 || after.Sessions[0].Ref != secondRef ||
		after.Sessions[0].ClientIP != "127.0.0.1" || after.Sessions[0].Browser != "Chrome 156 on Linux" {
		t.Fatalf("audit after: %s (%v)", ev.After, err)
	}
}

func TestAnotherOperatorsSessionCannotBeEnded(t *testing.T) {
	e := newEnv(t)
	mallory := e.operator("mallory@example.com", operators.RoleAdmin)
	victim := e.operator("victim@example.com", operators.RoleSupport)
	attacker := e.browserAs(mallory, firefoxWindows)
	target := e.browserAs(victim, chromeLinux)
	ref := e.refOf(victim, chromeLinux)

	if res := attacker.post(endPath(ref), nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("ending another operator's session: %d", res.StatusCode)
	}
	if signedOut(target) {
		t.Fatal("another operator's session ended")
	}
	ev, ok := e.lastEvent(audit.ActionSessionEnd)
	if !ok || ev.Outcome != audit.OutcomeFailed || ev.Actor.OperatorID != mallory.ID {
		t.Fatalf("refused attempt not audited as failed: %+v", ev)
	}
	if res := attacker.post("/account/sessions/not-a-number/end", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a malformed ref: %d", res.StatusCode)
	}
}

func TestEndAllOtherSessionsKeepsThisOne(t *testing.T) {
	e := newEnv(t)
	op := e.operator("ann@example.com", operators.RoleAuditor)
	this := e.browserAs(op, firefoxWindows)
	others := []*browser{e.browserAs(op, chromeLinux), e.browserAs(op, chromeLinux)}

	res := this.post("/account/sessions/others/end", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", res.StatusCode)
	}
	for i, b := range others {
		if !signedOut(b) {
			t.Fatalf("other browser %d still signed in", i)
		}
	}
	page := body(this.get("/account/sessions"))
	if !strings.Contains(page, "2 sessions ended.") || !strings.Contains(page, "No other browser is signed in as you.") {
		t.Fatalf("after ending others: %s", page)
	}
	ev, ok := e.lastEvent(audit.ActionSessionEnd)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.After), `"ended":2`) {
		t.Fatalf("audit: %+v %s", ev, ev.After)
	}
}

func TestEndingThisSessionSignsOut(t *testing.T) {
	e := newEnv(t)
	op := e.operator("bo@example.com", operators.RoleSupport)
	b := e.browserAs(op, firefoxWindows)
	res := b.post(endPath(e.refOf(op, firefoxWindows)), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?signed_out=1" {
		t.Fatalf("ending this session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if !signedOut(b) {
		t.Fatal("still signed in after ending this session")
	}
}

func TestAdminEndsAllSessionsOfAnOperator(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.signedIn(operators.RoleAdmin)
	op := e.operator("pat@example.com", operators.RoleSupport)
	pats := []*browser{e.browserAs(op, firefoxWindows), e.browserAs(op, chromeLinux)}
	path := "/operators/" + strconv.FormatInt(op.ID, 10) + "/sessions/end"

	// The operator themselves (not an admin) may not use the admin's route.
	if res := pats[0].post(path, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("support on the admin route: %d", res.StatusCode)
	}
	if ev, ok := e.lastEvent(audit.ActionAccessDenied); !ok || ev.Actor.OperatorID != op.ID {
		t.Fatalf("denial not audited: %+v", ev)
	}

	res := admin.post(path, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operators" {
		t.Fatalf("admin end all: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for i, b := range pats {
		if !signedOut(b) {
			t.Fatalf("browser %d of the operator still signed in", i)
		}
	}
	if page := body(admin.get("/operators")); !strings.Contains(page, "pat@example.com: 2 sessions ended.") {
		t.Fatal("no flash on Operators")
	}
	ev, ok := e.lastEvent(audit.ActionOperatorSessions)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || ev.Target.ID != strconv.FormatInt(op.ID, 10) ||
		!strings.Contains(string(ev.After), `"ended":2`) {
		t.Fatalf("audit: %+v %s", ev, ev.After)
	}
	if res := admin.post("/operators/999999/sessions/end", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown operator: %d", res.StatusCode)
	}
}

func TestSessionsPageNamesBrowsers(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ ua, want string }{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari 17 on macOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge 120 on Windows"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Chrome 120 on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "Safari 17 on iOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome 156 on Linux"},
		{"<script>alert(1)</script>", "Unknown browser"},
	}
	for i, tc := range cases {
		op := e.operator("ua"+strconv.Itoa(i)+"@example.com", operators.RoleSupport)
		page := body(e.browserAs(op, tc.ua).get("/account/sessions"))
		if !strings.Contains(page, ">"+tc.want+"</span>") {
			t.Errorf("%q: want %q on the page", tc.ua, tc.want)
		}
		if strings.Contains(page, "<script>alert") {
			t.Errorf("the User-Agent is not escaped")
		}
	}
}
