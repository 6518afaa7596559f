package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runAtRate calls fire at a fixed arrival rate for dur: an open model, each arrival in
// its own goroutine whether or not earlier ones have finished, so a slow console sees
// the queue grow instead of the load generator slowing down. Arrivals are scheduled on
// absolute times (start + i/rate): a late tick is caught up, not skipped. When
// maxInFlight requests are already outstanding an arrival is dropped and counted.
// It returns the elapsed time until the last request finished and the dropped count.
func runAtRate(ctx context.Context, rate float64, dur time.Duration, maxInFlight int, fire func(i int)) (time.Duration, int) {
	n := int(rate * dur.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var dropped atomic.Int64
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			dropped.Add(1)
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fire(i)
		}(i)
	}
	wg.Wait()
	return time.Since(start), int(dropped.Load())
}
