package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/passkey"
)

// passkeyDeps gives the web layer the operators' passkeys and the WebAuthn relying party:
// the console's public URL is its origin, that URL's host its id.
func passkeyDeps(cfg config.Config, pool *pgxpool.Pool, d *handlers.Deps) error {
	svc, err := passkey.New(pool, cfg.Identity.PublicURL, d.Now)
	if err != nil {
		return err
	}
	d.Passkeys = svc
	return nil
}
