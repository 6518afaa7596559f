package handlers_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/settings"
)

// Admins work from Synerise's documentation, which names settings by their API keys: every
// setting the form, the preview and the history show carries its key beside its label,
// and the form's inputs are described by it.
func TestSettingsShowTheirAPIKeys(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	form := body(b.get("/settings"))
	for _, f := range settings.Fields {
		if !strings.Contains(form, `<code class="setting-key" id="`+f.Key+`-key">`+f.Key+`</code>`) {
			t.Errorf("the form shows no key %s beside %q", f.Key, f.Label)
		}
		m := regexp.MustCompile(`<(?:input|select)\b[^>]*\bid="setting-` + f.Key + `"[^>]*>`).FindString(form)
		if !strings.Contains(" "+attrs(m)["aria-describedby"]+" ", " "+f.Key+"-key ") {
			t.Errorf("the input of %s is not described by its key: %s", f.Key, m)
		}
	}
	checkAccessible(t, form)

	edits := map[string]string{"tokenLifetimeInSeconds": "3600"}
	fields := submission(t, form, "/settings/preview")
	for k, v := range edits {
		fields = set(fields, k, v)
	}
	preview := b.post("/settings/preview", fields)
	page := body(preview)
	if preview.StatusCode != http.StatusOK || !rowNames(page, "Customer sign-in lifetime", "tokenLifetimeInSeconds") {
		t.Errorf("the preview names the setting without its key: %d %s", preview.StatusCode, page)
	}
	if res := previewAndSave(t, b, edits, "CHG-7 shorter sign-in"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	if history := body(b.get("/settings/history")); !rowNames(history, "Customer sign-in lifetime", "tokenLifetimeInSeconds") {
		t.Errorf("the history names the setting without its key:\n%s", history)
	}
}

// rowNames reports whether page has a table row headed by label with key beside it.
func rowNames(page, label, key string) bool {
	return regexp.MustCompile(`<th scope="row">\s*` + regexp.QuoteMeta(label) + `\s*<code class="setting-key">` + key + `</code>\s*</th>`).MatchString(page)
}

// The history names each change by when it was made and by whom, not by the audit log's
// sequence numbers (which the history's entries do not follow one by one); restoring one
// names it the same way.
func TestSettingsHistoryNamesChangesByTimeAndOperator(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, op := e.signedIn(operators.RoleAdmin)
	for _, v := range []string{"1800", "2400"} {
		if res := previewAndSave(t, b, map[string]string{"tokenLifetimeInSeconds": v}, "CHG-8 sign-in "+v); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d %s", res.StatusCode, body(res))
		}
	}
	page := body(b.get("/settings/history"))
	numbered := regexp.MustCompile(`(?i)change\s*#\s*\d`)
	if numbered.MatchString(page) {
		t.Errorf("the history numbers its entries:\n%s", page)
	}
	title := regexp.MustCompile(`<h2 id="change-\d+">(\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC — ([^<]+))</h2>`)
	heads := title.FindAllStringSubmatch(page, -1)
	if len(heads) != 2 {
		t.Fatalf("%d entries named by time and operator, want 2:\n%s", len(heads), page)
	}
	for _, h := range heads {
		if h[2] != op.Name {
			t.Errorf("entry %q names %q, want the operator %q", h[1], h[2], op.Name)
		}
	}
	want := e.clock.Now().UTC().Format("2 Jan 2006, 15:04 UTC")
	if !strings.HasPrefix(heads[0][1], want) {
		t.Errorf("newest entry %q, want it to start with %q", heads[0][1], want)
	}
	restore := regexp.MustCompile(`action="(/settings/history/\d+/restore)"`).FindStringSubmatch(page)
	if restore == nil {
		t.Fatal("no restore form")
	}
	preview := body(b.post(restore[1], nil))
	if !strings.Contains(preview, "Restoring the values from before the change of "+heads[0][1]) || numbered.MatchString(preview) {
		t.Errorf("the restore preview does not name the change by time and operator:\n%s", preview)
	}
}

// A redirect link that is not a link at all is refused next to its field with what a
// valid link looks like.
func TestSettingsRedirectLinkRefusalShowsAValidLink(t *testing.T) {
	e := newEnv(t)
	seedSettings(t, e, settingsNonDefault)
	b, _ := e.signedIn(operators.RoleAdmin)
	form := set(submission(t, body(b.get("/settings")), "/settings/preview"), "confirmationRedirectLink", "not a url at all")
	res := b.post("/settings/preview", form)
	page := body(res)
	want := `<p class="field-error" id="confirmationRedirectLink-error">Enter a full link starting with https://, such as https://shop.example.com/welcome, or leave it empty for Synerise&#39;s own page.</p>`
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, want) {
		t.Errorf("%d, want the field's error %s in\n%s", res.StatusCode, want, page)
	}
}
