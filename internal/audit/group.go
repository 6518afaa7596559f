package audit

import (
	"context"
	"sync"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// groupWrite is one caller's events waiting to be appended.
type groupWrite struct {
	events []Event
	out    []Event
	err    error
	wake   chan struct{} // receives when the write is done or the caller is to lead
	done   bool
}

// group is group commit for the append path. Every append takes the advisory lock and
// holds it until its commit is durable, so one process appending one event per
// transaction is capped at one WAL flush per event. Concurrent writes of this Store
// instead queue here: one of them (the leader) appends everything queued, up to
// maxGroup writes, in one transaction under the lock, wakes the others with their rows
// and hands the lead to the next queued write. The chain and the lock are unchanged, so
// other processes (replicas, Seed, CloseStaleIntents) interleave as before.
type group struct {
	mu      sync.Mutex
	queue   []*groupWrite
	writing bool
}

// commit appends w's events, in a transaction shared with the writes queued with it.
func (s *Store) commit(ctx context.Context, w *groupWrite) ([]Event, error) {
	w.wake = make(chan struct{}, 1)
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if g.writing {
		g.mu.Unlock()
		<-w.wake
		if w.done {
			return w.out, w.err
		}
		g.mu.Lock() // promoted: w is now at the head of the queue
	}
	g.writing = true
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	// The rows of the whole group are written even if the leader's request has gone
	// away: the other callers are waiting on them.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	s.writeGroup(wctx, batch)
	cancel()

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].wake <- struct{}{}
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	for _, o := range batch[1:] {
		o.done = true
		o.wake <- struct{}{}
	}
	return w.out, w.err
}

// writeGroup appends the writes of batch in one transaction. When that fails and the
// batch has several writes, each is retried alone, so one bad write fails only its caller.
func (s *Store) writeGroup(ctx context.Context, batch []*groupWrite) {
	var all []Event
	for _, w := range batch {
		all = append(all, w.events...)
	}
	stored, err := s.writeTx(ctx, all)
	if err != nil && len(batch) > 1 {
		for _, w := range batch {
			w.out, w.err = s.writeTx(ctx, w.events)
		}
		return
	}
	for _, w := range batch {
		if err != nil {
			w.err = err
			continue
		}
		w.out, stored = stored[:len(w.events):len(w.events)], stored[len(w.events):]
	}
}
