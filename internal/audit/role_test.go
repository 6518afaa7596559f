package audit

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func hexString(b []byte) string { return hex.EncodeToString(b) }

// TestLeastPrivilegeRole proves the production setup: the serving role the console runs as
// (INSERT and SELECT on the audit tables, granted by the migrator) can append and verify,
// and cannot change the log.
func TestLeastPrivilegeRole(t *testing.T) {
	// The serving role, with exactly the privileges the migrator grants it
	// (database.Grant): a grant that gave it more would fail the refusals below.
	dbtest.TwoRoles(t)
	ctx := context.Background()
	app := dbtest.New(t)
	var role string
	if err := app.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil {
		t.Fatal(err)
	}
	appendN(t, NewStore(app), 2)

	s := NewStore(app)
	intent, err := s.Intent(ctx, sampleEvent(3))
	if err != nil {
		t.Fatalf("intent as %s: %v", role, err)
	}
	if _, err := s.Outcome(ctx, intent, OutcomeSucceeded, nil); err != nil {
		t.Fatalf("outcome as %s: %v", role, err)
	}
	if _, err := s.Append(ctx, sampleEvent(5)); err != nil {
		t.Fatalf("append as %s: %v", role, err)
	}
	if _, err := s.CloseStaleIntents(ctx, 0); err != nil {
		t.Fatalf("close stale intents as %s: %v", role, err)
	}
	mustVerifyIntact(t, s, 5)

	for _, sql := range []string{
		"UPDATE audit_events SET reason = 'x' WHERE seq = 1",
		"DELETE FROM audit_events WHERE seq = 1",
		"TRUNCATE audit_events",
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
		"DROP TABLE audit_events",
	} {
		_, err := app.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "denied") && !strings.Contains(err.Error(), "must be owner") {
			t.Errorf("%s as %s: err = %v, want permission denied", sql, role, err)
		}
	}
	// Even with SET session_replication_role (superuser only) out of reach, a plain
	// connection of the role cannot change rows.
	if _, err := app.Exec(ctx, "SET session_replication_role = replica"); err == nil {
		t.Error("the app role could set session_replication_role")
	}
	if n := countRows(t, app); n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
}
