package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/mfa"
)

// mfaDeps gives the web layer the operators' TOTP factors and recovery codes, sealed and
// hashed under keys derived from the session secret.
func mfaDeps(cfg config.Config, pool *pgxpool.Pool, d *handlers.Deps) error {
	store, err := mfa.NewStore(pool, cfg.SessionSecret)
	if err != nil {
		return err
	}
	d.TOTP = store
	return nil
}
