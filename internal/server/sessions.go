package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/handlers"
)

// sessionDeps gives the web layer the list of operators' sessions.
func sessionDeps(pool *pgxpool.Pool, d *handlers.Deps) {}
