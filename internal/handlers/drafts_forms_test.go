package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// Every form that keeps drafts posts to a route of the table, and no list lets a
// password, a one-time code or an anti-forgery token into a draft.
func TestDraftFormsAreRoutesAndKeepNoSecrets(t *testing.T) {
	h := New(Deps{})
	for pattern, form := range draftForms() {
		if _, ok := h.routeFor(http.MethodPost, pattern); !ok {
			t.Errorf("draftForms lists %s, which is no POST route", pattern)
		}
		for _, n := range form.Names {
			lower := strings.ToLower(n)
			for _, w := range []string{"password", "csrf", "nonce", "totp", "recovery", "secret", "assertion"} {
				if strings.Contains(lower, w) {
					t.Errorf("the draft of %s may keep %q", pattern, n)
				}
			}
			if n == "code" || n == "pin" || n == "otp" {
				t.Errorf("the draft of %s may keep %q", pattern, n)
			}
		}
		for _, name := range []string{"_csrf", "nonce", "password", "new_password", "code", "attr.1.password"} {
			if form.Allows(name) {
				t.Errorf("the draft of %s keeps %q", pattern, name)
			}
		}
	}
}
