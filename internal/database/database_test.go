package database_test

import (
	"context"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/migrations"
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

// Replicas started together all run Migrate against one empty database: each must succeed,
// and every migration must be applied exactly once between them.
func TestConcurrentMigrateAppliesEachMigrationOnce(t *testing.T) {
	url := dbtest.Empty(t)
	ctx := context.Background()
	const replicas = 4
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		pool, err := database.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		wg.Go(func() {
			<-start
			applied[i], errs[i] = database.Migrate(ctx, pool)
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
		total += applied[i]
	}
	entries, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if total != len(entries) {
		t.Fatalf("replicas applied %d migrations between them, want %d (each once)", total, len(entries))
	}
}
