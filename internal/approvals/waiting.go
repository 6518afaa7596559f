package approvals

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxWaitingInMemory is how many pending requests a Store keeps in memory to count from;
// with more pending, it counts in the database.
const MaxWaitingInMemory = 1000

// pendingRow is what counting needs of a pending request.
type pendingRow struct {
	id                   int64
	action               string
	requestedBy          int64
	targetType, targetID string
	expiresAt            time.Time
}

// waitsFor reports whether operator id (idText in decimal), allowed to approve actions,
// may decide r at now: the predicates of the count in the database, state aside (only
// pending requests are kept).
func (r pendingRow) waitsFor(id int64, idText string, actions []string, now time.Time) bool {
	if !r.expiresAt.After(now) || r.requestedBy == id || (r.targetType == "operator" && r.targetID == idText) {
		return false
	}
	for _, a := range actions {
		if r.action == a {
			return true
		}
	}
	return false
}

// countWaiting counts the rows operator id, allowed to approve actions, may decide at now.
func countWaiting(rows []pendingRow, id int64, actions []string, now time.Time) int {
	idText := strconv.FormatInt(id, 10)
	n := 0
	for _, r := range rows {
		if r.waitsFor(id, idText, actions, now) {
			n++
		}
	}
	return n
}

// WaitingStats count what a Store's copy of the pending requests did since the Store was
// made.
type WaitingStats struct {
	// Hits are counts made from memory; Misses counts made in the database.
	Hits, Misses int64
	// Loads are reads of the pending requests into memory.
	Loads int64
	// Invalidations are copies dropped on a notification or on the Store's own write.
	Invalidations int64
	// Live reports whether the copy is in use: the listener is connected and has heard
	// from the database recently. When it is not, every count reads the database.
	Live bool
	// Loaded reports whether a copy is held now, and Size how many requests it holds.
	Loaded bool
	Size   int
}

// source says where a count comes from.
type source int

const (
	fromDatabase source = iota // count in the database
	fromMemory                 // count the rows held
	toLoad                     // read the pending requests, count them and offer them to keep
)

// waiting holds the pending requests between counts. It is trusted only while the
// listener is connected and within its lease (live); a load may keep what it read only if
// nothing was invalidated since it began (the epoch did not move), so a notification that
// overtakes a slow read cannot leave the read's stale rows behind. One load runs at a
// time; counts meanwhile read the database, as they would without the copy.
type waiting struct {
	max int

	mu         sync.Mutex
	rows       []pendingRow // never changed once kept: replaced whole
	loaded     bool
	tooMany    bool // the last load found more than max: count in the database until a change
	loading    bool // a load that began at epoch is under way
	epoch      uint64
	live       bool
	leaseUntil time.Time

	hits, misses, loads, invalidations atomic.Int64
}

func newWaiting(max int) *waiting {
	if max <= 0 {
		max = MaxWaitingInMemory
	}
	return &waiting{max: max}
}

// usable reports whether the copy may be used; the caller holds mu.
func (w *waiting) usable() bool {
	return w.live && time.Now().Before(w.leaseUntil)
}

// source says where the next count comes from, with the rows to count from memory or the
// epoch a load begins at.
func (w *waiting) source() (source, []pendingRow, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.usable() || w.tooMany || (!w.loaded && w.loading):
		w.misses.Add(1)
		return fromDatabase, nil, w.epoch
	case w.loaded:
		w.hits.Add(1)
		return fromMemory, w.rows, w.epoch
	}
	w.loading = true
	w.loads.Add(1)
	return toLoad, nil, w.epoch
}

// keep stores what a load that began at epoch read (complete says whether it read every
// pending request, or stopped past max), unless something was invalidated since or the
// copy is not usable.
func (w *waiting) keep(rows []pendingRow, complete bool, epoch uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if epoch != w.epoch {
		return
	}
	w.loading = false
	if !w.usable() {
		return
	}
	w.tooMany = !complete
	if complete {
		w.rows, w.loaded = rows, true
	}
}

// abandon ends a load that began at epoch without keeping anything (it failed).
func (w *waiting) abandon(epoch uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if epoch == w.epoch {
		w.loading = false
	}
}

// clear forgets the copy and starts a new epoch; the caller holds mu.
func (w *waiting) clear() {
	w.epoch++
	w.rows, w.loaded, w.tooMany, w.loading = nil, false, false, false
}

// drop forgets the copy: the pending requests changed.
func (w *waiting) drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.invalidations.Add(1)
	w.clear()
}

// setLive turns the copy on (empty: notifications may have been missed while it was off)
// or off, when the listener connects or loses its connection.
func (w *waiting) setLive(live bool, leaseUntil time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clear()
	w.live, w.leaseUntil = live, leaseUntil
}

// extendLease records that the listener heard from the database: the copy may be
// trusted until leaseUntil. A lease that had already run out is renewed only with no
// copy, as after a reconnection: what was held before cannot be vouched for.
func (w *waiting) extendLease(leaseUntil time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !time.Now().Before(w.leaseUntil) {
		w.clear()
	}
	if leaseUntil.After(w.leaseUntil) {
		w.leaseUntil = leaseUntil
	}
}

func (w *waiting) stats() WaitingStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WaitingStats{Hits: w.hits.Load(), Misses: w.misses.Load(), Loads: w.loads.Load(),
		Invalidations: w.invalidations.Load(), Live: w.usable(), Loaded: w.loaded, Size: len(w.rows)}
}
