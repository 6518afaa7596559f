package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is the pg_advisory_xact_lock key that serialises every append to audit_events,
// across all processes using the database ("auditlog" in ASCII).
const lockKey int64 = 0x61756469746c6f67

// outcomeTimeout bounds the write of an outcome row, which does not follow the caller's
// cancellation: the outside change has already happened and must be recorded.
const outcomeTimeout = 15 * time.Second

const eventColumns = `seq, occurred_at, actor_id, actor_email, actor_role, action,
	target_type, target_id, target_label, reason, outcome, detail, before, after,
	upstream_status, upstream_error, trace_id, request_id, client_ip, user_agent,
	intent_seq, prev_hash, hash`

// Store writes and reads the audit log.
type Store struct {
	pool  *pgxpool.Pool
	clock func() time.Time
	group group     // concurrent appends share transactions (group.go)
	later later     // outcomes written off their callers' paths (later.go)
	head  knownHead // the last row written here, while nothing else is known to follow it
	stale staleScan // how far back CloseStaleIntents still has to look (stale.go)
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the Store take event times from clock instead of time.Now.
func WithClock(clock func() time.Time) Option {
	return func(s *Store) { s.clock = clock }
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, clock: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Append records a one-phase event, such as a sign-in, a view or a denial, and returns it
// as stored, with Seq, Time, PrevHash and Hash set. The caller's Time is ignored. It
// rejects unknown actions, invalid outcomes, OutcomePending (use Intent) and a set
// IntentSeq (use Outcome); nothing is written then.
func (s *Store) Append(ctx context.Context, e Event) (Event, error) {
	if e.Outcome == OutcomePending {
		return Event{}, errors.New("audit: append event: outcome pending is for intents (use Intent)")
	}
	if e.IntentSeq != 0 {
		return Event{}, errors.New("audit: append event: intent seq is set (use Outcome)")
	}
	stored, err := s.write(ctx, []Event{e})
	if err != nil {
		return Event{}, fmt.Errorf("audit: append event: %w", err)
	}
	return stored[0], nil
}

// Intent records that the actor is about to make a change outside the console, with
// outcome pending, and returns the stored event to pass to Outcome afterwards. If Intent
// returns an error the caller must not make the change.
func (s *Store) Intent(ctx context.Context, e Event) (Event, error) {
	e.Outcome = OutcomePending
	e.IntentSeq = 0
	stored, err := s.write(ctx, []Event{e})
	if err != nil {
		return Event{}, fmt.Errorf("audit: write intent: %w", err)
	}
	return stored[0], nil
}

// Outcome records how the change announced by intent ended. The new row links to the
// intent by IntentSeq and copies its actor, action, target, reason, request id, client IP,
// user agent and trace id; change, when not nil, may then set Detail, Before, After,
// UpstreamStatus, UpstreamError and TraceID (other fields it sets are overwritten).
//
// The write ignores the cancellation of ctx (the change has happened and must be
// recorded) but gives up after 15 seconds; an outcome that could not be written leaves the
// intent open for CloseStaleIntents.
func (s *Store) Outcome(ctx context.Context, intent Event, o Outcome, change func(*Event)) (Event, error) {
	e, err := outcomeEvent(intent, o, change)
	if err != nil {
		return Event{}, fmt.Errorf("audit: write outcome: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	stored, err := s.write(ctx, []Event{e})
	if err != nil {
		return Event{}, fmt.Errorf("audit: write outcome: %w", err)
	}
	return stored[0], nil
}

// outcomeEvent is the outcome row Outcome writes for intent, or why there is none.
func outcomeEvent(intent Event, o Outcome, change func(*Event)) (Event, error) {
	if intent.Seq <= 0 || intent.Outcome != OutcomePending {
		return Event{}, fmt.Errorf("event %d is not a stored intent", intent.Seq)
	}
	if o == OutcomePending || !o.Valid() {
		return Event{}, fmt.Errorf("invalid outcome %q", o)
	}
	e := outcomeOf(intent, o)
	if change != nil {
		change(&e)
		linked := outcomeOf(intent, o)
		linked.Detail, linked.Before, linked.After = e.Detail, e.Before, e.After
		linked.UpstreamStatus, linked.UpstreamError, linked.TraceID = e.UpstreamStatus, e.UpstreamError, e.TraceID
		if intent.Target.Label == "" { // an intent written before its target was read names it now
			linked.Target.Label = e.Target.Label
		}
		e = linked
	}
	return e, nil
}

// outcomeOf is the outcome row of intent before the caller adds what happened.
func outcomeOf(intent Event, o Outcome) Event {
	return Event{
		Actor:     intent.Actor,
		Action:    intent.Action,
		Target:    intent.Target,
		Reason:    intent.Reason,
		Outcome:   o,
		TraceID:   intent.TraceID,
		RequestID: intent.RequestID,
		ClientIP:  intent.ClientIP,
		UserAgent: intent.UserAgent,
		IntentSeq: intent.Seq,
	}
}

// write validates events and appends them under the append lock, in a transaction
// shared with the appends of other goroutines made at the same moment (group.go).
func (s *Store) write(ctx context.Context, events []Event) ([]Event, error) {
	for i := range events {
		e, err := prepare(events[i])
		if err != nil {
			return nil, err
		}
		events[i] = e
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.commit(ctx, &groupWrite{events: events})
}

// writeTx appends prepared events in one transaction under the append lock. When this
// Store knows the head (it wrote the last row it saw), that is one round trip to
// PostgreSQL: BEGIN, the lock, the inserts chained after the known head, and COMMIT go in
// one pipelined batch. seq is the table's primary key, so if another process appended in
// the meantime the first insert collides with its row, nothing is written, and the append
// is made again the long way (writeAfterHead). After any other error the connection may
// still be inside the transaction; the pool closes such a connection on Release, which
// rolls it back and frees the lock.
func (s *Store) writeTx(ctx context.Context, events []Event) ([]Event, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()

	if seq, prevHash, known := s.head.take(); known { // forgotten until this write ends well
		out, batch, err := s.chain(seq, prevHash, events)
		if err != nil {
			return nil, err
		}
		batch.Queue("COMMIT")
		err = conn.SendBatch(ctx, prependOpen(batch)).Close()
		if err == nil {
			s.head.set(out[len(out)-1])
			return out, nil
		}
		if !isSeqTaken(err) {
			return nil, err
		}
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return nil, err
		}
	}
	out, err := s.writeAfterHead(ctx, conn.Conn(), events)
	if err != nil {
		return nil, err
	}
	s.head.set(out[len(out)-1])
	return out, nil
}

// prependOpen returns a batch that begins the transaction and takes the append lock before
// the statements of b.
func prependOpen(b *pgx.Batch) *pgx.Batch {
	open := &pgx.Batch{}
	open.Queue("BEGIN")
	open.Queue("SELECT pg_advisory_xact_lock($1)", lockKey)
	open.QueuedQueries = append(open.QueuedQueries, b.QueuedQueries...)
	return open
}

// isSeqTaken reports whether err is an insert refused because its seq exists already.
func isSeqTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "audit_events_pkey"
}

// writeAfterHead appends events in two round trips: the first opens the transaction, takes
// the lock and reads the head; the second inserts the rows and commits. The statements of
// a batch run in order, each with its own snapshot, so the head is read after the lock is
// granted and sees every append committed before.
func (s *Store) writeAfterHead(ctx context.Context, conn *pgx.Conn, events []Event) ([]Event, error) {
	var (
		seq      int64
		prevHash []byte
		empty    bool
	)
	open := &pgx.Batch{}
	open.Queue(headQuery).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&seq, &prevHash)
		if errors.Is(err, pgx.ErrNoRows) {
			empty = true
			return nil
		}
		return err
	})
	if err := conn.SendBatch(ctx, prependOpen(open)).Close(); err != nil {
		return nil, err
	}
	// The lock lasts until COMMIT only if BEGIN left the connection inside a transaction
	// block; were the batch run as an implicit transaction, the lock would already be gone.
	if status := conn.PgConn().TxStatus(); status != 'T' {
		return nil, fmt.Errorf("append lock not held: connection transaction status %q after BEGIN", status)
	}
	if empty {
		seq, prevHash = 0, zeroHash()
	}
	out, inserts, err := s.chain(seq, prevHash, events)
	if err != nil {
		return nil, err
	}
	inserts.Queue("COMMIT")
	if err := conn.SendBatch(ctx, inserts).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// knownHead is the last row this Store wrote, from which the next append may chain
// without reading the head back.
type knownHead struct {
	mu   sync.Mutex
	seq  int64
	hash []byte
}

// take returns the known head and forgets it.
func (h *knownHead) take() (seq int64, hash []byte, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, hash, known = h.seq, h.hash, h.hash != nil
	h.seq, h.hash = 0, nil
	return seq, hash, known
}

func (h *knownHead) set(last Event) {
	h.mu.Lock()
	h.seq, h.hash = last.Seq, last.Hash
	h.mu.Unlock()
}

func (h *knownHead) forget() {
	h.mu.Lock()
	h.seq, h.hash = 0, nil
	h.mu.Unlock()
}

// appendLocked chains prepared events after the current head and inserts them. tx must
// hold the append lock, taken before the head is read so that the read sees the last commit.
func (s *Store) appendLocked(ctx context.Context, tx pgx.Tx, events []Event) ([]Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	seq, prevHash, err := head(ctx, tx)
	if err != nil {
		return nil, err
	}
	out, inserts, err := s.chain(seq, prevHash, events)
	if err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, inserts).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// chain numbers and hashes prepared events after the head (seq, prevHash) and queues their
// inserts.
func (s *Store) chain(seq int64, prevHash []byte, events []Event) ([]Event, *pgx.Batch, error) {
	now := s.clock().UTC().Truncate(time.Microsecond)
	batch := &pgx.Batch{}
	out := make([]Event, len(events))
	for i, e := range events {
		seq++
		e.Seq, e.Time, e.PrevHash = seq, now, prevHash
		var err error
		if e.Hash, err = computeHash(prevHash, e); err != nil {
			return nil, nil, err
		}
		prevHash = e.Hash
		out[i] = e
		batch.Queue(`INSERT INTO audit_events (`+eventColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
			e.Seq, e.Time, nullInt(e.Actor.OperatorID), e.Actor.Email, e.Actor.Role, string(e.Action),
			e.Target.Type, e.Target.ID, e.Target.Label, e.Reason, string(e.Outcome),
			[]byte(e.Detail), nullJSON(e.Before), nullJSON(e.After),
			nullInt(int64(e.UpstreamStatus)), e.UpstreamError, e.TraceID, e.RequestID, e.ClientIP, e.UserAgent,
			nullInt(e.IntentSeq), e.PrevHash, e.Hash)
	}
	return out, batch, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullJSON(raw []byte) any {
	if raw == nil {
		return nil
	}
	return raw
}

// querier is what head needs from a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// headQuery reads the last seq and hash.
const headQuery = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"

// head returns the last seq and hash, or 0 and the zero hash for an empty log.
func head(ctx context.Context, q querier) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := q.QueryRow(ctx, headQuery).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, zeroHash(), nil
	}
	if err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
}
