package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/session"
)

const rewriteWarning = "can rewrite the audit log"

// In the two-role setup (CONSOLE_MIGRATE_DATABASE_URL beside DATABASE_URL) the owner
// migrates an empty database and the console serves as a role that owns nothing: it does
// its work — operators, sessions, form tokens, appending and reading the audit log,
// checkpoints — and every way to rewrite the audit log is refused.
func TestTwoRolesServingRoleCannotRewriteTheAuditLog(t *testing.T) {
	dbtest.TwoRoles(t)
	ctx := context.Background()
	ownerURL := dbtest.Empty(t)
	db := dbName(t, ownerURL)
	owner, serving := dbtest.Roles(t)
	cfg := testConfig(t, map[string]string{"DATABASE_URL": dbtest.ServingURL(t, db), "CONSOLE_MIGRATE_DATABASE_URL": ownerURL})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	pool, closeDB, err := server.Database(ctx, &cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	var user string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != serving {
		t.Fatalf("serving as %q (%v), want %s", user, err, serving)
	}
	if strings.Contains(logs.String(), rewriteWarning) {
		t.Fatalf("two-role setup warned:\n%s", logs.String())
	}

	consoleWorks(t, pool)

	for _, sql := range []string{
		"ALTER TABLE audit_events ADD COLUMN note text",
		"ALTER TABLE audit_events DISABLE TRIGGER ALL",
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
		"ALTER TABLE audit_events OWNER TO " + serving,
		"UPDATE audit_events SET reason = 'covered up' WHERE seq = 1",
		"DELETE FROM audit_events WHERE seq = 1",
		"TRUNCATE audit_events",
		"DROP TABLE audit_events",
		"CREATE TRIGGER sneak BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change()",
		"ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL",
		"UPDATE audit_checkpoints SET seq = 0",
		"DELETE FROM audit_checkpoints",
		"TRUNCATE audit_checkpoints",
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)",
		"DELETE FROM goose_db_version",
		"SET session_replication_role = replica",
	} {
		mustBeDenied(t, pool, sql)
	}
	if risks, err := audit.NewStore(pool).RewriteRisks(ctx); err != nil || len(risks) > 0 {
		t.Fatalf("RewriteRisks as the serving role = %q, %v; want none", risks, err)
	}
	report, err := audit.NewStore(pool).Verify(ctx)
	if err != nil || !report.Intact() || report.RowsChecked < 4 {
		t.Fatalf("after the refused rewrites: %s %v", report, err)
	}

	// A table a later migration adds is usable at once (default privileges), and the
	// next start re-grants everything the same way.
	ownerPool := dbtestPool(t, ownerURL)
	if _, err := ownerPool.Exec(ctx, "CREATE TABLE later_things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"INSERT INTO later_things (v) VALUES ('a')", "UPDATE later_things SET v = 'b'",
		"SELECT count(*) FROM later_things", "DELETE FROM later_things",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s as %s: %v", sql, serving, err)
		}
	}
	mustBeDenied(t, pool, "TRUNCATE later_things")
	_, closeAgain, err := server.Database(ctx, &cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	closeAgain()
	mustBeDenied(t, pool, "DELETE FROM audit_events")
	mustBeDenied(t, pool, "ALTER TABLE audit_events DISABLE TRIGGER ALL")
	var tables int
	if err := ownerPool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner <> $1`, owner).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("%d tables not owned by %s (%v)", tables, owner, err)
	}
}

// consoleWorks does, as the pool's role, what the console does with its database.
func consoleWorks(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	ops := operators.NewStore(pool)
	op, err := ops.Create(ctx, "grants@example.com", "Grants", operators.RoleSupport, "hash")
	if err != nil {
		t.Fatalf("create operator: %v", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, created_at, last_seen_at, expires_at)
		VALUES ('\x01', $1, now(), now(), now() + interval '1 hour')`, op.ID); err != nil {
		t.Fatalf("insert session: %v", err)
	}
	if _, err := ops.SetDisabled(ctx, op.ID, true); err != nil {
		t.Fatalf("disable operator (ends sessions): %v", err)
	}
	sessions := session.NewStore(pool, session.Options{Secret: bytes.Repeat([]byte("s"), 32), IdleTimeout: time.Minute, MaxLifetime: time.Hour})
	if _, err := sessions.DeleteExpired(ctx); err != nil {
		t.Fatalf("delete expired sessions: %v", err)
	}
	if _, err := sessions.Active(ctx); err != nil {
		t.Fatalf("count sessions: %v", err)
	}
	for _, sql := range []string{
		"INSERT INTO form_submissions (key, claimed_at) VALUES ('1:x', now()) ON CONFLICT (key) DO NOTHING",
		"DELETE FROM form_submissions WHERE key = '1:x'",
		"SELECT pg_advisory_xact_lock(42)",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	log := audit.NewStore(pool)
	e := audit.Event{Actor: audit.Actor{Email: "console", Role: "system"}, Action: audit.ActionOperatorCreate,
		Target: audit.Target{Type: "operator", ID: "1"}, Outcome: audit.OutcomeSucceeded}
	if _, err := log.Append(ctx, e); err != nil {
		t.Fatalf("append: %v", err)
	}
	e.Outcome = ""
	intent, err := log.Intent(ctx, e)
	if err != nil {
		t.Fatalf("intent: %v", err)
	}
	if _, err := log.Outcome(ctx, intent, audit.OutcomeSucceeded, nil); err != nil {
		t.Fatalf("outcome: %v", err)
	}
	if _, err := log.Intent(ctx, e); err != nil {
		t.Fatalf("intent: %v", err)
	}
	if _, err := log.CloseStaleIntents(ctx, 0); err != nil {
		t.Fatalf("close stale intents: %v", err)
	}
	signer, err := audit.GenerateKeyFile(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := log.Checkpoint(ctx, signer)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if err := log.VerifyCheckpoint(ctx, cp, signer.PublicKey()); err != nil {
		t.Fatalf("verify checkpoint: %v", err)
	}
	if _, err := log.Search(ctx, audit.Filter{}, audit.Cursor{}, 10); err != nil {
		t.Fatalf("search: %v", err)
	}
}

// mustBeDenied runs sql as the pool's role and wants PostgreSQL's insufficient_privilege.
func mustBeDenied(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" || strings.Contains(pgErr.Message, "append-only") {
		t.Errorf("%s: err = %v, want permission denied (42501) before any trigger", sql, err)
	}
}

// With DATABASE_URL alone, its role migrates and owns the tables, as before: the console
// works, and says in the log that this role can rewrite the audit log. Naming the same
// role in CONSOLE_MIGRATE_DATABASE_URL is the same setup.
func TestOneRoleSetupWorksAndWarns(t *testing.T) {
	ctx := context.Background()
	for _, both := range []bool{false, true} {
		url := dbtest.Empty(t)
		env := map[string]string{"DATABASE_URL": url}
		if both {
			env["CONSOLE_MIGRATE_DATABASE_URL"] = url
		}
		cfg := testConfig(t, env)
		var logs bytes.Buffer
		pool, closeDB, err := server.Database(ctx, &cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		consoleWorks(t, pool)
		risks, err := audit.NewStore(pool).RewriteRisks(ctx)
		closeDB()
		if err != nil || !strings.Contains(strings.Join(risks, "; "), "owns audit_events") {
			t.Fatalf("RewriteRisks of the owner = %q, %v", risks, err)
		}
		if !strings.Contains(logs.String(), rewriteWarning) || !strings.Contains(logs.String(), "CONSOLE_MIGRATE_DATABASE_URL") {
			t.Fatalf("no warning in the log:\n%s", logs.String())
		}
	}
}

func dbName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}
