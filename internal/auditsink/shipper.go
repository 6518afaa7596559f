package auditsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/audit"
)

// Appender records audit events; *audit.Store and the console's measured audit log are one.
type Appender interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
}

// Options tune a Shipper; zero values take the defaults.
type Options struct {
	BatchSize int           // events per batch at most; default 500
	BatchWait time.Duration // how long a batch that is not full waits for more; default 1 s
	Poll      time.Duration // how often an idle sink looks for new events; default 200 ms
	// MinBackoff and MaxBackoff bound the retry delay after a failed delivery, which
	// doubles from MinBackoff with full jitter; defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// LockPoll is how often a standby replica tries the shipping lock and the holder checks
	// its lock connection; default 5 s (a dead holder is replaced within about 11 + 5 s at worst).
	LockPoll time.Duration
	// FailAfter is how many deliveries in a row must fail before the sink counts as
	// failing (audit.sink_failure); default 3, so one dropped request is not an incident.
	FailAfter  int
	Registerer prometheus.Registerer // where the metrics go; nil: not registered
	Logger     *slog.Logger
	Clock      func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FailAfter <= 0 {
		o.FailAfter = 3
	}
	def(&o.BatchWait, time.Second)
	def(&o.Poll, 200*time.Millisecond)
	o.Poll = min(o.Poll, o.BatchWait)
	def(&o.MinBackoff, 100*time.Millisecond)
	def(&o.MaxBackoff, 5*time.Second)
	def(&o.LockPoll, 5*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}

// Shipper streams the audit log to its sinks while this replica holds the shipping lock.
type Shipper struct {
	pool     *pgxpool.Pool
	audit    Appender
	sinks    []Sink
	cursors  cursors
	opts     Options
	metrics  *metrics
	shipping atomic.Bool
}

// New returns a Shipper of the log in pool to sinks, recording sink failures with log.
// It registers the metrics on opts.Registerer.
func New(pool *pgxpool.Pool, log Appender, sinks []Sink, opts Options) (*Shipper, error) {
	opts.defaults()
	s := &Shipper{pool: pool, audit: log, sinks: sinks, cursors: cursors{pool}, opts: opts}
	s.metrics = newMetrics(s.Status)
	for _, name := range s.names() {
		s.metrics.errors.WithLabelValues(name) // exported as 0 before the first error
	}
	if opts.Registerer != nil {
		if err := s.metrics.register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("auditsink: register metrics: %w", err)
		}
	}
	return s, nil
}

func (s *Shipper) names() []string {
	names := make([]string, len(s.sinks))
	for i, sk := range s.sinks {
		names[i] = sk.Name()
	}
	return names
}

// Run ships until ctx ends: it waits for the shipping lock, then ships every sink until
// ctx ends or the lock's connection fails, and then waits for the lock again.
func (s *Shipper) Run(ctx context.Context) {
	if len(s.sinks) == 0 {
		return
	}
	for ctx.Err() == nil {
		lock, err := tryLock(ctx, s.pool)
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("audit stream: shipping lock", "err", err)
		}
		if lock != nil {
			s.opts.Logger.Info("audit stream: this replica ships", "sinks", s.names())
			s.shipWhileHeld(ctx, lock)
			lock.release()
			continue
		}
		sleep(ctx, s.opts.LockPoll)
	}
}

// shipWhileHeld runs one loop per sink until ctx ends or the lock connection stops
// answering, and returns when every loop has stopped.
func (s *Shipper) shipWhileHeld(ctx context.Context, lock *shipLock) {
	s.shipping.Store(true)
	defer s.shipping.Store(false)
	held, lost := context.WithCancel(ctx)
	defer lost()
	var wg sync.WaitGroup
	for _, sk := range s.sinks {
		wg.Go(func() { s.ship(held, sk) })
	}
	for held.Err() == nil {
		sleep(held, s.opts.LockPoll)
		if err := lock.alive(held, s.opts.LockPoll); err != nil && held.Err() == nil {
			s.opts.Logger.Error("audit stream: lost the shipping lock; stopping", "err", err)
			lost()
		}
	}
	wg.Wait()
}

// sinkRun is one sink's state while this replica ships.
type sinkRun struct {
	sink    Sink
	pos     int64 // the last seq delivered (or rewound to)
	failing bool
	attempt int // failures since the last success, for the backoff
	inARow  int // failed deliveries since the last success
}

// ship delivers the sink's events from its cursor on, until ctx ends.
func (s *Shipper) ship(ctx context.Context, sk Sink) {
	var run *sinkRun
	for run == nil && ctx.Err() == nil {
		cur, err := s.cursors.load(ctx, sk.Name())
		if err != nil {
			s.opts.Logger.Error("audit stream: load cursor", "sink", sk.Name(), "err", err)
			sleep(ctx, s.opts.MaxBackoff)
			continue
		}
		run = &sinkRun{sink: sk, pos: cur.seq, failing: cur.failing}
	}
	for ctx.Err() == nil {
		p, err := s.collect(ctx, sk, run.pos)
		var idle *idleError
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &idle):
			s.failedDelivery(ctx, run, idle.err)
		case err != nil:
			s.opts.Logger.Error("audit stream: read events", "sink", sk.Name(), "err", err)
			sleep(ctx, s.backoff(run))
		default:
			s.deliver(ctx, run, p)
		}
	}
}

// idleError is a sink's error on the empty batch of an idle poll.
type idleError struct{ err error }

func (e *idleError) Error() string { return e.err.Error() }

// collect returns the events after seq after: a full batch as soon as there is one,
// otherwise what arrived within BatchWait of the oldest of them. While there is nothing to
// send it gives the sink an empty batch at every poll, so a sink without acknowledgements
// can report a connection that broke after its last batch (an error then ends collect).
func (s *Shipper) collect(ctx context.Context, sk Sink, after int64) (*pending, error) {
	p := &pending{}
	var firstSeen time.Time
	for {
		from := after
		if p.len() > 0 {
			from = p.last
		}
		if err := readAfter(ctx, s.pool, from, s.opts.BatchSize-p.len(), p); err != nil {
			return nil, err
		}
		if p.len() >= s.opts.BatchSize {
			return p, nil
		}
		wait := s.opts.Poll
		if p.len() == 0 {
			if err := sk.Deliver(ctx, Batch{First: after + 1, Last: after}); err != nil {
				return nil, &idleError{err}
			}
		} else {
			now := s.opts.Clock()
			if firstSeen.IsZero() {
				firstSeen = now
			}
			oldest := p.times[0]
			if firstSeen.Before(oldest) { // an event stamped ahead of this replica's clock
				oldest = firstSeen
			}
			left := oldest.Add(s.opts.BatchWait).Sub(now)
			if left <= 0 {
				return p, nil
			}
			wait = min(wait, left)
		}
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
	}
}

// deliver sends p until the sink acknowledges it, the sink asks to rewind, or ctx ends.
func (s *Shipper) deliver(ctx context.Context, run *sinkRun, p *pending) {
	for ctx.Err() == nil {
		err := run.sink.Deliver(ctx, p.batch())
		if err == nil {
			s.acknowledged(ctx, run, p)
			return
		}
		if ctx.Err() != nil {
			return // this replica is stopping; the next shipper sends the batch again
		}
		if s.failedDelivery(ctx, run, err) {
			return // rewound: read again from the new position
		}
	}
}

// failedDelivery records a failed delivery, moves the sink back when it asks to, waits
// the backoff, and reports whether it moved back.
func (s *Shipper) failedDelivery(ctx context.Context, run *sinkRun, err error) (rewound bool) {
	s.failed(ctx, run, err)
	var rw *RewindError
	if errors.As(err, &rw) {
		s.rewind(ctx, run, rw.From-1)
	}
	sleep(ctx, s.backoff(run))
	return rw != nil
}

// acknowledged moves the sink past p and records a recovery when it was failing.
func (s *Shipper) acknowledged(ctx context.Context, run *sinkRun, p *pending) {
	run.pos, run.attempt, run.inARow = p.last, 0, 0
	// A cursor left behind only means events sent again after a restart.
	if err := s.cursors.advance(ctx, run.sink.Name(), p.last, p.lastHash); err != nil {
		s.opts.Logger.Error("audit stream: store cursor", "sink", run.sink.Name(), "err", err)
	}
	if run.failing {
		s.recordRecovery(ctx, run)
	}
}

// rewind moves the sink back to seq, in memory and in the stored cursor.
func (s *Shipper) rewind(ctx context.Context, run *sinkRun, seq int64) {
	seq = max(seq, 0)
	run.pos = min(run.pos, seq)
	if err := s.cursors.rewind(ctx, run.sink.Name(), run.pos); err != nil {
		s.opts.Logger.Error("audit stream: rewind cursor", "sink", run.sink.Name(), "err", err)
	}
}

// backoff is the delay before the next attempt: full jitter over an exponential bound.
func (s *Shipper) backoff(run *sinkRun) time.Duration {
	run.attempt++
	bound := s.opts.MaxBackoff
	if run.attempt < 30 {
		bound = min(bound, s.opts.MinBackoff<<(run.attempt-1))
	}
	return rand.N(bound) + 1
}

// sleep waits d or until ctx ends, and reports whether the wait ran out.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
