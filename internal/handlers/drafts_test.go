package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/operators"
)

// draftCanary stands for a password typed into the page: it must never reach the table.
const draftCanary = "canary-S3cret-pa55-91c2"

type draftAnswer struct {
	Action    string `json:"action"`
	SavedText string `json:"savedText"`
	Fields    []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

// getDraft returns the operator's draft of page, or ok false on 204.
func (b *browser) getDraft(page string) (draftAnswer, bool) {
	b.e.t.Helper()
	res := b.get("/drafts?page=" + url.QueryEscape(page))
	if res.StatusCode == http.StatusNoContent {
		return draftAnswer{}, false
	}
	var d draftAnswer
	if res.StatusCode != http.StatusOK {
		b.e.t.Fatalf("get draft: %d %s", res.StatusCode, body(res))
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		b.e.t.Fatal(err)
	}
	return d, true
}

func (d draftAnswer) value(name string) string {
	for _, f := range d.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// saveDraft posts form as the draft of page whose form posts to action.
func (b *browser) saveDraft(page, action string, form url.Values) *http.Response {
	b.e.t.Helper()
	v := url.Values{}
	for k, vs := range form {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("_draft_page", page)
	v.Set("_draft_action", action)
	return b.post("/drafts", v)
}

func (e *env) tableText(table string) string {
	e.t.Helper()
	var s *string
	if err := e.pool.QueryRow(context.Background(), `SELECT string_agg(t::text, ' ') FROM `+table+` t`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	if s == nil {
		return ""
	}
	return *s
}

func TestDraftOfCustomerEditIsKeptWithoutSecretsAndDroppedOnSave(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("city", "Sopot")
	form.Set("reason", "TICKET-7: moved")
	form.Set("password", draftCanary)
	form.Set("attr.0.token", draftCanary)
	form.Set("unlisted", draftCanary)
	if res := b.saveDraft(path+"/edit", path, form); res.StatusCode != http.StatusNoContent {
		t.Fatalf("save draft: %d %s", res.StatusCode, body(res))
	}
	d, ok := b.getDraft(path + "/edit")
	if !ok || d.Action != path || d.value("city") != "Sopot" || d.value("reason") != "TICKET-7: moved" ||
		d.value("fingerprint") != form.Get("fingerprint") || d.value("loaded") != form.Get("loaded") {
		t.Fatalf("draft as restored: %+v", d)
	}
	if d.value("nonce") != "" || d.value("_csrf") != "" || !strings.HasSuffix(d.SavedText, " UTC") {
		t.Fatalf("draft keeps the one-time token or the CSRF token, or has no time: %+v", d)
	}
	if text := e.tableText("drafts"); strings.Contains(text, draftCanary) || strings.Contains(text, form.Get("nonce")) {
		t.Fatalf("a secret reached the drafts table: %s", text)
	}
	if _, ok := b.getDraft(path); ok {
		t.Fatal("the draft answered for another page")
	}
	if res := b.post(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("save the form: %d %s", res.StatusCode, body(res))
	}
	if _, ok := b.getDraft(path + "/edit"); ok {
		t.Fatal("the draft outlived the successful save of its form")
	}
}

func TestDraftIsTheOperatorsOwnAndExpires(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleAdmin)
	other, _ := e.signedIn(operators.RoleAdmin)
	form := url.Values{"pinConfirmationLength": {"8"}, "was.pinConfirmationLength": {"6"}, "fingerprint": {"f"}}
	if res := b.saveDraft("/settings", "/settings/preview", form); res.StatusCode != http.StatusNoContent {
		t.Fatalf("save draft: %d %s", res.StatusCode, body(res))
	}
	if d, ok := b.getDraft("/settings"); !ok || d.value("pinConfirmationLength") != "8" || d.value("was.pinConfirmationLength") != "6" {
		t.Fatalf("settings draft: %+v %v", d, ok)
	}
	if _, ok := other.getDraft("/settings"); ok {
		t.Fatal("another operator sees the draft")
	}
	// An hour (twice the idle timeout) after the last autosave the draft is gone, even
	// before the periodic job deletes it; then the job deletes it.
	e.clock.Add(time.Hour + time.Second)
	b2 := e.browser()
	if res := b2.login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in again: %d", res.StatusCode)
	}
	if _, ok := b2.getDraft("/settings"); ok {
		t.Fatal("a draft older than its lifetime was restored")
	}
	if n, err := e.handler.PruneDrafts(context.Background()); err != nil || n != 1 {
		t.Fatalf("prune drafts: %d %v", n, err)
	}
}

func TestDraftRefusedForFormsThatKeepNone(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	for _, tc := range []struct{ page, action string }{
		{"/password", "/password"},                                  // a password form keeps no draft
		{"/settings", "/settings/preview"},                          // a page the role may not open
		{"/customers/" + annaID + "/edit", "/login"},                // a form not listed
		{"https://evil.example/customers/1/edit", "/customers/1"},   // not a console path
		{"//evil.example/customers/1/edit", "/customers/" + annaID}, // nor protocol-relative
	} {
		res := b.saveDraft(tc.page, tc.action, url.Values{"reason": {"x"}, "new_password": {draftCanary}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s → %s: status %d, want 422", tc.page, tc.action, res.StatusCode)
		}
	}
	if text := e.tableText("drafts"); text != "" {
		t.Fatalf("a refused draft was stored: %s", text)
	}
	// Text no form accepts refuses the draft.
	path := "/customers/" + annaID
	if res := b.saveDraft(path+"/edit", path, url.Values{"city": {"a\x00b"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("NUL in a draft: status %d", res.StatusCode)
	}
	// Without a session nothing is kept: the usual way to sign-in.
	anon := e.browser()
	if res := anon.saveDraft(path+"/edit", path, url.Values{"city": {"x"}}); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous draft: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestDraftDiscard(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	b.saveDraft(path+"/erase", path+"/erase", url.Values{"reason": {"GDPR-1"}})
	if _, ok := b.getDraft(path + "/erase"); !ok {
		t.Fatal("no draft to discard")
	}
	res := b.post("/drafts/discard", url.Values{"_draft_page": {path + "/erase"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"/erase" {
		t.Fatalf("discard: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, ok := b.getDraft(path + "/erase"); ok {
		t.Fatal("the discarded draft is still there")
	}
}

// TestFormPostedAfterSessionEndedReturnsToItsPage: a plain form sent once the session is
// gone leads to sign-in and back to the form's page, where its draft is restored.
func TestFormPostedAfterSessionEndedReturnsToItsPage(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAdmin)
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	res := b.do(http.MethodPost, "/settings/preview", strings.NewReader(url.Values{"_csrf": {b.csrf()}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Referer": {e.srv.URL + "/settings"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?expired=1&next=%2Fsettings" {
		t.Fatalf("post after the session ended: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A referrer elsewhere, or not a page, gives no way back.
	res = b.do(http.MethodPost, "/settings/preview", strings.NewReader(url.Values{"_csrf": {b.csrf()}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Referer": {e.srv.URL + "/logout"}})
	if res.Header.Get("Location") != "/login" {
		t.Fatalf("post from a non-page: %q", res.Header.Get("Location"))
	}
}
