package database_test

import (
	"context"
	"os"
	"testing"

	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestMigrateIsIdempotent(t *testing.T) {
	pool := dbtest.New(t)
	n, err := database.Migrate(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", n)
	}
	var exists bool
	if err := pool.QueryRow(context.Background(), "SELECT to_regclass('operators') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Fatalf("operators table missing after migrate: %v", err)
	}
}
