package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/server"
)

// testConfig is a console on its own test database, on a free port.
func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	base := map[string]string{
		"DATABASE_URL":           dbtest.URL(t),
		"CONSOLE_ADDR":           "127.0.0.1:0",
		"CONSOLE_SESSION_SECRET": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
		"CONSOLE_DATA_DIR":       t.TempDir(),
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A console with a signing key signs the chain head at start, with that key.
func TestServeSignsACheckpointWithTheConfiguredKey(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "signing.pem")
	signer, err := audit.GenerateKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, map[string]string{"CONSOLE_AUDIT_SIGNING_KEY": keyPath})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- server.Run(ctx, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("console did not start: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("console stopped with %v", err)
		}
	}()

	pool := dbtestPool(t, cfg.DatabaseURL)
	store := audit.NewStore(pool)
	var cps []audit.Checkpoint
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cps, err = store.Checkpoints(ctx, 5); err != nil {
			t.Fatal(err)
		}
		if len(cps) > 0 {
			break
		}
	}
	if len(cps) != 1 {
		t.Fatalf("checkpoints after start = %d, want 1", len(cps))
	}
	if !bytes.Equal(cps[0].PublicKey, signer.PublicKey()) || !cps[0].SignatureValid() {
		t.Fatalf("checkpoint not signed by the configured key: %+v", cps[0])
	}
	if err := store.VerifyCheckpoint(ctx, cps[0], signer.PublicKey()); err != nil {
		t.Fatalf("checkpoint does not verify against the chain: %v", err)
	}
}

// A signing key path that does not exist stops the start with a message naming it.
func TestServeRefusesAMissingSigningKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.pem")
	cfg := testConfig(t, map[string]string{"CONSOLE_AUDIT_SIGNING_KEY": missing})
	err := server.Run(context.Background(), cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "nope.pem") {
		t.Fatalf("Run with a missing key = %v, want an error naming the file", err)
	}
}

func dbtestPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
