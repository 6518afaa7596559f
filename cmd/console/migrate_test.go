package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/raas-console/console/internal/dbtest"
)

// `console migrate` with both URLs migrates as the owner and leaves the serving role able
// to work and unable to rewrite the audit log.
func TestMigrateWithTwoRoles(t *testing.T) {
	dbtest.TwoRoles(t)
	ctx := context.Background()
	ownerURL := dbtest.Empty(t)
	cfg, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	servingURL := dbtest.ServingURL(t, cfg.Database)
	env := map[string]string{
		"DATABASE_URL": servingURL, "CONSOLE_MIGRATE_DATABASE_URL": ownerURL,
		"CONSOLE_SESSION_SECRET": strings.Repeat("ab", 32), "CONSOLE_LOG_LEVEL": "error",
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "migrations applied") {
		t.Fatalf("migrate: %v\n%s%s", err, out.String(), errOut.String())
	}
	conn, err := pgx.Connect(ctx, servingURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO form_submissions (key, claimed_at) VALUES ('1:x', now())"); err != nil {
		t.Fatalf("the serving role cannot write form_submissions: %v", err)
	}
	_, err = conn.Exec(ctx, "ALTER TABLE audit_events DISABLE TRIGGER ALL")
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("the serving role disabling the audit triggers: %v, want permission denied", err)
	}
}
