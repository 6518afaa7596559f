package handlers_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
)

// The Integrity page warns when the console's database role could rewrite the audit log
// (the one-role setup: it owns the table), and says nothing of the kind when it serves
// as a role that owns nothing.
func TestAuditIntegrityWarnsWhenTheRoleCanRewriteTheLog(t *testing.T) {
	dbtest.TwoRoles(t)
	const warning = "The console's database role can rewrite this log"
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAuditor)
	if html := body(b.get("/audit/integrity")); strings.Contains(html, warning) || !strings.Contains(html, "Intact") {
		t.Fatalf("integrity page as the serving role:\n%s", html)
	}

	var owner *audit.Store
	e = newEnv(t, func(d *handlers.Deps) {
		owner = audit.NewStore(dbtest.Owner(t, d.Database.(*pgxpool.Pool)))
		d.Audit = owner
	})
	b, _ = e.signedIn(operators.RoleAuditor)
	html := body(b.get("/audit/integrity"))
	for _, want := range []string{warning, "owns audit_events", "CONSOLE_MIGRATE_DATABASE_URL", `role="alert"`} {
		if !strings.Contains(html, want) {
			t.Errorf("integrity page as the owner lacks %q", want)
		}
	}
}
