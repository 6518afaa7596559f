package server

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/handlers"
)

// sessionDeps gives the web layer the list of operators' sessions: the session store
// keeps them, so it lists and ends them too.
func sessionDeps(_ *pgxpool.Pool, d *handlers.Deps) {
	d.SessionList = d.Sessions
}
