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
