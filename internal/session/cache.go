package session

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raas-console/console/internal/operators"
)

// Defaults of a Store's cache of validated sessions.
const (
	// DefaultCacheSize is how many sessions a replica keeps validated in memory.
	DefaultCacheSize = 10000
	// DefaultCacheMaxAge is how long a cached session is trusted before it is read from the
	// database again, even when no change was announced: a safety net under the
	// notifications, not the way revocations normally arrive.
	DefaultCacheMaxAge = 10 * time.Second
)

// key names a session in the cache by the SHA-256 of its id, as the table and the
// notifications do.
type key [sha256.Size]byte

// entry is one session as the database had it when it was read: the row joined with its
// operator. Data is kept encoded and decoded for each request, so that no request can
// change what the next one reads.
type entry struct {
	data       []byte
	ref        int64
	operatorID *int64
	operator   *operators.Operator
	created    time.Time
	lastSeen   time.Time
	expires    time.Time
	readAt     time.Time
}

// CacheStats count what a Store's cache did since the Store was made.
type CacheStats struct {
	// Hits are loads answered from memory, Misses loads that read the database.
	Hits, Misses int64
	// Invalidations are sessions, operators or whole caches dropped on a notification or
	// on the Store's own write.
	Invalidations int64
	// Live reports whether the cache is in use: the listener is connected and has heard
	// from the database recently. When it is not, every load reads the database.
	Live bool
	// Size is how many sessions are cached now.
	Size int
}

// cache keeps validated sessions between requests. It is trusted only while the listener
// is connected (live); a load that read the database may store what it read only if
// nothing was invalidated since it began (the epoch did not move), so a notification
// that overtakes a slow read cannot leave the read's stale row behind.
type cache struct {
	size   int
	maxAge time.Duration

	mu         sync.Mutex
	entries    map[key]*entry
	byOperator map[int64]map[key]struct{}
	epoch      uint64
	live       bool
	// leaseUntil is when the listener's last word from the database stops vouching for
	// the cache (monotonic time); see listen.Listener.Heard.
	leaseUntil time.Time

	hits, misses, invalidations atomic.Int64
}

func newCache(size int, maxAge time.Duration) *cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	if maxAge <= 0 {
		maxAge = DefaultCacheMaxAge
	}
	return &cache{size: size, maxAge: maxAge, entries: map[key]*entry{}, byOperator: map[int64]map[key]struct{}{}}
}

// usable reports whether cached sessions may be served; the caller holds mu.
func (c *cache) usable() bool {
	return c.live && time.Now().Before(c.leaseUntil)
}

// get returns the cached session k if the cache is usable and the entry fresh at now;
// it also returns the epoch a database read must start from when it does not.
func (c *cache) get(k key, now time.Time) (*entry, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.usable() {
		c.misses.Add(1)
		return nil, c.epoch
	}
	e, ok := c.entries[k]
	if !ok || !c.fresh(e, now) {
		c.misses.Add(1)
		return nil, c.epoch
	}
	c.hits.Add(1)
	return e, c.epoch
}

// fresh reports whether e may answer a load at now: read less than maxAge ago, not past
// its end, and not due for the once-a-minute touch (which a database read does).
func (c *cache) fresh(e *entry, now time.Time) bool {
	return !now.Before(e.readAt) && now.Sub(e.readAt) < c.maxAge &&
		now.Before(e.expires) && now.Sub(e.lastSeen) < touchEvery
}

// put stores what a database read that began at epoch found, unless something was
// invalidated since or the cache is not usable.
func (c *cache) put(k key, e *entry, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch || !c.usable() {
		return
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.size {
		for victim := range c.entries { // any one: a session not cached is only read again
			c.remove(victim)
			break
		}
	}
	c.remove(k)
	c.entries[k] = e
	if e.operatorID != nil {
		keys := c.byOperator[*e.operatorID]
		if keys == nil {
			keys = map[key]struct{}{}
			c.byOperator[*e.operatorID] = keys
		}
		keys[k] = struct{}{}
	}
}

// remove drops k; the caller holds mu.
func (c *cache) remove(k key) {
	e, ok := c.entries[k]
	if !ok {
		return
	}
	delete(c.entries, k)
	if e.operatorID != nil {
		if keys := c.byOperator[*e.operatorID]; keys != nil {
			delete(keys, k)
			if len(keys) == 0 {
				delete(c.byOperator, *e.operatorID)
			}
		}
	}
}

// dropSession forgets one session.
func (c *cache) dropSession(k key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.invalidations.Add(1)
	c.remove(k)
}

// dropOperator forgets every session of an operator.
func (c *cache) dropOperator(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.invalidations.Add(1)
	for k := range c.byOperator[id] {
		delete(c.entries, k)
	}
	delete(c.byOperator, id)
}

// dropAll forgets every session.
func (c *cache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.invalidations.Add(1)
	clear(c.entries)
	clear(c.byOperator)
}

// setLive turns the cache on (after everything cached before was dropped: notifications
// may have been missed while it was off) or off, when the listener connects or loses its
// connection.
func (c *cache) setLive(live bool, leaseUntil time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.entries)
	clear(c.byOperator)
	c.live = live
	c.leaseUntil = leaseUntil
}

// extendLease records that the listener heard from the database: the cache may be
// trusted until leaseUntil. A lease that had already run out is renewed only with an
// empty cache, as after a reconnection: what was cached before cannot be vouched for.
func (c *cache) extendLease(leaseUntil time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !time.Now().Before(c.leaseUntil) {
		c.epoch++
		clear(c.entries)
		clear(c.byOperator)
	}
	if leaseUntil.After(c.leaseUntil) {
		c.leaseUntil = leaseUntil
	}
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load(),
		Live: c.usable(), Size: len(c.entries)}
}
