package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/localdb"
)

// Database opens the configured database, or starts the private cluster under the data
// directory when none is configured, applies migrations (as the owner role when there is
// one, then grants the serving role what it needs) and returns a pool of the serving role.
// When that role could rewrite the audit log (the one-role setup) it logs a warning.
// close releases the pool and the cluster.
func Database(ctx context.Context, cfg *config.Config, logger *slog.Logger) (pool *pgxpool.Pool, close func(), err error) {
	roles, stop, err := databaseRoles(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	if err := migrate(ctx, roles, logger); err != nil {
		stop()
		return nil, nil, err
	}
	pool, err = database.Open(ctx, roles.serving)
	if err != nil {
		stop()
		return nil, nil, err
	}
	if risks, err := audit.NewStore(pool).RewriteRisks(ctx); err != nil {
		logger.Warn("could not check the serving role's privileges on the audit log", "err", err)
	} else if len(risks) > 0 {
		logger.Warn("the database role the console serves as can rewrite the audit log: run migrations as an owner role (CONSOLE_MIGRATE_DATABASE_URL) and serve as a role that owns nothing (DATABASE_URL); see docs/operations.md",
			"risks", risks)
	}
	return pool, func() { pool.Close(); stop() }, nil
}

// Migrate applies the migrations and the serving role's grants, and releases everything.
func Migrate(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	roles, stop, err := databaseRoles(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stop()
	return migrate(ctx, roles, logger)
}

// dbRoles are the connection strings of the serving role and of the owner that migrates;
// owner is empty in the one-role setup, where the serving role migrates.
type dbRoles struct {
	serving, owner string
}

// databaseRoles finds the two roles' connection strings, starting the private cluster
// (stopped by stop) when no database is configured.
func databaseRoles(ctx context.Context, cfg *config.Config, logger *slog.Logger) (roles dbRoles, stop func(), err error) {
	stop = func() {}
	roles = dbRoles{serving: cfg.DatabaseURL, owner: cfg.MigrateDatabaseURL}
	if cfg.LocalDatabase() {
		start := time.Now()
		cluster, err := localdb.Start(ctx, localdb.Options{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return roles, nil, err
		}
		logger.Info("private PostgreSQL running", "dir", filepath.Join(cfg.DataDir, "postgres"), "took", time.Since(start).Round(time.Millisecond))
		roles = dbRoles{serving: cluster.ServingURL(), owner: cluster.OwnerURL()}
		stop = func() {
			if err := cluster.Stop(); err != nil {
				logger.Error("stop PostgreSQL", "err", err)
			}
		}
	}
	if roles.owner == "" {
		return roles, stop, nil
	}
	serving, err := database.User(roles.serving)
	if err != nil {
		stop()
		return roles, nil, err
	}
	owner, err := database.User(roles.owner)
	if err != nil {
		stop()
		return roles, nil, err
	}
	if serving == owner {
		logger.Warn("CONSOLE_MIGRATE_DATABASE_URL and DATABASE_URL name the same role: the console serves as the owner of its tables, as if only DATABASE_URL were set", "role", serving)
		roles.owner = ""
	}
	return roles, stop, nil
}

// migrate applies pending migrations as the owner and then (re)grants the serving role
// its privileges; in the one-role setup the serving role migrates and nothing is granted.
func migrate(ctx context.Context, roles dbRoles, logger *slog.Logger) error {
	url := roles.owner
	if url == "" {
		url = roles.serving
	}
	pool, err := database.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := database.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if n > 0 {
		logger.Info("migrations applied", "count", n)
	}
	if roles.owner == "" {
		return nil
	}
	serving, err := database.User(roles.serving)
	if err != nil {
		return err
	}
	return database.Grant(ctx, pool, serving)
}

// LocalSecret reads a hex secret from the data directory, creating it on first use.
func LocalSecret(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		return config.DecodeSecret(string(b))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create %s: %w", dir, err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("server: write %s: %w", path, err)
	}
	return secret, nil
}
