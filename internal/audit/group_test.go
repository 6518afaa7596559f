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

// An append the database refuses fails its own caller only: the others in flight at the
// same moment are written, the lock is not left held, and the chain stays whole.
func TestRefusedAppendFailsOnlyItsCaller(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	// Stand-in for any error the database may raise on an insert.
	if _, err := dbtest.Owner(t, pool).Exec(ctx, `
		CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.reason = 'boom' THEN RAISE EXCEPTION 'refused by test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_boom();`); err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool)
	const workers = 24
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			e := sampleEvent(w)
			if w%4 == 0 {
				e.Reason = "boom"
			}
			_, errs[w] = s.Append(ctx, e)
		})
	}
	wg.Wait()
	written := 0
	for w, err := range errs {
		switch {
		case w%4 == 0 && err == nil:
			t.Errorf("append %d should have been refused", w)
		case w%4 != 0 && err != nil:
			t.Errorf("append %d failed with the refused ones: %v", w, err)
		case err == nil:
			written++
		}
	}
	// The lock is free and the store still appends.
	if _, err := s.Append(ctx, sampleEvent(100)); err != nil {
		t.Fatalf("append after refusals: %v", err)
	}
	written++
	if n := countRows(t, pool); n != written {
		t.Fatalf("%d rows, want %d", n, written)
	}
	mustVerifyIntact(t, s, int64(written))
}
