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
