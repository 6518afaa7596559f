package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// SeedOptions shape the synthetic events Seed writes.
type SeedOptions struct {
	Events int           // how many events to write
	Span   time.Duration // the events spread evenly over this span before End; default 365 days
	End    time.Time     // default now
	Seed   uint64        // the random seed; the same seed writes the same events
	Batch  int           // events per COPY transaction; default 20,000
	// Progress, when set, is called after each batch with the number written so far.
	Progress func(written int)
}

// Seed appends opts.Events synthetic but valid, hash-chained events for benchmarks:
// operators signing in, searching, viewing and changing customers (two-phase, intent
// then outcome), with realistic skew in actors, targets, actions and outcomes. Each batch
// is written with COPY in one transaction that holds the append lock, so the chain stays
// whole even if the console appends meanwhile.
//
// It is for benchmark and test databases only; `console audit seed` refuses to run
// without an explicit flag saying so.
func (s *Store) Seed(ctx context.Context, opts SeedOptions) (int, error) {
	if opts.Events <= 0 {
		return 0, errors.New("audit: seed: the number of events must be positive")
	}
	if opts.Span <= 0 {
		opts.Span = 365 * 24 * time.Hour
	}
	if opts.End.IsZero() {
		opts.End = s.clock()
	}
	if opts.Batch <= 0 {
		opts.Batch = 20000
	}
	g := newSeedGen(opts)
	written := 0
	for written < opts.Events {
		n := min(opts.Batch, opts.Events-written)
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
				return err
			}
			seq, prev, err := head(ctx, tx)
			if err != nil {
				return err
			}
			rows := make([][]any, n)
			for i := range rows {
				seq++
				e := g.next(seq, written+i)
				e.PrevHash = prev
				if e.Hash, err = computeHash(prev, e); err != nil {
					return err
				}
				prev = e.Hash
				rows[i] = []any{e.Seq, e.Time, nullInt(e.Actor.OperatorID), e.Actor.Email, e.Actor.Role, string(e.Action),
					e.Target.Type, e.Target.ID, e.Target.Label, e.Reason, string(e.Outcome),
					[]byte(e.Detail), nullJSON(e.Before), nullJSON(e.After),
					nullInt(int64(e.UpstreamStatus)), e.UpstreamError, e.TraceID, e.RequestID, e.ClientIP, e.UserAgent,
					nullInt(e.IntentSeq), e.PrevHash, e.Hash}
			}
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, seedColumns, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			return written, fmt.Errorf("audit: seed: %w", err)
		}
		written += n
		if opts.Progress != nil {
			opts.Progress(written)
		}
	}
	return written, nil
}

var seedColumns = []string{"seq", "occurred_at", "actor_id", "actor_email", "actor_role", "action",
	"target_type", "target_id", "target_label", "reason", "outcome", "detail", "before", "after",
	"upstream_status", "upstream_error", "trace_id", "request_id", "client_ip", "user_agent",
	"intent_seq", "prev_hash", "hash"}

// seedGen makes the synthetic events, one at a time, carrying intents whose outcome is
// still to come.
type seedGen struct {
	opts    SeedOptions
	rnd     *rand.Rand
	ops     []seedOperator
	pending []Event // intents waiting for their outcome
}

type seedOperator struct {
	id    int64
	email string
	role  string
	ip    string
	ua    string
}

var (
	seedFirst   = []string{"anna", "piotr", "marta", "tomasz", "kasia", "jan", "ola", "michal", "ewa", "pawel", "zofia", "adam"}
	seedLast    = []string{"nowak", "kowalska", "wisniewski", "wojcik", "kaminska", "lewandowski", "zielinska", "szymanski"}
	seedAgents  = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}
	seedReasons = []string{"customer called about a missing reward", "points not credited after purchase", "e-mail address change requested",
		"account locked, customer asked for help", "GDPR data access request", "duplicate account reported", "PIN not received",
		"activation e-mail went to spam", "checking a complaint", "follow-up on escalation"}
	seedCities = []string{"Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Łódź", "Lublin", "Szczecin"}
)

// seedAction is an action with its weight, whether it is two-phase and who may do it.
type seedAction struct {
	action   Action
	weight   int
	twoPhase bool
	customer bool
}

var seedActions = []seedAction{
	{ActionCustomerView, 380, false, true},
	{ActionCustomerSearch, 200, false, false},
	{ActionCustomerUpdate, 80, true, true},
	{ActionCustomerPasswordReset, 40, true, true},
	{ActionCustomerPINResend, 30, true, true},
	{ActionCustomerActivationResend, 20, true, true},
	{ActionSignIn, 100, false, false},
	{ActionSignOut, 60, false, false},
	{ActionSignInFailed, 20, false, false},
	{ActionAccessDenied, 10, false, false},
	{ActionSettingsView, 15, false, false},
	{ActionSettingsUpdate, 5, true, false},
	{ActionAuditSearch, 10, false, false},
	{ActionAuditView, 10, false, false},
}

func newSeedGen(opts SeedOptions) *seedGen {
	g := &seedGen{opts: opts, rnd: rand.New(rand.NewPCG(opts.Seed, 0x5eed))}
	roles := []string{"support", "support", "support", "support", "support", "support", "admin", "admin", "auditor"}
	for i := range 45 {
		first, last := seedFirst[i%len(seedFirst)], seedLast[(i/len(seedFirst)+i)%len(seedLast)]
		g.ops = append(g.ops, seedOperator{
			id: int64(i + 1), email: fmt.Sprintf("%s.%s%d@raas.example", first, last, i), role: roles[i%len(roles)],
			ip: fmt.Sprintf("10.%d.%d.%d", i%4, i, 10+i), ua: seedAgents[i%len(seedAgents)],
		})
	}
	return g
}

// next is event number i of the run, to be stored as seq.
func (g *seedGen) next(seq int64, i int) Event {
	t := g.opts.End.Add(-g.opts.Span + time.Duration(float64(g.opts.Span)*float64(i)/float64(g.opts.Events)))
	t = t.UTC().Truncate(time.Microsecond)
	// An intent's outcome follows within a few events.
	if len(g.pending) > 0 && (g.rnd.IntN(3) == 0 || len(g.pending) > 3) {
		intent := g.pending[0]
		g.pending = g.pending[1:]
		return g.outcome(intent, seq, t)
	}
	op := g.ops[int(float64(len(g.ops))*g.rnd.Float64()*g.rnd.Float64())] // a few operators do most of the work
	a := g.action()
	e := Event{
		Seq: seq, Time: t, Actor: Actor{OperatorID: op.id, Email: op.email, Role: op.role}, Action: a.action,
		Outcome: OutcomeSucceeded, Detail: json.RawMessage(`{}`),
		RequestID: g.hex(8), ClientIP: op.ip, UserAgent: op.ua,
	}
	if a.customer {
		k := int(200000 * g.rnd.Float64() * g.rnd.Float64() * g.rnd.Float64()) // a few customers are seen often
		e.Target = Target{Type: "customer", ID: strconv.Itoa(7000000 + k),
			Label: fmt.Sprintf("%s.%s.%d@example.org", seedFirst[k%len(seedFirst)], seedLast[k%len(seedLast)], k)}
		e.Reason = fmt.Sprintf("TICKET-%05d %s", g.rnd.IntN(90000)+10000, seedReasons[g.rnd.IntN(len(seedReasons))])
	}
	switch a.action {
	case ActionCustomerSearch:
		e.Detail = DetailJSON(map[string]string{"query": fmt.Sprintf("%s.%s", seedFirst[g.rnd.IntN(len(seedFirst))], seedLast[g.rnd.IntN(len(seedLast))])})
	case ActionSignInFailed:
		e.Outcome = OutcomeFailed
		e.Detail = json.RawMessage(`{"why":"wrong password"}`)
	case ActionAccessDenied:
		e.Outcome = OutcomeDenied
		e.Target = Target{Type: "route", ID: "GET /settings"}
	case ActionSettingsUpdate:
		e.Reason = fmt.Sprintf("CHANGE-%04d adjust loyalty settings", g.rnd.IntN(9000)+1000)
	case ActionCustomerView:
		if g.rnd.IntN(100) == 0 {
			e.Outcome = OutcomeFailed
			e.UpstreamStatus, e.UpstreamError = 503, "upstream unavailable"
		}
	}
	if a.twoPhase {
		e.Outcome = OutcomePending
		if a.action == ActionCustomerUpdate {
			e.Before = DetailJSON(map[string]string{"city": seedCities[g.rnd.IntN(len(seedCities))], "firstName": seedFirst[g.rnd.IntN(len(seedFirst))]})
		}
		g.pending = append(g.pending, e)
	}
	return e
}

func (g *seedGen) outcome(intent Event, seq int64, t time.Time) Event {
	e := outcomeOf(intent, OutcomeSucceeded)
	e.Seq, e.Time, e.Detail = seq, t, json.RawMessage(`{}`)
	switch r := g.rnd.IntN(100); {
	case r < 6:
		e.Outcome, e.UpstreamStatus, e.UpstreamError = OutcomeFailed, 502, "upstream error"
		e.Detail = json.RawMessage(`{"error":"synerise: 502 bad gateway"}`)
	case r < 7:
		e.Outcome = OutcomeUnknown
		e.Detail = json.RawMessage(`{"closedBy":"CloseStaleIntents"}`)
	default:
		e.UpstreamStatus = 200
	}
	if intent.Action == ActionCustomerUpdate && e.Outcome == OutcomeSucceeded {
		e.After = DetailJSON(map[string]string{"city": seedCities[g.rnd.IntN(len(seedCities))], "firstName": seedFirst[g.rnd.IntN(len(seedFirst))]})
	}
	return e
}

func (g *seedGen) action() seedAction {
	total := 0
	for _, a := range seedActions {
		total += a.weight
	}
	n := g.rnd.IntN(total)
	for _, a := range seedActions {
		if n < a.weight {
			return a
		}
		n -= a.weight
	}
	return seedActions[0]
}

func (g *seedGen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rnd.Uint32())
	}
	return hex.EncodeToString(b)
}
