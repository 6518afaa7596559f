package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
)

// passkeyDeps gives the web layer the operators' passkeys and the WebAuthn relying party.
func passkeyDeps(cfg config.Config, pool *pgxpool.Pool, d *handlers.Deps) error {
	return nil
}
