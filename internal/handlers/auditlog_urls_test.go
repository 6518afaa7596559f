package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/operators"
)

// A filter sent with every field of the form, the empty ones too (as a browser without the
// page's script sends it), is answered with the address that names only the filters set;
// the page's links (export, paging) carry only those too.
func TestAuditFilterAddressKeepsOnlySetFilters(t *testing.T) {
	e := newEnv(t)
	b, op := e.signedIn(operators.RoleAuditor)
	for _, tt := range []struct{ query, want string }{
		{"from=&to=&actor=" + op.Email + "&outcome=&action=&target=&request=&q=", "/audit?actor=" + strings.ReplaceAll(op.Email, "@", "%40")},
		{"from=&to=&actor=&outcome=succeeded&action=&target=&request=&q=", "/audit?outcome=succeeded"},
		{"from=&to=&actor=&outcome=&action=&target=&request=&q=", "/audit"},
		{"outcome=succeeded&q=+&before=9", "/audit?before=9&outcome=succeeded"},
	} {
		res := b.get("/audit?" + tt.query)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tt.want {
			t.Errorf("GET /audit?%s: %d to %q, want 303 to %q", tt.query, res.StatusCode, res.Header.Get("Location"), tt.want)
		}
	}
	res := b.get("/audit?outcome=succeeded")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /audit?outcome=succeeded: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{`href="/audit/export.csv?outcome=succeeded"`, `href="/audit/export.ndjson?outcome=succeeded"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "=&amp;") || strings.Contains(page, "=&") {
		t.Errorf("a link carries an empty parameter:\n%s", page)
	}
}
