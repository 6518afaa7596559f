// Package dbtest gives tests a real PostgreSQL: each test gets its own freshly migrated
// database, cloned from a template. When DATABASE_URL is unset, Main starts a private
// throwaway cluster for the test binary and stops it afterwards. There is no skipping:
// a test that needs a database and cannot get one fails.
//
// Databases are set up as production's should be: an owner role runs the migrations and
// owns every table, and tests connect as a serving role that owns nothing and holds only
// what database.Grant gives it, so a missing grant fails the test that needs it. With
// DATABASE_URL the harness creates two such roles of its own on that server; when its user
// may not create roles, every URL is DATABASE_URL's user (one role, as before) and
// TwoRoles says why.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/localdb"
)

// harness is the state of one test binary; tests reach it through New.
type harness struct {
	adminURL string
	// urlAs is a connection string for a role (and its password) to a database.
	urlAs      func(role, password, db string) string
	admin      string // the superuser or DATABASE_URL's user
	adminPass  string
	owner      string
	ownerPass  string
	serving    string
	servePass  string
	oneRoleWhy string // non-empty when owner and serving are the admin itself
	once       sync.Once
	template   string
	err        error
}

var current *harness

// Main runs the tests of a package that uses New. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
func Main(m *testing.M) int {
	h := &harness{}
	if dbURL := os.Getenv("DATABASE_URL"); dbURL != "" {
		cfg, err := pgx.ParseConfig(dbURL)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: DATABASE_URL: %v\n", err)
			return 1
		}
		h.adminURL = dbURL
		h.admin, h.adminPass = cfg.User, cfg.Password
		h.urlAs = func(role, password, db string) string { return externalURL(cfg, role, password, db) }
		defer h.cleanup()
		if err := h.createRoles(context.Background()); err != nil {
			h.owner, h.ownerPass, h.serving, h.servePass = h.admin, h.adminPass, h.admin, h.adminPass
			h.oneRoleWhy = fmt.Sprintf("DATABASE_URL's user %s cannot set up an owner and a serving role: %v", h.admin, err)
			fmt.Fprintf(os.Stderr, "dbtest: %s; every test connects as %s\n", h.oneRoleWhy, h.admin)
		}
		current = h
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "console-pg-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cluster, err := localdb.Start(ctx, localdb.Options{Dir: dir, Throwaway: true, Database: "postgres"})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: no database for the tests (set DATABASE_URL or install PostgreSQL 15): %v\n", err)
		return 1
	}
	defer cluster.Stop()
	h.adminURL = cluster.URL()
	h.admin = "postgres"
	h.owner, h.serving = localdb.OwnerRole, localdb.ServingRole
	h.urlAs = func(role, _, db string) string { return cluster.URLAs(role, db) }
	current = h
	return m.Run()
}

// externalURL is a connection string to db on DATABASE_URL's server as role.
func externalURL(cfg *pgx.ConnConfig, role, password, db string) string {
	u := url.URL{Scheme: "postgres", Path: "/" + db, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(role, password)
	} else {
		u.User = url.User(role)
	}
	port := strconv.Itoa(int(cfg.Port))
	if strings.HasPrefix(cfg.Host, "/") {
		u.RawQuery += "&host=" + url.QueryEscape(cfg.Host) + "&port=" + port
	} else {
		u.Host = cfg.Host + ":" + port
	}
	return u.String()
}

// createRoles makes an owner and a serving role of this test binary's own on DATABASE_URL's
// server, named apart from any other binary's, and dropped by cleanup.
func (h *harness) createRoles(ctx context.Context) error {
	suffix := randomName()
	owner, serving := "dbtest_owner_"+suffix, "dbtest_app_"+suffix
	ownerPass, servePass := randomName()+randomName(), randomName()+randomName()
	for _, sql := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", owner, ownerPass),
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", serving, servePass),
		// Creating a database owned by the owner role needs membership in it.
		fmt.Sprintf("GRANT %s TO %s", owner, pgx.Identifier{h.admin}.Sanitize()),
	} {
		if err := h.exec(ctx, sql); err != nil {
			h.dropRoles(ctx, owner, serving)
			return err
		}
	}
	h.owner, h.ownerPass, h.serving, h.servePass = owner, ownerPass, serving, servePass
	return nil
}

// cleanup drops the template database and the roles this binary made on an external server.
func (h *harness) cleanup() {
	ctx := context.Background()
	if h.template != "" {
		_ = h.exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", h.template))
	}
	if h.oneRoleWhy == "" && h.owner != "" {
		h.dropRoles(ctx, h.owner, h.serving)
	}
}

func (h *harness) dropRoles(ctx context.Context, roles ...string) {
	for _, r := range roles {
		_ = h.exec(ctx, "DROP ROLE IF EXISTS "+r)
	}
}

// URL creates a fresh migrated database for the test, dropped when the test ends, and
// returns the serving role's connection string to it.
func URL(t testing.TB) string {
	t.Helper()
	h := harnessOf(t)
	h.once.Do(func() { h.template, h.err = h.createTemplate(context.Background()) })
	if h.err != nil {
		t.Fatalf("dbtest: template database: %v", h.err)
	}
	return ServingURL(t, h.database(t, "t_", " TEMPLATE "+h.template))
}

// Empty creates a fresh database with no migrations applied, dropped when the test ends,
// and returns the owner role's connection string to it (migrations run as the owner).
func Empty(t testing.TB) string {
	t.Helper()
	return OwnerURL(t, harnessOf(t).database(t, "e_", ""))
}

func harnessOf(t testing.TB) *harness {
	t.Helper()
	if current == nil {
		t.Fatal("dbtest: the package's TestMain must call dbtest.Main")
	}
	return current
}

// database creates a database named with prefix, owned by the owner role (with the
// CREATE DATABASE options given), drops it when the test ends, and returns its name.
func (h *harness) database(t testing.TB, prefix, options string) string {
	t.Helper()
	name := prefix + randomName()
	if err := h.exec(context.Background(), "CREATE DATABASE "+name+options+" OWNER "+pgx.Identifier{h.owner}.Sanitize()); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = h.exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return name
}

// New returns a pool on a fresh migrated database, connected as the serving role; it is
// closed and the database dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return open(t, URL(t))
}

// NewOwner returns a pool as the owner role on a fresh migrated database, for tests of
// what the owner (and so a one-role deployment) can do.
func NewOwner(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Owner(t, New(t))
}

// Owner returns a pool as the owner role on pool's database, closed when the test ends.
func Owner(t testing.TB, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	return open(t, OwnerURL(t, pool.Config().ConnConfig.Database))
}

func open(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// OwnerURL is the owner role's connection string to db: the role migrations run as, and
// CONSOLE_MIGRATE_DATABASE_URL in tests of the two-role setup.
func OwnerURL(t testing.TB, db string) string {
	t.Helper()
	h := harnessOf(t)
	return h.urlAs(h.owner, h.ownerPass, db)
}

// ServingURL is the serving role's connection string to db: DATABASE_URL in tests of the
// two-role setup.
func ServingURL(t testing.TB, db string) string {
	t.Helper()
	h := harnessOf(t)
	return h.urlAs(h.serving, h.servePass, db)
}

// AdminURL is a superuser connection string to the server's maintenance database, for
// tests that must act as the server's owner (for example to tamper with a table).
func AdminURL(t testing.TB, db string) string {
	t.Helper()
	h := harnessOf(t)
	return h.urlAs(h.admin, h.adminPass, db)
}

// Roles are the owner's and the serving role's names.
func Roles(t testing.TB) (owner, serving string) {
	t.Helper()
	h := harnessOf(t)
	return h.owner, h.serving
}

// TwoRoles fails the test when the harness could not set up an owner and a serving role
// (DATABASE_URL's user may not create roles). Outside CI such a test is skipped instead.
func TwoRoles(t testing.TB) {
	t.Helper()
	h := harnessOf(t)
	if h.oneRoleWhy == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("dbtest: %s (give DATABASE_URL a user with CREATEROLE, or unset it)", h.oneRoleWhy)
	}
	t.Skipf("dbtest: %s", h.oneRoleWhy)
}

// createTemplate makes the database every test's is cloned from: migrated as the owner
// role, with the serving role's grants.
func (h *harness) createTemplate(ctx context.Context) (string, error) {
	name := "tmpl_" + randomName()
	if err := h.exec(ctx, "CREATE DATABASE "+name+" OWNER "+pgx.Identifier{h.owner}.Sanitize()); err != nil {
		return "", err
	}
	pool, err := database.Open(ctx, h.urlAs(h.owner, h.ownerPass, name))
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if _, err := database.Migrate(ctx, pool); err != nil {
		return "", err
	}
	if h.serving != h.owner {
		if err := database.Grant(ctx, pool, h.serving); err != nil {
			return "", err
		}
	}
	return name, nil
}

func (h *harness) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, h.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
