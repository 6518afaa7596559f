package session

import (
	"encoding/hex"
	"testing"
	"time"
)

func liveCache(size int) *cache {
	c := newCache(size, time.Hour)
	c.setLive(true, time.Now().Add(time.Hour))
	return c
}

func entryOf(op int64, now time.Time) *entry {
	return &entry{operatorID: &op, readAt: now, lastSeen: now, expires: now.Add(time.Hour)}
}

// A read that began before an invalidation must not store what it read: the change the
// invalidation announced may have committed after the read's snapshot.
func TestReadOvertakenByANotificationIsNotCached(t *testing.T) {
	now := time.Now()
	c := liveCache(10)
	k := keyOf("a")
	if e, _ := c.get(k, now); e != nil {
		t.Fatal("empty cache answered")
	}
	_, epoch := c.get(k, now)
	c.dropSession(keyOf("some other session"))
	c.put(k, entryOf(1, now), epoch)
	if e, _ := c.get(k, now); e != nil {
		t.Fatal("a read overtaken by an invalidation was cached")
	}
	_, epoch = c.get(k, now)
	c.put(k, entryOf(1, now), epoch)
	if e, _ := c.get(k, now); e == nil {
		t.Fatal("an undisturbed read was not cached")
	}
}

func TestCacheIsUsedOnlyWhileLiveAndLeased(t *testing.T) {
	now := time.Now()
	k := keyOf("a")
	c := newCache(10, time.Hour)
	_, epoch := c.get(k, now)
	c.put(k, entryOf(1, now), epoch)
	if len(c.entries) != 0 {
		t.Fatal("cached while no listener is connected")
	}

	c.setLive(true, time.Now().Add(-time.Millisecond)) // connected, but not heard from lately
	_, epoch = c.get(k, now)
	c.put(k, entryOf(1, now), epoch)
	if len(c.entries) != 0 || c.stats().Live {
		t.Fatal("cached after the listener's lease ran out")
	}

	c.setLive(true, time.Now().Add(time.Hour))
	_, epoch = c.get(k, now)
	c.put(k, entryOf(1, now), epoch)
	c.leaseUntil = time.Now().Add(-time.Millisecond)
	if e, _ := c.get(k, now); e != nil {
		t.Fatal("served from memory after the lease ran out")
	}
	c.extendLease(time.Now().Add(time.Hour))
	if len(c.entries) != 0 {
		t.Fatal("a lease renewed after it ran out kept what was cached before")
	}

	_, epoch = c.get(k, now)
	c.put(k, entryOf(1, now), epoch)
	c.setLive(false, time.Time{})
	if e, _ := c.get(k, now); e != nil || len(c.entries) != 0 {
		t.Fatal("cache kept or served after the listener went down")
	}
}

func TestCacheIsBounded(t *testing.T) {
	now := time.Now()
	c := liveCache(3)
	for i := range 10 {
		k := keyOf(string(rune('a' + i)))
		_, epoch := c.get(k, now)
		c.put(k, entryOf(int64(i%2), now), epoch)
	}
	n := 0
	for _, keys := range c.byOperator {
		n += len(keys)
	}
	if len(c.entries) != 3 || n != 3 {
		t.Fatalf("%d entries, %d indexed by operator; want 3 and 3", len(c.entries), n)
	}
}

func TestCachedEntryFreshness(t *testing.T) {
	now := time.Now()
	c := newCache(10, 10*time.Second)
	e := entryOf(1, now)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"just read", now, true},
		{"before max age", now.Add(9 * time.Second), true},
		{"at max age", now.Add(10 * time.Second), false},
		{"clock went back", now.Add(-time.Second), false},
	} {
		if got := c.fresh(e, tc.at); got != tc.want {
			t.Errorf("%s: fresh = %v, want %v", tc.name, got, tc.want)
		}
	}
	c.maxAge = time.Hour
	if c.fresh(e, now.Add(touchEvery)) {
		t.Error("fresh when due for its touch")
	}
	e.expires = now.Add(time.Second)
	if c.fresh(e, now.Add(time.Second)) {
		t.Error("fresh at its end")
	}
}

func TestNotificationPayloads(t *testing.T) {
	now := time.Now()
	fill := func() *Store {
		s := &Store{cache: liveCache(10)}
		for i, id := range []string{"a", "b", "c"} {
			k := keyOf(id)
			_, epoch := s.cache.get(k, now)
			s.cache.put(k, entryOf(int64(1+i/2), now), epoch) // a, b: operator 1; c: operator 2
		}
		return s
	}
	cached := func(s *Store) (ids string) {
		for _, id := range []string{"a", "b", "c"} {
			if _, ok := s.cache.entries[keyOf(id)]; ok {
				ids += id
			}
		}
		return ids
	}
	ka := keyOf("a")
	for _, tc := range []struct{ payload, left string }{
		{hex.EncodeToString(ka[:]), "bc"},
		{"op:1", "c"},
		{"op:2", "ab"},
		{"op:3", "abc"},
		{"*", ""},
		{"op:x", ""},
		{"not a payload", ""},
	} {
		s := fill()
		s.apply(tc.payload)
		if got := cached(s); got != tc.left {
			t.Errorf("after %q cached %q, want %q", tc.payload, got, tc.left)
		}
	}
}
