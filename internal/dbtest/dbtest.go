// Package dbtest gives tests a real PostgreSQL: each test gets its own freshly migrated
// database, cloned from a template. When DATABASE_URL is unset, Main starts a private
// throwaway cluster for the test binary and stops it afterwards. There is no skipping:
// a test that needs a database and cannot get one fails.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
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
	urlFor   func(db string) string
	once     sync.Once
	template string
	err      error
}

var current *harness

// Main runs the tests of a package that uses New. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
func Main(m *testing.M) int {
	h := &harness{}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: DATABASE_URL: %v\n", err)
			return 1
		}
		h.adminURL = url
		h.urlFor = func(db string) string {
			return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, db)
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
	h.urlFor = cluster.URLFor
	current = h
	return m.Run()
}

// URL creates a fresh migrated database for the test, dropped when the test ends, and
// returns its connection string.
func URL(t testing.TB) string {
	t.Helper()
	h := harnessOf(t)
	h.once.Do(func() { h.template, h.err = h.createTemplate(context.Background()) })
	if h.err != nil {
		t.Fatalf("dbtest: template database: %v", h.err)
	}
	return h.database(t, "t_", " TEMPLATE "+h.template)
}

// Empty creates a fresh database with no migrations applied, dropped when the test ends,
// and returns its connection string.
func Empty(t testing.TB) string {
	t.Helper()
	return harnessOf(t).database(t, "e_", "")
}

func harnessOf(t testing.TB) *harness {
	t.Helper()
	if current == nil {
		t.Fatal("dbtest: the package's TestMain must call dbtest.Main")
	}
	return current
}

// database creates a database named with prefix (and the CREATE DATABASE options given),
// drops it when the test ends, and returns its connection string.
func (h *harness) database(t testing.TB, prefix, options string) string {
	t.Helper()
	name := prefix + randomName()
	if err := h.exec(context.Background(), "CREATE DATABASE "+name+options); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = h.exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return h.urlFor(name)
}

// New returns a pool on a fresh migrated database, closed and dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := URL(t)
	pool, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// AdminURL is a superuser connection string to the server's maintenance database, for
// tests that must act as the server's owner (for example to tamper with a table).
func AdminURL(t testing.TB, db string) string {
	t.Helper()
	return current.urlFor(db)
}

func (h *harness) createTemplate(ctx context.Context) (string, error) {
	name := "tmpl_" + randomName()
	if err := h.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	pool, err := database.Open(ctx, h.urlFor(name))
	if err != nil {
		return "", err
	}
	_, err = database.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", err
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
