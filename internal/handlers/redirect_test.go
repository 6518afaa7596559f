package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/operators"
)

// SECURITY.md 30: after sign-in the console redirects only to a same-origin path. Before,
// next=%2F%09%2Fevil.example%2F answered "Location: /\t/evil.example/", which browsers
// read as //evil.example.
func TestSignInRedirectsOnlyToSameOriginPaths(t *testing.T) {
	e := newEnv(t)
	op := e.operator("next@example.com", operators.RoleSupport)
	for _, tc := range []struct{ next, want string }{
		{"/customers", "/customers"},
		{"/customers/5010001", "/customers/5010001"},
		{"/audit/12", "/audit/12"},
		{"/settings/history", "/settings/history"},
		{"", "/"},
		{"/", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\v/evil.example", "/"},
		{"/\f/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\u00a0/evil.example", "/"},
		{"/\u2028/evil.example", "/"},
		{"/\u3000/evil.example", "/"},
		{"/\u200b/evil.example", "/"},
		{"/\u202e/evil.example", "/"},
		{"\t//evil.example", "/"},
		{" /evil", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"/customers//evil.example", "/"},
		{"/customers\\..\\x", "/"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%5C/evil.example", "/"},
		{"/%5c%5cevil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%0d%0a/evil.example", "/"},
		{"/%20/evil.example", "/"},
		{"/%00", "/"},
		{"/%E2%80%AE", "/"},
		{"/%zz", "/"},
		{"/\xff\xfe", "/"},
	} {
		res := e.browser().post("/login?next="+url.QueryEscape(tc.next), url.Values{"email": {op.Email}, "password": {testPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("next=%q: sign-in status %d", tc.next, res.StatusCode)
		}
		if got := res.Header.Get("Location"); got != tc.want {
			t.Errorf("next=%q: Location %q, want %q", tc.next, got, tc.want)
		}
	}
	// The sign-in form carries only a safe next to its POST.
	page := body(e.browser().get("/login?next=" + url.QueryEscape("/\t/evil.example/")))
	if !strings.Contains(page, `action="/login"`) {
		t.Errorf("sign-in form for an unsafe next does not post to plain /login")
	}
}
