package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
)

// previewForm loads the settings, edits them and previews; it returns the confirm form
// a person would send, reason included.
func previewForm(t *testing.T, b *browser, key, value, reason string) url.Values {
	t.Helper()
	form := set(submission(t, body(b.get("/settings")), "/settings/preview"), key, value)
	res := b.post("/settings/preview", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %s", res.StatusCode, body(res))
	}
	confirm := submission(t, body(res), "/settings")
	confirm.Set("reason", reason)
	return confirm
}

func TestStepUpSettingsSaveAskedInPlace(t *testing.T) {
	e := newEnv(t, withTOTP("all"), func(d *handlers.Deps) { d.Identity.StepUpWindow = 5 * time.Minute })
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin) // kept on enrolment until the app is set up
	secret, _ := e.enrolTOTP(b)

	// Within the window of the enrolment's factor: no prompt.
	if res := b.post("/settings", previewForm(t, b, "pinConfirmationValidInSeconds", "600", "TICKET-1")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save within the window: %d %s", res.StatusCode, body(res))
	}
	e.clock.Add(6 * time.Minute)
	sets := e.sim.RequestCount("settings.set")
	confirm := previewForm(t, b, "pinConfirmationValidInSeconds", "720", "TICKET-2: longer PINs")
	res := b.post("/settings", confirm)
	prompt := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(prompt, `<label for="step-up-code">`) || !strings.Contains(prompt, `name="_step_up_code"`) {
		t.Fatalf("save after the window: %d, no prompt:\n%s", res.StatusCode, prompt)
	}
	if n := e.sim.RequestCount("settings.set") - sets; n != 0 {
		t.Fatalf("the prompt sent %d writes", n)
	}
	again := submission(t, prompt, "/settings")
	for k, vs := range confirm {
		if k == "_csrf" {
			continue
		}
		if strings.Join(again[k], "\x00") != strings.Join(vs, "\x00") {
			t.Fatalf("field %q came back as %q, was sent as %q", k, again[k], vs)
		}
	}
	if len(again["_csrf"]) != 1 {
		t.Fatalf("the prompt carries %d CSRF tokens", len(again["_csrf"]))
	}

	again.Set("_step_up_code", "000000")
	if res := b.post("/settings", again); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body(res), `role="alert"`) {
		t.Fatalf("wrong code: %d", res.StatusCode)
	}
	if n := e.sim.RequestCount("settings.set") - sets; n != 0 {
		t.Fatal("a wrong code saved the settings")
	}
	if ev, _ := e.lastEvent(audit.ActionStepUp); ev.Outcome != audit.OutcomeFailed {
		t.Fatalf("wrong code audited as %q", ev.Outcome)
	}

	code := e.totpCode(secret)
	again.Set("_step_up_code", code)
	if res := b.post("/settings", again); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings" {
		t.Fatalf("right code: %d %s", res.StatusCode, body(res))
	}
	if got := string(e.sim.Settings()["pinConfirmationValidInSeconds"]); got != "720" {
		t.Fatalf("saved %s, want 720", got)
	}
	ev, _ := e.lastEvent(audit.ActionStepUp)
	if ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.Detail), `"factor":"totp"`) {
		t.Fatalf("step-up audited as %s %s", ev.Outcome, ev.Detail)
	}
	upd, _ := e.lastEvent(audit.ActionSettingsUpdate)
	if !strings.Contains(string(upd.Reason)+string(upd.Detail), "TICKET-2") && !e.auditContains("TICKET-2: longer PINs") {
		t.Fatal("the reason typed before the prompt did not reach the save")
	}
	if e.auditContains(code) || e.auditContains(secret) {
		t.Fatal("the audit log contains the code or the secret")
	}
	// The factor just proved opens a new window.
	e.clock.Add(time.Minute)
	if res := b.post("/settings", previewForm(t, b, "pinConfirmationValidInSeconds", "780", "TICKET-3")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save right after the step-up: %d", res.StatusCode)
	}
}

func TestStepUpHTMXPromptIsADialogOverTheForm(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	e.enrolTOTP(b)
	e.clock.Add(10 * time.Minute)
	confirm := previewForm(t, b, "pinConfirmationValidInSeconds", "720", "TICKET-4")
	res := b.do(http.MethodPost, "/settings", strings.NewReader(confirm.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
	page := body(res)
	if res.StatusCode != http.StatusOK || res.Header.Get("HX-Retarget") != "body" || res.Header.Get("HX-Reswap") != "beforeend" {
		t.Fatalf("htmx prompt: %d, retarget %q, reswap %q", res.StatusCode, res.Header.Get("HX-Retarget"), res.Header.Get("HX-Reswap"))
	}
	if !strings.HasPrefix(strings.TrimSpace(page), "<dialog open") || strings.Contains(page, "<html") ||
		!strings.Contains(page, `aria-labelledby="step-up-title"`) || !strings.Contains(page, `value="TICKET-4"`) {
		t.Fatalf("htmx prompt is not a dialog fragment with the form's fields:\n%s", page)
	}
}

// A customer edit carries a one-time token the handler claims: the prompt comes before
// the handler, so the token repeated in it is still good, and the edit is sent once.
func TestStepUpKeepsTheFormsOneTimeToken(t *testing.T) {
	rec := &recordingProfiles{}
	e := newEnv(t, withTOTP("none"), func(d *handlers.Deps) { rec.profilesAPI = d.Profiles; d.Profiles = rec })
	b, _ := e.signedIn(operators.RoleSupport)
	secret, _ := e.enrolTOTP(b)
	e.clock.Add(10 * time.Minute)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("city", "Gdańsk")
	form.Set("reason", "TICKET-5")
	prompt := body(b.post(path, form))
	again := submission(t, prompt, path)
	if again.Get("nonce") == "" || again.Get("nonce") != form.Get("nonce") {
		t.Fatalf("the prompt lost the form's token:\n%s", prompt)
	}
	again.Set("_step_up_code", e.totpCode(secret))
	if res := b.post(path, again); res.StatusCode != http.StatusOK || !strings.Contains(body(res), "Gdańsk") {
		t.Fatalf("edit after the step-up: %d", res.StatusCode)
	}
	if len(rec.sent) != 1 || strings.Contains(rec.sent[0], "_step_up") {
		t.Fatalf("sent %v", rec.sent)
	}
	if res := b.post(path, again); res.StatusCode != http.StatusConflict || len(rec.sent) != 1 {
		t.Fatalf("the same form again: %d, %d sent", res.StatusCode, len(rec.sent))
	}
}

// An operator without a second factor, under a policy that requires none, has nothing to
// step up with and is not asked.
func TestStepUpNotAskedWithoutAFactorUnderPolicyNone(t *testing.T) {
	e := newEnv(t, withTOTP("none"))
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	e.clock.Add(20 * time.Minute) // long past the step-up window, within the idle timeout
	if res := b.post("/settings", previewForm(t, b, "pinConfirmationValidInSeconds", "600", "TICKET-6")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
}
