package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/database"
)

// RewriteRisks says what the Store's own database role could do to rewrite the audit log
// (the tables database.AppendOnlyTables names, the same list the grants revoke on)
// instead of only appending to it: own a table of the log, or be a member of its owner
// (and so disable its triggers, alter or drop it), be a superuser, or hold UPDATE,
// DELETE, TRUNCATE or TRIGGER on it.
// Empty means the role can only read and append, as when the console serves as a role
// that owns nothing (CONSOLE_MIGRATE_DATABASE_URL beside DATABASE_URL).
func (s *Store) RewriteRisks(ctx context.Context) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `
		WITH me AS (SELECT current_user AS name, rolsuper FROM pg_roles WHERE rolname = current_user)
		SELECT format('the role %s is a superuser', me.name) FROM me WHERE me.rolsuper
		UNION ALL
		SELECT format('the role %s owns %s (or is a member of its owner)', me.name, t.name)
		FROM me, unnest($1::text[]) AS t(name)
		WHERE NOT me.rolsuper AND to_regclass(t.name) IS NOT NULL
		  AND pg_has_role(me.name, (SELECT relowner FROM pg_class WHERE oid = to_regclass(t.name)), 'MEMBER')
		UNION ALL
		SELECT format('the role %s may %s %s', me.name, p.priv, t.name)
		FROM me, unnest($1::text[]) AS t(name),
		     unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p(priv)
		WHERE NOT me.rolsuper AND to_regclass(t.name) IS NOT NULL
		  AND NOT pg_has_role(me.name, (SELECT relowner FROM pg_class WHERE oid = to_regclass(t.name)), 'MEMBER')
		  AND has_table_privilege(me.name, t.name, p.priv)`, database.AppendOnlyTables)
	risks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit: check privileges: %w", err)
	}
	return risks, nil
}
