package synerise

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// breaker is a consecutive-failures circuit breaker. Closed: calls pass; threshold
// consecutive failures open it. Open: calls fail fast until cooldown has passed, then one
// probe goes through (half-open); its success closes the circuit, its failure reopens it.
type breaker struct {
	threshold int
	cooldown  time.Duration
	clock     Clock

	mu       sync.Mutex
	failures int
	open     bool
	openedAt time.Time
	probing  bool
}

func newBreaker(threshold int, cooldown time.Duration, clock Clock) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, clock: clock}
}

// allow reports whether a call may go out. probe is true when the call is the half-open
// probe; its outcome must be reported with done(probe, ...).
func (b *breaker) allow() (probe bool, err error) {
	if b.threshold <= 0 {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, nil
	}
	wait := b.cooldown - b.clock.Now().Sub(b.openedAt)
	if wait > 0 || b.probing {
		if wait <= 0 {
			wait = time.Second // a probe is in flight; its answer is due shortly
		}
		secs := int(math.Ceil(wait.Seconds()))
		return false, fmt.Errorf("%w, not calling it for %ds", ErrCircuitOpen, secs)
	}
	b.probing = true
	return true, nil
}

// done records an outcome. neutral outcomes (the caller gave up) change nothing but free
// the probe slot.
func (b *breaker) done(probe bool, failed, neutral bool) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch {
	case neutral:
	case failed:
		b.failures++
		if probe || (!b.open && b.failures >= b.threshold) {
			b.open = true
			b.openedAt = b.clock.Now()
		}
	default:
		b.failures = 0
		if probe {
			b.open = false
		}
	}
}

// State reports "closed", "open" or "half-open" (cooldown over: the next call probes).
func (b *breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open:
		return "closed"
	case b.probing || b.clock.Now().Sub(b.openedAt) >= b.cooldown:
		return "half-open"
	default:
		return "open"
	}
}
