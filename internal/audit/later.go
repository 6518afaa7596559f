package audit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Outcomes written later. A customer page is sent once its view's intent is stored; the
// outcome that closes the intent ("succeeded, the page was shown") need not be written on
// the page's path, nor in a transaction of its own: each transaction costs a WAL flush and
// holds the append lock, and at a few hundred views a second the outcomes' own
// transactions made the next views' intents wait behind them. Outcomes queued with
// OutcomeLater are written together, in one transaction, laterDelay after the first of
// them was queued (at once when laterMax are queued), and on Flush.
const (
	laterDelay = 50 * time.Millisecond
	laterMax   = 256
)

// laterWrite is one queued outcome and whom to tell how its write ended.
type laterWrite struct {
	event Event
	done  func(Event, error)
}

// later is the queue of outcomes to write.
type later struct {
	mu      sync.Mutex
	queue   []laterWrite
	timer   *time.Timer    // armed while the queue holds something
	writing sync.WaitGroup // writes under way
}

// OutcomeLater queues the outcome Outcome would write for intent and returns at once; done,
// when not nil, is called with the stored row or the error once it was written (from
// another goroutine). The row is written within laterDelay, together with the outcomes
// queued meanwhile, or at Flush. An invalid outcome is refused here and nothing is queued.
// Should the process end before the write, the intent stays open and CloseStaleIntents
// closes it as unknown, as after any outcome that could not be written.
func (s *Store) OutcomeLater(intent Event, o Outcome, change func(*Event), done func(Event, error)) error {
	e, err := outcomeEvent(intent, o, change)
	if err == nil {
		e, err = prepare(e) // checked now, so that a bad row cannot fail the others
	}
	if err != nil {
		return fmt.Errorf("audit: queue outcome: %w", err)
	}
	l := &s.later
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue = append(l.queue, laterWrite{event: e, done: done})
	switch {
	case len(l.queue) >= laterMax:
		batch := l.takeLocked()
		go s.writeLater(batch)
	case l.timer == nil:
		l.timer = time.AfterFunc(laterDelay, func() { s.writeLater(s.later.take()) })
	}
	return nil
}

// Flush writes the queued outcomes now and waits until every write under way has ended.
// The console calls it when it shuts down, after the last request.
func (s *Store) Flush() {
	s.writeLater(s.later.take())
	s.later.writing.Wait()
}

// take empties the queue for a write, which the caller must make (writeLater).
func (l *later) take() []laterWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeLocked()
}

func (l *later) takeLocked() []laterWrite {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	batch := l.queue
	l.queue = nil
	l.writing.Add(1)
	return batch
}

// writeLater appends batch in one transaction and tells each caller how it ended.
func (s *Store) writeLater(batch []laterWrite) {
	defer s.later.writing.Done()
	if len(batch) == 0 {
		return
	}
	events := make([]Event, len(batch))
	for i, w := range batch {
		events[i] = w.event
	}
	ctx, cancel := context.WithTimeout(context.Background(), outcomeTimeout)
	defer cancel()
	stored, err := s.commit(ctx, &groupWrite{events: events})
	for i, w := range batch {
		if w.done == nil {
			continue
		}
		if err != nil {
			w.done(Event{}, fmt.Errorf("audit: write outcome: %w", err))
			continue
		}
		w.done(stored[i], nil)
	}
}
