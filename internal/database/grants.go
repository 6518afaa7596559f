package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppendOnlyTables are the tables the serving role may only read and append to: the
// audit log and its signed checkpoints. Their triggers refuse UPDATE, DELETE and TRUNCATE
// to everyone; Grant also withholds those privileges, so that the serving role is refused
// before any trigger runs, and never holds TRIGGER or REFERENCES on them.
var AppendOnlyTables = []string{"audit_events", "audit_checkpoints"}

// versionTable is goose's record of applied migrations: the serving role reads it (serve
// checks that nothing is pending) and never writes it.
const versionTable = "goose_db_version"

// grantLockKey is the pg_advisory_xact_lock key that serialises Grant across replicas:
// concurrent GRANTs on one table can fail with "tuple concurrently updated".
const grantLockKey = 0x636f6e736f6c6567 // "consoleg"

// Grant gives the serving role exactly what the console needs in the migrated schema,
// and nothing it could use to rewrite the audit log. Run it as the owner role (the one
// the migrations ran as) after every Migrate: it resets the serving role's privileges on
// every table and sequence in the schema to
//
//   - SELECT, INSERT, UPDATE, DELETE on every table, and USAGE on every sequence;
//   - SELECT, INSERT only on AppendOnlyTables, SELECT only on goose_db_version;
//   - EXECUTE on the schema's functions (PUBLIC has it by default anyway);
//
// and makes the owner's future tables and sequences in the schema carry the general
// grants by default (ALTER DEFAULT PRIVILEGES), so a table a later migration adds is
// usable before Grant runs again. Everything happens in one transaction.
func Grant(ctx context.Context, owner *pgxpool.Pool, serving string) error {
	role := pgx.Identifier{serving}.Sanitize()
	return pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", grantLockKey); err != nil {
			return fmt.Errorf("database: grant: lock: %w", err)
		}
		var schema string
		if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return fmt.Errorf("database: grant: schema: %w", err)
		}
		s := pgx.Identifier{schema}.Sanitize()
		stmts := []string{
			"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + role,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT USAGE ON SEQUENCES TO " + role,
			"REVOKE ALL ON ALL TABLES IN SCHEMA " + s + " FROM " + role,
			"REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + s + " FROM " + role,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + role,
			"GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + role,
			"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA " + s + " TO " + role,
			"REVOKE INSERT, UPDATE, DELETE ON " + pgx.Identifier{schema, versionTable}.Sanitize() + " FROM " + role,
		}
		for _, t := range AppendOnlyTables {
			stmts = append(stmts, "REVOKE UPDATE, DELETE ON "+pgx.Identifier{schema, t}.Sanitize()+" FROM "+role)
		}
		for _, sql := range stmts {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("database: grant: %s: %w", sql, err)
			}
		}
		return nil
	})
}

// User is the role a connection string logs in as (with libpq's defaults: PGUSER, then
// the operating system user, when it names none).
func User(url string) (string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", fmt.Errorf("database: parse connection string: %w", err)
	}
	return cfg.User, nil
}
