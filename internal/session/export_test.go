package session

import "github.com/jackc/pgx/v5/pgxpool"

// Pool lets the external tests look at the table itself.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
