package localdb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/localdb"
)

// The cluster's URLs go over its Unix socket when the socket's path fits, and over
// loopback TCP when the directory is too deep for one; both connect, and a second Start
// on a running cluster finds the same way in.
func TestClusterURLsConnect(t *testing.T) {
	base := t.TempDir()
	deep := filepath.Join(base, strings.Repeat("d", 60), strings.Repeat("e", 60))
	for _, tc := range []struct {
		dir    string
		socket bool
	}{{filepath.Join(base, "pg"), true}, {deep, false}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := localdb.Start(ctx, localdb.Options{Dir: tc.dir, Throwaway: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		url := c.URL()
		if viaSocket := strings.Contains(url, "host="+strings.ReplaceAll(tc.dir, "/", "%2F")); viaSocket != tc.socket {
			t.Fatalf("dir of %d bytes: URL %s, want a socket URL: %v", len(tc.dir), url, tc.socket)
		}
		again, err := localdb.Start(ctx, localdb.Options{Dir: tc.dir, Throwaway: true})
		if err != nil {
			t.Fatal(err)
		}
		if again.URL() != url {
			t.Fatalf("a second Start on the running cluster gives %s, want %s", again.URL(), url)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect %s: %v", url, err)
		}
		var db string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "console" {
			t.Fatalf("current database %q, %v", db, err)
		}
		conn.Close(ctx)
	}
}

// The console's database belongs to the owner role, which migrates, and the console serves
// as a role that owns nothing; a database made by an older console (everything owned by the
// superuser) is handed to the owner role at the next Start.
func TestClusterHasOwnerAndServingRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pg")
	c, err := localdb.Start(ctx, localdb.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	query := func(url, sql string) string {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect %s: %v", url, err)
		}
		defer conn.Close(ctx)
		var s string
		if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return s
	}
	for url, want := range map[string]string{c.OwnerURL(): localdb.OwnerRole, c.ServingURL(): localdb.ServingRole} {
		if got := query(url, "SELECT current_user || ' ' || rolsuper FROM pg_roles WHERE rolname = current_user"); got != want+" false" {
			t.Fatalf("%s connects as %q, want %s, not a superuser", url, got, want)
		}
	}
	owner := "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
	if got := query(c.URL(), owner); got != localdb.OwnerRole {
		t.Fatalf("database owned by %s", got)
	}

	// As an older console left it: the superuser owns the database and its objects.
	for _, sql := range []string{
		"ALTER DATABASE console OWNER TO postgres",
		"CREATE TABLE old_things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n serial)",
		"CREATE FUNCTION old_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
	} {
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		conn.Close(ctx)
	}
	if _, err := localdb.Start(ctx, localdb.Options{Dir: dir, Throwaway: true}); err != nil {
		t.Fatal(err)
	}
	if got := query(c.URL(), owner); got != localdb.OwnerRole {
		t.Fatalf("after Start the database is owned by %s", got)
	}
	if got := query(c.URL(), `SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class
		WHERE relnamespace = 'public'::regnamespace`); got != localdb.OwnerRole {
		t.Fatalf("after Start public's relations are owned by %s", got)
	}
	if got := query(c.URL(), "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'old_fn'"); got != localdb.OwnerRole {
		t.Fatalf("after Start old_fn is owned by %s", got)
	}
}
