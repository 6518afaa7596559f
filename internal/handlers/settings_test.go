package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// settingsNonDefault is a settings object in which every key, the two the console does not
// model included, holds a value other than its default, so a key reset by a write shows.
// (No <, > or &: the simulator's GET HTML-escapes them, so its stored bytes would differ
// from what it serves even untouched; TestSettingsKeepsUnknownValuesAndKeysByteExact
// covers those characters against a byte-faithful fake.)
var settingsNonDefault = map[string]json.RawMessage{
	"registrationType":                    json.RawMessage(`"REQUIRE_PIN_CONFIRMATION"`),
	"tokenLifetimeInSeconds":              json.RawMessage(`7200`),
	"confirmationRedirectLink":            json.RawMessage(`"https://shop.example.com/welcome?from=mail"`),
	"voucherPoolUuid":                     json.RawMessage(`"3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b"`),
	"allowOverwriteCustomIdentify":        json.RawMessage(`true`),
	"allowEmailChangeFromWebForm":         json.RawMessage(`true`),
	"pinConfirmationType":                 json.RawMessage(`"EVERYONE"`),
	"pinConfirmationLength":               json.RawMessage(`8`),
	"pinConfirmationValidInSeconds":       json.RawMessage(`900`),
	"allowPinResendFromDifferentDeviceId": json.RawMessage(`true`),
	"passwordResetMailSubject":            json.RawMessage(`"Zresetuj hasło — \"sklep\""`),
	"maxLoginAttempts":                    json.RawMessage(`9`),
}

func seedSettings(t *testing.T, e *env, s map[string]json.RawMessage) {
	t.Helper()
	if errs, _ := e.sim.SetSettings(s); len(errs) > 0 {
		t.Fatalf("seed settings: %v", errs)
	}
}

var (
	reForm     = regexp.MustCompile(`(?s)<form[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>`)
	reInput    = regexp.MustCompile(`<input\b[^>]*>`)
	reSelect   = regexp.MustCompile(`(?s)<select\b([^>]*)>(.*?)</select>`)
	reOption   = regexp.MustCompile(`<option\b([^>]*)>`)
	reTextarea = regexp.MustCompile(`(?s)<textarea\b([^>]*)>(.*?)</textarea>`)
	reAttr     = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?`)
)

func attrs(tag string) map[string]string {
	out := map[string]string{}
	tag = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(tag, "<input"), "<option"), "<")
	for _, m := range reAttr.FindAllStringSubmatch(strings.TrimSuffix(tag, ">"), -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// submission is what a browser would send for the first form posting to action: hidden
// and text inputs, ticked checkboxes, each select's chosen option and textareas.
func submission(t *testing.T, page, action string) url.Values {
	t.Helper()
	for _, f := range reForm.FindAllStringSubmatch(page, -1) {
		if html.UnescapeString(f[1]) != action {
			continue
		}
		form := url.Values{}
		inner := f[2]
		for _, tag := range reInput.FindAllString(inner, -1) {
			a := attrs(tag)
			if a["type"] == "checkbox" {
				if _, checked := a["checked"]; !checked {
					continue
				}
			}
			form.Add(a["name"], a["value"])
		}
		for _, m := range reSelect.FindAllStringSubmatch(inner, -1) {
			name, chosen := attrs(m[1])["name"], ""
			for i, o := range reOption.FindAllStringSubmatch(m[2], -1) {
				oa := attrs(o[1])
				if _, sel := oa["selected"]; sel || i == 0 {
					chosen = oa["value"]
				}
			}
			form.Add(name, chosen)
		}
		for _, m := range reTextarea.FindAllStringSubmatch(inner, -1) {
			form.Add(attrs(m[1])["name"], html.UnescapeString(m[2]))
		}
		return form
	}
	t.Fatalf("no form posting to %s in:\n%s", action, page)
	return nil
}

// set replaces an input's value as a person typing or choosing would; for a checkbox
// ("true"/"false") the hidden false stays first.
func set(form url.Values, key, value string) url.Values {
	out := maps.Clone(form)
	if vs := form[key]; len(vs) > 0 && vs[0] == "false" && (value == "true" || value == "false") {
		out[key] = []string{"false"}
		if value == "true" {
			out[key] = append(out[key], "true")
		}
		return out
	}
	out.Set(key, value)
	return out
}

// previewAndSave loads the form, makes the edits, previews and confirms; it returns the
// final response.
func previewAndSave(t *testing.T, b *browser, edits map[string]string, reason string) *http.Response {
	t.Helper()
	res := b.get("/settings")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /settings: %d %s", res.StatusCode, body(res))
	}
	form := submission(t, body(res), "/settings/preview")
	for k, v := range edits {
		form = set(form, k, v)
	}
	return confirmPreview(t, b, form, reason)
}

func confirmPreview(t *testing.T, b *browser, form url.Values, reason string) *http.Response {
	t.Helper()
	res := b.post("/settings/preview", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %s", res.StatusCode, body(res))
	}
	confirm := submission(t, body(res), "/settings")
	confirm.Set("reason", reason)
	return b.post("/settings", confirm)
}

func TestSettingsEditChangesOnlyThatKey(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, op := e.signedIn(operators.RoleAdmin)
	edits := []struct{ key, input, want string }{
		{"pinConfirmationValidInSeconds", "600", `600`},
		{"registrationType", "AUTOMATIC", `"AUTOMATIC"`},
		{"pinConfirmationType", "ON_CONFLICT_WITH_EXTERNAL_ACCOUNT", `"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT"`},
		{"pinConfirmationLength", "5", `5`},
		{"tokenLifetimeInSeconds", "86400", `86400`},
		{"confirmationRedirectLink", "", `null`},
		{"voucherPoolUuid", "", `null`},
		{"allowOverwriteCustomIdentify", "false", `false`},
		{"allowEmailChangeFromWebForm", "false", `false`},
		{"allowPinResendFromDifferentDeviceId", "false", `false`},
	}
	for _, ed := range edits {
		t.Run(ed.key, func(t *testing.T) {
			before := e.sim.Settings()
			sets := e.sim.RequestCount("settings.set")
			res := previewAndSave(t, b, map[string]string{ed.key: ed.input}, "TICKET-1 change "+ed.key)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings" {
				t.Fatalf("save: %d %s", res.StatusCode, body(res))
			}
			after := e.sim.Settings()
			if len(after) != len(before) {
				t.Fatalf("keys %d → %d", len(before), len(after))
			}
			for k, v := range before {
				switch {
				case k == ed.key && string(after[k]) != ed.want:
					t.Errorf("%s = %s, want %s", k, after[k], ed.want)
				case k != ed.key && !bytes.Equal(after[k], v):
					t.Errorf("%s changed: %s → %s", k, v, after[k])
				}
			}
			if n := e.sim.RequestCount("settings.set") - sets; n != 1 {
				t.Errorf("%d writes, want 1", n)
			}
			outcome, ok := e.lastEvent(audit.ActionSettingsUpdate)
			if !ok || outcome.Outcome != audit.OutcomeSucceeded || outcome.IntentSeq == 0 || outcome.Actor.OperatorID != op.ID {
				t.Fatalf("outcome: %+v", outcome)
			}
			intent, err := e.audit.Get(context.Background(), outcome.IntentSeq)
			if err != nil {
				t.Fatal(err)
			}
			var d struct{ ChangedKeys []string }
			if json.Unmarshal(intent.Detail, &d) != nil || !slices.Equal(d.ChangedKeys, []string{ed.key}) {
				t.Errorf("intent detail %s", intent.Detail)
			}
			if intent.Reason != "TICKET-1 change "+ed.key || intent.Before == nil || intent.After == nil {
				t.Errorf("intent: reason %q before %s after %s", intent.Reason, intent.Before, intent.After)
			}
			if !strings.Contains(string(outcome.Detail), `"readBack":"matches what was sent"`) {
				t.Errorf("outcome detail %s", outcome.Detail)
			}
		})
	}
}

func TestSettingsPageShowsEverySettingAccessibly(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	res := b.get("/settings")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, page)
	}
	for _, want := range []string{
		"Other settings (kept as they are)", "passwordResetMailSubject", "maxLoginAttempts",
		"PINs issued from now on expire after this many seconds", "900 seconds (15 minutes)",
		`value="EVERYONE" selected`, "Preview changes",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	checkAccessible(t, page)
	if ev, ok := e.lastEvent(audit.ActionSettingsView); !ok || ev.Outcome != audit.OutcomeSucceeded {
		t.Error("view not audited")
	}
}

// checkAccessible checks one <h1>, a <label for> for every visible control, and that
// every aria-describedby id exists.
func checkAccessible(t *testing.T, page string) {
	t.Helper()
	if n := strings.Count(page, "<h1"); n != 1 {
		t.Errorf("%d <h1>", n)
	}
	controls := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`).FindAllString(page, -1)
	for _, tag := range controls {
		a := attrs(strings.TrimPrefix(strings.TrimPrefix(tag, "<select"), "<textarea"))
		if a["type"] == "hidden" {
			continue
		}
		if a["id"] == "" || !strings.Contains(page, `<label for="`+a["id"]+`"`) {
			t.Errorf("no label for %s", tag)
		}
		for _, id := range strings.Fields(a["aria-describedby"]) {
			if !strings.Contains(page, `id="`+id+`"`) {
				t.Errorf("%s: aria-describedby %s points nowhere", a["id"], id)
			}
		}
	}
}

// fakeSettings is a Synerise settings API holding an object the simulator would refuse:
// an unknown registration type and a key Synerise itself may add later.
type fakeSettings struct {
	mu   sync.Mutex
	cur  []byte
	sent [][]byte
}

func (f *fakeSettings) Get(context.Context) (*synerise.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s synerise.Settings
	err := json.Unmarshal(f.cur, &s)
	return &s, err
}

func (f *fakeSettings) Set(_ context.Context, s *synerise.Settings) (*synerise.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := s.MarshalJSON()
	f.sent = append(f.sent, b)
	f.cur = b
	return s.Clone(), nil
}

func TestSettingsKeepsUnknownValuesAndKeysByteExact(t *testing.T) {
	const original = `{"registrationType":"REQUIRE_SOMETHING_NEW","futureFlag":{"b": 1.50,"a":[true,null]},` +
		`"pinConfirmationLength":6,"pinConfirmationValidInSeconds":300,"note":"\u00e9 <b>&"}`
	fake := &fakeSettings{cur: []byte(original)}
	e := newEnv(t, func(d *handlers.Deps) { d.Settings = fake })
	b, _ := e.signedIn(operators.RoleAdmin)
	res := b.get("/settings")
	page := body(res)
	if !strings.Contains(page, `value="REQUIRE_SOMETHING_NEW" selected`) || !strings.Contains(page, "not known to this console") {
		t.Fatalf("unknown registration type not kept as the selected option:\n%s", page)
	}
	form := set(submission(t, page, "/settings/preview"), "pinConfirmationLength", "8")
	res = b.post("/settings/preview", form)
	preview := body(res)
	if res.StatusCode != http.StatusOK || strings.Contains(preview, "Registration type") {
		t.Fatalf("preview %d (the untouched registration type must not be a change):\n%s", res.StatusCode, preview)
	}
	confirm := submission(t, preview, "/settings")
	confirm.Set("reason", "longer PINs")
	if res = b.post("/settings", confirm); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	want := strings.Replace(original, `"pinConfirmationLength":6`, `"pinConfirmationLength":8`, 1)
	if len(fake.sent) != 1 || string(fake.sent[0]) != want {
		t.Fatalf("sent\n%s\nwant\n%s", fake.sent, want)
	}
}

func TestSettingsNoChangeWritesNothing(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAdmin)
	form := submission(t, body(b.get("/settings")), "/settings/preview")
	res := b.post("/settings/preview", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%d %s", res.StatusCode, body(res))
	}
	if n := e.sim.RequestCount("settings.set"); n != 0 {
		t.Errorf("%d writes", n)
	}
}

func TestSettingsValidationWritesNothing(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	before := e.sim.Settings()
	tests := []struct{ key, input, msg string }{
		{"pinConfirmationLength", "3", "from 4 to 12"},
		{"pinConfirmationLength", "6.5", "whole number"},
		{"pinConfirmationValidInSeconds", "86401", "from 30 to 86400"},
		{"tokenLifetimeInSeconds", "0", "from 60 to 31536000"},
		{"tokenLifetimeInSeconds", "abc", "whole number"},
		{"confirmationRedirectLink", "http://shop.example.com/", "https"},
		{"confirmationRedirectLink", "javascript:alert(1)", "https"},
		{"confirmationRedirectLink", "/relative", "full link"},
		{"voucherPoolUuid", "not-a-uuid", "UUID"},
		{"registrationType", "EVERYTHING", "listed options"},
		{"pinConfirmationType", "SOMETIMES", "listed options"},
		{"allowOverwriteCustomIdentify", "maybe", "Tick or untick"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.input, func(t *testing.T) {
			form := submission(t, body(b.get("/settings")), "/settings/preview")
			form.Set(tt.key, tt.input)
			res := b.post("/settings/preview", form)
			page := body(res)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422", res.StatusCode)
			}
			if !strings.Contains(page, `id="`+tt.key+`-error"`) || !strings.Contains(page, tt.msg) {
				t.Errorf("no field error %q for %s", tt.msg, tt.key)
			}
			if !strings.Contains(page, `aria-invalid="true" aria-describedby="`+tt.key+`-key `+tt.key+`-current `+tt.key+`-help `+tt.key+`-error"`) {
				t.Errorf("error not linked to the input")
			}
			if tt.key != "allowOverwriteCustomIdentify" && !strings.Contains(page, html.EscapeString(tt.input)) {
				t.Errorf("input %q not kept", tt.input)
			}
			checkAccessible(t, page)
		})
	}
	t.Run("reason required and bounded", func(t *testing.T) {
		form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "pinConfirmationLength", "10")
		for _, reason := range []string{"", "   ", strings.Repeat("x", 501), "bad\x00byte"} {
			res := confirmPreview(t, b, form, reason)
			if page := body(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="reason-error"`) {
				t.Errorf("reason %q: %d", reason[:min(len(reason), 10)], res.StatusCode)
			}
		}
	})
	t.Run("tampered confirmation", func(t *testing.T) {
		form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "pinConfirmationLength", "10")
		confirm := submission(t, body(b.post("/settings/preview", form)), "/settings")
		confirm.Set("reason", "x")
		confirm.Set("new.pinConfirmationLength", "99")
		if res := b.post("/settings", confirm); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("tampered new value: %d", res.StatusCode)
		}
		confirm.Set("new.pinConfirmationLength", "10")
		confirm.Set("fingerprint", "")
		if res := b.post("/settings", confirm); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("no fingerprint: %d", res.StatusCode)
		}
	})
	if n := e.sim.RequestCount("settings.set"); n != 0 {
		t.Errorf("%d writes after invalid input, want 0", n)
	}
	if !maps.EqualFunc(before, e.sim.Settings(), func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Error("settings changed")
	}
	if _, ok := e.lastEvent(audit.ActionSettingsUpdate); ok {
		t.Error("a settings.update was audited")
	}
}

func TestSettingsConflictThenReapply(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	ann, _ := e.signedIn(operators.RoleAdmin)
	bob, _ := e.signedIn(operators.RoleAdmin)
	annForm := submission(t, body(ann.get("/settings")), "/settings/preview")
	bobForm := submission(t, body(bob.get("/settings")), "/settings/preview")

	if res := confirmPreview(t, ann, set(annForm, "pinConfirmationLength", "10"), "ann"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ann: %d %s", res.StatusCode, body(res))
	}
	afterAnn := e.sim.Settings()
	sets := e.sim.RequestCount("settings.set")
	res := confirmPreview(t, bob, set(bobForm, "tokenLifetimeInSeconds", "3600"), "bob")
	page := body(res)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("bob: %d, want 409 conflict\n%s", res.StatusCode, page)
	}
	for _, want := range []string{
		"The settings changed while you were editing", "Nothing was written",
		"7200 seconds (2 hours)", "3600 seconds (1 hour)", // token lifetime: loaded and now, his change
		"Other settings changed meanwhile", "8 digits", "10 digits", // ann's change
		"Preview my change on the current values",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("conflict view lacks %q", want)
		}
	}
	if e.sim.RequestCount("settings.set") != sets || !bytes.Equal(e.sim.Settings()["pinConfirmationLength"], []byte("10")) ||
		!bytes.Equal(e.sim.Settings()["tokenLifetimeInSeconds"], afterAnn["tokenLifetimeInSeconds"]) {
		t.Fatal("the conflicting save wrote")
	}
	refused, ok := e.lastEvent(audit.ActionSettingsUpdate)
	if !ok || refused.Outcome != audit.OutcomeFailed || refused.IntentSeq != 0 || refused.Reason != "bob" ||
		!strings.Contains(string(refused.Detail), `"errorKind":"conflict"`) ||
		!strings.Contains(string(refused.Detail), `"changedKeys":["tokenLifetimeInSeconds"]`) ||
		!strings.Contains(string(refused.Before), `"pinConfirmationLength":10`) {
		t.Fatalf("the refused save is not recorded as such: %+v", refused)
	}
	if history := body(bob.get("/settings/history")); !strings.Contains(history, "another change had reached Synerise since the settings were loaded") {
		t.Errorf("history does not show the refused save:\n%s", history)
	}

	reapply := submission(t, page, "/settings/preview")
	res = bob.post("/settings/preview", reapply)
	preview := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(preview, "Customer sign-in lifetime") || strings.Contains(preview, "PIN length") {
		t.Fatalf("re-apply preview %d:\n%s", res.StatusCode, preview)
	}
	confirm := submission(t, preview, "/settings")
	if confirm.Get("reason") != "bob" {
		t.Errorf("reason not carried: %q", confirm.Get("reason"))
	}
	if res = bob.post("/settings", confirm); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-apply save: %d %s", res.StatusCode, body(res))
	}
	final := e.sim.Settings()
	if string(final["pinConfirmationLength"]) != "10" || string(final["tokenLifetimeInSeconds"]) != "3600" {
		t.Fatalf("a change was lost: %s %s", final["pinConfirmationLength"], final["tokenLifetimeInSeconds"])
	}
	for k, v := range settingsNonDefault {
		if k != "pinConfirmationLength" && k != "tokenLifetimeInSeconds" && !bytes.Equal(final[k], v) {
			t.Errorf("%s changed: %s → %s", k, v, final[k])
		}
	}
}

// rawPost posts a form without the test helpers' t.Fatal, for use in goroutines.
func rawPost(b *browser, path string, form url.Values) (int, string, error) {
	form.Set("_csrf", b.csrf())
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	return res.StatusCode, body(res), nil
}

func TestSettingsConcurrentConfirmsAreSerialised(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	// A slow write keeps the first save inside its read-modify-write while the second
	// arrives: without the lock both would read the same settings and the second write
	// would reset the first one's key.
	e.sim.SetFault("settings.set", simulator.Fault{Latency: 400 * time.Millisecond})
	admins := make([]*browser, 2)
	confirms := make([]url.Values, 2)
	edits := []struct{ key, value string }{{"pinConfirmationLength", "11"}, {"tokenLifetimeInSeconds", "600"}}
	for i, ed := range edits {
		admins[i], _ = e.signedIn(operators.RoleAdmin)
		admins[i].csrf()
		form := set(submission(t, body(admins[i].get("/settings")), "/settings/preview"), ed.key, ed.value)
		confirms[i] = submission(t, body(admins[i].post("/settings/preview", form)), "/settings")
		confirms[i].Set("reason", "race "+ed.key)
	}
	if confirms[0].Get("fingerprint") != confirms[1].Get("fingerprint") {
		t.Fatal("the two admins loaded different settings")
	}
	statuses := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range admins {
		wg.Go(func() {
			<-start
			statuses[i], _, errs[i] = rawPost(admins[i], "/settings", confirms[i])
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusSeeOther, http.StatusConflict}) {
		t.Fatalf("statuses %v, want one 303 and one 409", statuses)
	}
	if n := e.sim.RequestCount("settings.set"); n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}
	final := e.sim.Settings()
	won := 0
	for _, ed := range edits {
		if string(final[ed.key]) == ed.value {
			won++
		} else if !bytes.Equal(final[ed.key], settingsNonDefault[ed.key]) {
			t.Errorf("%s = %s, neither its old nor its new value", ed.key, final[ed.key])
		}
	}
	if won != 1 {
		t.Fatalf("%d changes made, want exactly 1", won)
	}
}

func TestSettingsSyneriseFailureMidSave(t *testing.T) {
	tests := []struct {
		name    string
		fault   simulator.Fault
		status  int
		outcome audit.Outcome
		says    string
	}{
		{"server error", simulator.Fault{ErrorRate: 1, ErrorStatus: 500}, http.StatusBadGateway, audit.OutcomeFailed, "The settings read right after show the values from before the change: it was not applied"},
		{"dropped connection", simulator.Fault{DropRate: 1}, http.StatusBadGateway, audit.OutcomeUnknown, "may or may not have been applied"},
		{"rate limited", simulator.Fault{RateLimitRate: 1, RetryAfter: 2 * time.Second}, http.StatusTooManyRequests, audit.OutcomeFailed, "Synerise asked to wait 2 seconds before trying again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			seedSettings(t, e, settingsNonDefault)
			b, _ := e.signedIn(operators.RoleAdmin)
			before := e.sim.Settings()
			form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "pinConfirmationLength", "4")
			preview := b.post("/settings/preview", form)
			confirm := submission(t, body(preview), "/settings")
			confirm.Set("reason", "will fail")
			e.sim.SetFault("settings.set", tt.fault)
			res := b.post("/settings", confirm)
			page := body(res)
			if res.StatusCode != tt.status || !strings.Contains(page, tt.says) {
				t.Fatalf("%d, want %d saying %q:\n%s", res.StatusCode, tt.status, tt.says, page)
			}
			if n := e.sim.RequestCount("settings.set"); n != 1 {
				t.Errorf("%d write attempts, want exactly 1 (never retried)", n)
			}
			if !maps.EqualFunc(before, e.sim.Settings(), func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
				t.Error("settings changed")
			}
			ev, ok := e.lastEvent(audit.ActionSettingsUpdate)
			if !ok || ev.IntentSeq == 0 || ev.Outcome != tt.outcome || ev.UpstreamError == "" {
				t.Fatalf("outcome %+v, want %s", ev, tt.outcome)
			}
			// Nothing was written, so the admin can confirm again once Synerise allows it:
			// not before the Retry-After has passed (nothing is sent), and then it saves.
			e.sim.ClearFaults()
			if tt.outcome == audit.OutcomeFailed && tt.status == http.StatusTooManyRequests {
				again := submission(t, page, "/settings")
				if res := b.post("/settings", again); res.StatusCode != http.StatusTooManyRequests || e.sim.RequestCount("settings.set") != 1 {
					t.Fatalf("retry within the wait: %d, %d writes sent; want 429 and still 1", res.StatusCode, e.sim.RequestCount("settings.set"))
				}
				time.Sleep(2 * time.Second)
				if res := b.post("/settings", again); res.StatusCode != http.StatusSeeOther {
					t.Fatalf("retry after busy: %d %s", res.StatusCode, body(res))
				}
			}
		})
	}
}

func TestSettingsSyneriseFieldErrorsShownNextToFields(t *testing.T) {
	fake := &rejectingSettings{fakeSettings: fakeSettings{cur: []byte(`{"pinConfirmationLength":6,"tokenLifetimeInSeconds":3600}`)}}
	e := newEnv(t, func(d *handlers.Deps) { d.Settings = fake })
	b, _ := e.signedIn(operators.RoleAdmin)
	form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "pinConfirmationLength", "7")
	res := confirmPreview(t, b, form, "odd lengths")
	page := body(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="pinConfirmationLength-error"`) ||
		!strings.Contains(page, "Synerise: must be even.") || !strings.Contains(page, `value="7"`) {
		t.Fatalf("%d:\n%s", res.StatusCode, page)
	}
	if ev, _ := e.lastEvent(audit.ActionSettingsUpdate); ev.Outcome != audit.OutcomeFailed || ev.UpstreamStatus != 400 {
		t.Fatalf("outcome %+v", ev)
	}
}

type rejectingSettings struct{ fakeSettings }

func (r *rejectingSettings) Set(context.Context, *synerise.Settings) (*synerise.Settings, error) {
	return nil, &synerise.APIError{StatusCode: 400, Method: "POST", Path: "/sauth/settings/general",
		FieldErrors: []synerise.FieldError{{Field: "pinConfirmationLength", Message: "must be even"}}}
}

// settingsFailingIntents is the audit store with intents failing.
type settingsFailingIntents struct{ *audit.Store }

func (settingsFailingIntents) Intent(context.Context, audit.Event) (audit.Event, error) {
	return audit.Event{}, errors.New("database down")
}

func TestSettingsAuditUnavailableSendsNothing(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.Audit = settingsFailingIntents{d.Audit.(*audit.Store)} })
	b, _ := e.signedIn(operators.RoleAdmin)
	res := previewAndSave(t, b, map[string]string{"pinConfirmationLength": "9"}, "no audit")
	if page := body(res); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Audit log unavailable — nothing was done") {
		t.Fatalf("%d %s", res.StatusCode, page)
	}
	if n := e.sim.RequestCount("settings.set"); n != 0 {
		t.Fatalf("%d writes", n)
	}
}

func TestSettingsForbiddenToAuditorAndSupport(t *testing.T) {
	e := newEnv(t)
	for _, role := range []operators.Role{operators.RoleAuditor, operators.RoleSupport} {
		b, _ := e.signedIn(role)
		form := url.Values{"fingerprint": {strings.Repeat("a", 64)}, "was.pinConfirmationLength": {"6"},
			"new.pinConfirmationLength": {"8"}, "pinConfirmationLength": {"8"}, "reason": {"sneaky"}}
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/settings"}, {http.MethodPost, "/settings/preview"}, {http.MethodPost, "/settings"},
			{http.MethodGet, "/settings/history"}, {http.MethodPost, "/settings/history/1/restore"},
		} {
			var res *http.Response
			if req.method == http.MethodGet {
				res = b.get(req.path)
			} else {
				res = b.post(req.path, maps.Clone(form))
			}
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s %s: %d, want 403", role, req.method, req.path, res.StatusCode)
			}
		}
	}
	if n := e.sim.RequestCount("settings.set") + e.sim.RequestCount("settings.get"); n != 0 {
		t.Errorf("%d settings calls made for refused requests", n)
	}
}

func TestSettingsHistoryAndRestore(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, op := e.signedIn(operators.RoleAdmin)
	if res := previewAndSave(t, b, map[string]string{"pinConfirmationValidInSeconds": "600", "allowOverwriteCustomIdentify": "false"},
		"TICKET-42 shorter PINs"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	res := b.get("/settings/history")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, page)
	}
	for _, want := range []string{op.Email, "TICKET-42 shorter PINs", "PIN validity", "900 seconds (15 minutes)",
		"600 seconds (10 minutes)", "Allow overwriting the customId", "succeeded", "Restore the values from before this change"} {
		if !strings.Contains(page, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	checkAccessible(t, page)
	m := regexp.MustCompile(`action="(/settings/history/\d+/restore)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no restore form")
	}
	res = b.post(m[1], nil)
	preview := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(preview, "Restoring the values from before the change of ") {
		t.Fatalf("restore: %d %s", res.StatusCode, preview)
	}
	checkAccessible(t, preview)
	confirm := submission(t, preview, "/settings")
	if confirm.Get("new.pinConfirmationValidInSeconds") != "900" || confirm.Get("new.allowOverwriteCustomIdentify") != "true" {
		t.Fatalf("restore preview proposes %v", confirm)
	}
	confirm.Set("reason", "TICKET-43 revert")
	if res = b.post("/settings", confirm); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore save: %d %s", res.StatusCode, body(res))
	}
	final := e.sim.Settings()
	for k, v := range settingsNonDefault {
		if !bytes.Equal(final[k], v) {
			t.Errorf("%s = %s after restore, want %s", k, final[k], v)
		}
	}
	page = body(b.get("/settings/history"))
	if strings.Count(page, "<h2 id=\"change-") != 2 || !strings.Contains(page, "TICKET-43 revert") {
		t.Errorf("history after restore:\n%s", page)
	}
	// Restoring again proposes nothing: the values are back already.
	if res = b.post(m[1], nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("second restore: %d", res.StatusCode)
	}
	if res = b.post("/settings/history/1/restore", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("restore of a sign-in event: %d", res.StatusCode)
	}
}
