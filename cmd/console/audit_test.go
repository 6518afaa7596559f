package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestAuditSeedRefusesWithoutTheFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"audit", "seed", "--events", "10"}, func(string) string { return "" },
		strings.NewReader(""), &out, &errOut)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "--"+notProductionFlag) {
		t.Fatalf("seed without the flag = %v", err)
	}
}

func TestAuditVerifyWithCheckpointDetectsATruncatedTail(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t)
	env := map[string]string{
		"DATABASE_URL":              url,
		"CONSOLE_SESSION_SECRET":    strings.Repeat("ab", 32),
		"CONSOLE_AUDIT_SIGNING_KEY": filepath.Join(t.TempDir(), "audit-key.pem"),
		"CONSOLE_LOG_LEVEL":         "error",
	}
	getenv := func(k string) string { return env[k] }
	console := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"audit"}, args...), getenv, strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := console("seed", "--events", "200", "--"+notProductionFlag); err != nil || !strings.Contains(out, "seeded 200 events") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	// A configured key must exist: the console never makes one in its place.
	if _, err := console("checkpoint", "--out", filepath.Join(t.TempDir(), "x.json")); err == nil {
		t.Fatal("checkpoint with a missing configured key succeeded")
	}
	env["CONSOLE_AUDIT_SIGNING_KEY"] = ""
	if _, err := console("checkpoint", "--out", filepath.Join(t.TempDir(), "x.json")); err == nil {
		t.Fatal("checkpoint without any key succeeded")
	}
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := audit.GenerateKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	env["CONSOLE_AUDIT_SIGNING_KEY"] = keyPath
	cpFile := filepath.Join(t.TempDir(), "checkpoint.json")
	if out, err := console("checkpoint", "--out", cpFile); err != nil || !strings.Contains(out, "seq=200") {
		t.Fatalf("checkpoint: %v\n%s", err, out)
	}
	if out, err := console("verify", "--checkpoint", cpFile); err != nil || !strings.Contains(out, "checkpoint holds: seq=200") ||
		!strings.Contains(out, "signed by the configured key") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// Cut the last rows as the database owner could: the chain alone still verifies.
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbtest.AdminURL(t, cfg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{"SET session_replication_role = replica", "DELETE FROM audit_events WHERE seq > 190"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := console("verify"); err != nil || !strings.HasPrefix(out, "intact: rows=190") {
		t.Fatalf("verify without checkpoint: %v\n%s", err, out)
	}
	out, err := console("verify", "--checkpoint", cpFile)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "seq=200") || !strings.Contains(ee.msg, "cut from the tail") {
		t.Fatalf("verify with checkpoint after truncation = %v\n%s", err, out)
	}
}
