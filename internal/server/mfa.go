package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
)

// mfaDeps gives the web layer the operators' TOTP factors and recovery codes.
func mfaDeps(cfg config.Config, pool *pgxpool.Pool, d *handlers.Deps) error {
	return nil
}
