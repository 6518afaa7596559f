package audit

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
)

func appendN(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Append(context.Background(), sampleEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// The triggers refuse even the owner (the console's role refuses earlier, for want of the
// privileges: see internal/server's TestTwoRolesServingRoleCannotRewriteTheAuditLog).
func TestTableRejectsUpdateDeleteTruncate(t *testing.T) {
	pool := dbtest.NewOwner(t)
	s := NewStore(pool)
	appendN(t, s, 3)
	ctx := context.Background()
	for _, sql := range []string{
		"UPDATE audit_events SET reason = 'x' WHERE seq = 2",
		"DELETE FROM audit_events WHERE seq = 2",
		"TRUNCATE audit_events",
	} {
		_, err := pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "audit_events is append-only") {
			t.Errorf("%s: err = %v, want append-only rejection", sql, err)
		}
	}
	if n := countRows(t, pool); n != 3 {
		t.Fatalf("%d rows left, want 3", n)
	}
	mustVerifyIntact(t, s, 3)
}

func TestVerifyFindsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, pool *pgxpool.Pool) []string
		seq     int64
		problem string
		breaks  int64
	}{
		{"content altered", sqls("UPDATE audit_events SET reason = 'covered up' WHERE seq = 4"), 4, "hash mismatch", 1},
		{"detail whitespace altered", sqls(`UPDATE audit_events SET detail = '{"n": 6}' WHERE seq = 7`), 7, "hash mismatch", 1},
		{"time altered", sqls("UPDATE audit_events SET occurred_at = occurred_at + interval '1 microsecond' WHERE seq = 2"), 2, "hash mismatch", 1},
		{"hash altered", sqls("UPDATE audit_events SET hash = sha256(hash) WHERE seq = 5"), 5, "hash mismatch", 2},
		{"middle row deleted", sqls("DELETE FROM audit_events WHERE seq = 5"), 5, "row missing", 1},
		{"first row deleted", sqls("DELETE FROM audit_events WHERE seq = 1"), 1, "row missing", 1},
		{"two rows swapped", sqls(
			"UPDATE audit_events SET seq = 1000 WHERE seq = 3",
			"UPDATE audit_events SET seq = 3 WHERE seq = 4",
			"UPDATE audit_events SET seq = 4 WHERE seq = 1000",
		), 3, "hash mismatch", 3},
		{"row replaced with a re-hashed forgery", forgeRow(6), 7, "prev_hash mismatch", 1},
		{"first row re-linked", sqls("UPDATE audit_events SET prev_hash = sha256(prev_hash) WHERE seq = 1"), 1, "hash mismatch", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := dbtest.New(t)
			s := NewStore(pool)
			appendN(t, s, 10)
			conn := adminConn(t, pool)
			ctx := context.Background()
			// A superuser can bypass the triggers; the chain must still tell.
			if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
				t.Fatal(err)
			}
			for _, sql := range tt.tamper(t, pool) {
				if _, err := conn.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			r, err := s.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.First == nil || r.First.Seq != tt.seq || !strings.Contains(r.First.Problem, tt.problem) {
				t.Fatalf("verify = %s, want a %q break at seq %d", r, tt.problem, tt.seq)
			}
			if got := r.First.String(); !strings.HasPrefix(got, "seq="+itoa(tt.seq)+": "+tt.problem) {
				t.Fatalf("Break.String() = %q", got)
			}
			if r.Breaks != tt.breaks {
				t.Errorf("%d breaks reported, want %d (%s)", r.Breaks, tt.breaks, r)
			}
			if want := int64(10); r.RowsChecked != want && !strings.Contains(tt.name, "deleted") {
				t.Errorf("rows checked %d, want %d", r.RowsChecked, want)
			}
		})
	}
}

func sqls(statements ...string) func(*testing.T, *pgxpool.Pool) []string {
	return func(*testing.T, *pgxpool.Pool) []string { return statements }
}

// forgeRow replaces row seq with different content and a correctly recomputed hash, as an
// attacker who knows the algorithm would: the row itself checks out, the next one does not.
func forgeRow(seq int64) func(*testing.T, *pgxpool.Pool) []string {
	return func(t *testing.T, pool *pgxpool.Pool) []string {
		e, err := NewStore(pool).Get(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		e.Reason = "forged"
		hash, err := computeHash(e.PrevHash, e)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"UPDATE audit_events SET reason = 'forged', hash = '\\x" + hexString(hash) + "' WHERE seq = " + itoa(seq)}
	}
}
