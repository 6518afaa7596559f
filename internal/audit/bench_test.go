package audit

import (
	"context"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// BenchmarkAppend measures one append on real PostgreSQL: transaction, advisory lock,
// head read, hash and insert.
func BenchmarkAppend(b *testing.B) {
	s := NewStore(dbtest.New(b))
	ctx := context.Background()
	e := sampleEvent(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel measures appends from many goroutines, which the lock serialises.
func BenchmarkAppendParallel(b *testing.B) {
	s := NewStore(dbtest.New(b))
	ctx := context.Background()
	e := sampleEvent(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
