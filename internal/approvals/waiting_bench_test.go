package approvals_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/raas-console/console/internal/approvals"
)

// BenchmarkCountWaitingFor counts, as every page's navigation does, the requests an
// admin may decide among 20 pending and among as many as the copy holds: in the database
// (no listener) and from memory (the listener connected).
func BenchmarkCountWaitingFor(b *testing.B) {
	for _, pending := range []int{20, approvals.MaxWaitingInMemory} {
		r := newReplicas(b, nil)
		r.announced(b, 1, func() {
			if _, err := r.pool.Exec(b.Context(), `INSERT INTO approval_requests (action, target_type, target_id,
				reason, requested_by, requested_by_email, requested_at, expires_at)
				SELECT 'customer.erase', 'customer', i::text, 'bench', $1, 'requester@example.com', $2, $3
				FROM generate_series(1, $4) AS i`, r.requester, r.now, r.now.Add(time.Hour), pending); err != nil {
				b.Fatal(err)
			}
		})
		for _, bc := range []struct {
			name  string
			store *approvals.Store
		}{{"database", r.b}, {"memory", r.a}} {
			b.Run(fmt.Sprintf("%s/pending=%d", bc.name, pending), func(b *testing.B) {
				benchCount(b, bc.store, r, pending)
			})
		}
	}
}

func benchCount(b *testing.B, s *approvals.Store, r *replicas, want int) {
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if n, err := s.CountWaitingFor(b.Context(), r.approver, "admin", r.now); err != nil || n != want {
			b.Fatalf("count %d, %v; want %d", n, err, want)
		}
	}
	if st := r.a.WaitingStats(); s == r.a && (st.Loads != 1 || !st.Loaded) {
		b.Fatalf("from memory: %+v; want one load", st)
	}
	// On a shared machine wall time says as much about the neighbours as about the count:
	// the process's own CPU time per count (PostgreSQL's is not in it) says less.
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the test process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
