package audit

import (
	"context"
	"sync"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// TestConcurrentAppendsShareTransactions appends from many goroutines at once: every
// caller gets its own row back, no row is lost or duplicated and the chain is whole.
func TestConcurrentAppendsShareTransactions(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	const workers, each = 32, 25
	seqs := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := sampleEvent(w*each + i)
				var got Event
				var err error
				if i%5 == 0 {
					got, err = s.Intent(ctx, e)
				} else {
					got, err = s.Append(ctx, e)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if got.Seq <= 0 || got.Detail == nil || string(got.Detail) != string(e.Detail) {
					t.Errorf("caller got another's row: %+v for %s", got, e.Detail)
				}
				seqs <- got.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for q := range seqs {
		if seen[q] {
			t.Fatalf("seq %d returned twice", q)
		}
		seen[q] = true
	}
	if n := countRows(t, pool); n != workers*each || len(seen) != n {
		t.Fatalf("%d rows, %d seqs, want %d", n, len(seen), workers*each)
	}
	mustVerifyIntact(t, s, workers*each)
}
