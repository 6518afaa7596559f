package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func hexString(b []byte) string { return hex.EncodeToString(b) }

// TestLeastPrivilegeRole proves the production setup documented in 00003_audit.sql: a role
// holding only INSERT and SELECT can append and verify, and cannot change the log.
func TestLeastPrivilegeRole(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	admin := adminConn(t, pool)
	appendN(t, NewStore(pool), 2) // rows written by the owner, before the role exists

	role := "audit_app_" + rand.Text()[:12]
	role = strings.ToLower(role)
	password := rand.Text()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		// Roles are cluster-wide: drop it, with its grants, while the database still exists.
		_, _ = admin.Exec(ctx, "DROP OWNED BY "+role)
		if _, err := admin.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	if _, err := admin.Exec(ctx, "GRANT SELECT, INSERT ON audit_events TO "+role); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgxpool.ParseConfig(pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close) // registered last, so closed before the role is dropped
	var user string
	if err := app.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != role {
		t.Fatalf("connected as %q (%v), want %s", user, err, role)
	}

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
	if n := countRows(t, pool); n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
}
