package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
)

func TestAppendConcurrentIsGapFree(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			if _, err := s.Append(ctx, sampleEvent(i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var minSeq, maxSeq, n int64
	if err := pool.QueryRow(ctx, "SELECT min(seq), max(seq), count(*) FROM audit_events").Scan(&minSeq, &maxSeq, &n); err != nil {
		t.Fatal(err)
	}
	if minSeq != 1 || maxSeq != 100 || n != 100 {
		t.Fatalf("seq %d..%d with %d rows, want 1..100 with 100", minSeq, maxSeq, n)
	}
	r := mustVerifyIntact(t, s, 100)
	seq, hash, err := s.Head(ctx)
	if err != nil || seq != 100 || !bytes.Equal(hash, r.HeadHash) {
		t.Fatalf("head = %d %x %v, want 100 %x", seq, hash, err, r.HeadHash)
	}
}

func TestAppendFromTwoProcessesMakesOneChain(t *testing.T) {
	pool := dbtest.New(t)
	stores := []*Store{NewStore(pool), NewStore(secondPool(t, pool))}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for _, s := range stores {
		for i := range 50 {
			wg.Go(func() {
				if _, err := s.Append(ctx, sampleEvent(i)); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustVerifyIntact(t, stores[1], 100)
}

func TestAppendStoresWhatItHashes(t *testing.T) {
	pool := dbtest.New(t)
	clock := newFakeClock()
	s := NewStore(pool, WithClock(clock.Now))
	ctx := context.Background()

	if seq, hash, err := s.Head(ctx); err != nil || seq != 0 || !bytes.Equal(hash, make([]byte, 32)) {
		t.Fatalf("empty head = %d %x %v", seq, hash, err)
	}
	e := sampleEvent(1)
	// Whitespace and key order must survive: the json column keeps the exact text.
	e.Detail = json.RawMessage(`{ "z": 1,  "a": [1, 2.50, 12345678901234567890] }`)
	e.Before = json.RawMessage(`{"email":"old@example.com"}`)
	e.After = json.RawMessage(`{"email":"new@example.com"}`)
	e.UpstreamStatus = 201
	e.UpstreamError = "none"
	e.TraceID = "trace-1"
	e.UserAgent = "bad\xffagent\x00" + strings.Repeat("x", 1000)
	e.Time = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) // ignored
	stored, err := s.Append(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Seq != 1 || !stored.Time.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("stored seq %d time %s", stored.Seq, stored.Time)
	}
	if !bytes.Equal(stored.PrevHash, make([]byte, 32)) || len(stored.Hash) != 32 {
		t.Fatalf("hashes %x %x", stored.PrevHash, stored.Hash)
	}
	if len(stored.UserAgent) > maxHeaderField || strings.ContainsRune(stored.UserAgent, 0) {
		t.Fatalf("user agent not cleaned: %q", stored.UserAgent[:20])
	}
	got, err := s.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(stored)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("read back differs:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if string(got.Detail) != string(e.Detail) {
		t.Fatalf("detail %s, want byte-exact %s", got.Detail, e.Detail)
	}
	mustVerifyIntact(t, s, 1)

	if _, err := s.Get(ctx, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(2) = %v, want ErrNotFound", err)
	}

	// A minimal event: no operator, no detail, no before/after.
	minimal, err := s.Append(ctx, Event{Action: ActionSignInFailed, Outcome: OutcomeFailed, Actor: Actor{Email: "who@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, minimal.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if got.Actor.OperatorID != 0 || string(got.Detail) != "{}" || got.Before != nil || got.After != nil || got.UpstreamStatus != 0 {
		t.Fatalf("minimal event read back as %+v", got)
	}
	if !bytes.Equal(got.PrevHash, stored.Hash) {
		t.Fatal("second event does not link to the first")
	}
	mustVerifyIntact(t, s, 2)
}

func TestAppendRedactsSecrets(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	e := sampleEvent(0)
	e.Detail = DetailJSON(map[string]any{
		"email":    "jan@example.com",
		"password": "canary-pass",
		"nested":   []any{map[string]any{"pinCode": "canary-pin", "access_token": "canary-token"}},
		"headers":  map[string]string{"Authorization": "Bearer canary-bearer", "X-Api-Key": "canary-key"},
	})
	e.After = json.RawMessage(`{"sessionId":"canary-session","name":"Jan"}`)
	if _, err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	var dump string
	if err := pool.QueryRow(ctx, "SELECT string_agg(a::text, '|') FROM audit_events a").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, "canary") {
		t.Fatalf("a secret was stored: %s", dump)
	}
	if !strings.Contains(dump, "jan@example.com") || !strings.Contains(dump, Redacted) {
		t.Fatalf("redaction removed too much or nothing: %s", dump)
	}
	mustVerifyIntact(t, s, 1)
}

func TestAppendRejectsAndWritesNothing(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*Event)
	}{
		{"unknown action", func(e *Event) { e.Action = "customer.delete" }},
		{"empty action", func(e *Event) { e.Action = "" }},
		{"invalid outcome", func(e *Event) { e.Outcome = "maybe" }},
		{"empty outcome", func(e *Event) { e.Outcome = "" }},
		{"pending outcome", func(e *Event) { e.Outcome = OutcomePending }},
		{"intent seq", func(e *Event) { e.IntentSeq = 1 }},
		{"invalid detail", func(e *Event) { e.Detail = json.RawMessage(`{"a":`) }},
		{"invalid after", func(e *Event) { e.After = json.RawMessage(`{} {}`) }},
		{"negative operator", func(e *Event) { e.Actor.OperatorID = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleEvent(0)
			tt.change(&e)
			if _, err := s.Append(ctx, e); err == nil || !strings.HasPrefix(err.Error(), "audit: append event: ") {
				t.Fatalf("Append = %v, want an audit: append event error", err)
			}
		})
	}
	if _, err := s.Intent(ctx, Event{Action: "customer.delete"}); err == nil {
		t.Fatal("Intent accepted an unknown action")
	}
	if n := countRows(t, pool); n != 0 {
		t.Fatalf("%d rows written, want 0", n)
	}
}

func TestTimelineNewestFirst(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	for i := range 5 {
		e := sampleEvent(i)
		if i%2 == 1 {
			e.Target.ID = "client-other"
		}
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.Timeline(ctx, "customer", "client-42", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Seq != 5 || entries[1].Seq != 3 {
		t.Fatalf("Timeline = %+v, want seqs 5, 3", entries)
	}
	want, err := s.Get(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := entries[0]
	if !got.Time.Equal(want.Time) || got.Actor.Email != want.Actor.Email || got.Actor.Role != want.Actor.Role ||
		got.Action != want.Action || got.Reason != want.Reason || got.Outcome != want.Outcome || got.IntentSeq != want.IntentSeq {
		t.Fatalf("Timeline entry %+v does not match the event %+v", got, want)
	}
	entries, err = s.Timeline(ctx, "customer", "client-42", 0)
	if err != nil || len(entries) != 3 {
		t.Fatalf("Timeline default limit = %+v %v, want 3 entries", entries, err)
	}
	entries, err = s.Timeline(ctx, "customer", "nobody", 10)
	if err != nil || len(entries) != 0 {
		t.Fatalf("Timeline nobody = %+v %v", entries, err)
	}
}

func seqs(events []Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func TestIntentAndOutcomeAreLinked(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	intent, err := s.Intent(ctx, Event{
		Actor:     Actor{OperatorID: 3, Email: "admin@example.com", Role: "admin"},
		Action:    ActionCustomerUpdate,
		Target:    Target{Type: "customer", ID: "c-1", Label: "c@example.com"},
		Reason:    "TICKET-9",
		Outcome:   OutcomeSucceeded, // overridden: an intent is always pending
		Before:    json.RawMessage(`{"city":"Kraków"}`),
		RequestID: "req-9",
		ClientIP:  "198.51.100.7",
		UserAgent: "ua",
	})
	if err != nil {
		t.Fatal(err)
	}
	if intent.Outcome != OutcomePending || intent.Seq != 1 {
		t.Fatalf("intent = %+v", intent)
	}
	// A cancelled request must still get its outcome recorded.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	out, err := s.Outcome(cancelled, intent, OutcomeFailed, func(e *Event) {
		e.Detail = DetailJSON(map[string]string{"error": "upstream 500"})
		e.After = json.RawMessage(`{"city":"Gdańsk"}`)
		e.UpstreamStatus = 500
		e.UpstreamError = "internal error"
		e.TraceID = "trace-9"
		e.Actor.Email = "someone-else@example.com" // not allowed to change
		e.Action = ActionCustomerView
		e.IntentSeq = 99
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, out.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if got.IntentSeq != intent.Seq || got.Outcome != OutcomeFailed || got.Actor != intent.Actor ||
		got.Action != intent.Action || got.Target != intent.Target || got.RequestID != "req-9" ||
		got.Reason != "TICKET-9" || got.ClientIP != intent.ClientIP {
		t.Fatalf("outcome = %+v, want linked to %+v", got, intent)
	}
	if got.UpstreamStatus != 500 || got.UpstreamError != "internal error" || got.TraceID != "trace-9" ||
		string(got.After) != `{"city":"Gdańsk"}` || !strings.Contains(string(got.Detail), "upstream 500") {
		t.Fatalf("outcome did not keep the change: %+v", got)
	}
	if _, err := s.Outcome(ctx, got, OutcomeSucceeded, nil); err == nil {
		t.Fatal("Outcome accepted an outcome row as its intent")
	}
	if _, err := s.Outcome(ctx, intent, OutcomePending, nil); err == nil {
		t.Fatal("Outcome accepted outcome pending")
	}
	if _, err := s.Outcome(ctx, Event{Outcome: OutcomePending}, OutcomeSucceeded, nil); err == nil {
		t.Fatal("Outcome accepted an unstored intent")
	}
	mustVerifyIntact(t, s, 2)
}

func TestCloseStaleIntents(t *testing.T) {
	pool := dbtest.New(t)
	clock := newFakeClock()
	s := NewStore(pool, WithClock(clock.Now))
	ctx := context.Background()
	intent := func() Event {
		t.Helper()
		e, err := s.Intent(ctx, Event{Action: ActionCustomerPasswordReset, Target: Target{Type: "customer", ID: "c"}, RequestID: "r"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	staleOpen := intent()
	staleDone := intent()
	if _, err := s.Outcome(ctx, staleDone, OutcomeSucceeded, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Minute)
	freshOpen := intent()
	if _, err := s.Append(ctx, sampleEvent(0)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Minute)

	n, err := s.CloseStaleIntents(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CloseStaleIntents = %d, %v; want 1", n, err)
	}
	if n, err := s.CloseStaleIntents(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("second CloseStaleIntents = %d, %v; want 0", n, err)
	}
	closing := outcomesOf(t, s, staleOpen.Seq)
	if len(closing) != 1 || closing[0].Outcome != OutcomeUnknown || closing[0].Action != ActionCustomerPasswordReset ||
		closing[0].RequestID != "r" || !strings.Contains(string(closing[0].Detail), "not known") {
		t.Fatalf("closing rows = %+v", closing)
	}
	if got := outcomesOf(t, s, freshOpen.Seq); len(got) != 0 {
		t.Fatalf("fresh intent was closed: %+v", got)
	}
	if got := outcomesOf(t, s, staleDone.Seq); len(got) != 1 || got[0].Outcome != OutcomeSucceeded {
		t.Fatalf("finished intent got another outcome: %+v", got)
	}
	mustVerifyIntact(t, s, 6)
}

func TestCloseStaleIntentsConcurrentlyClosesEachOnce(t *testing.T) {
	pool := dbtest.New(t)
	clock := newFakeClock()
	stores := []*Store{NewStore(pool, WithClock(clock.Now)), NewStore(secondPool(t, pool), WithClock(clock.Now))}
	ctx := context.Background()
	const intents = staleBatch + 20 // more than one batch
	for i := range intents {
		if _, err := stores[i%2].Intent(ctx, Event{Action: ActionCustomerPINResend, Target: Target{Type: "customer", ID: "c"}}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i := range counts {
		wg.Go(func() { counts[i], errs[i] = stores[i%2].CloseStaleIntents(ctx, time.Hour) })
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += counts[i]
	}
	if total != intents {
		t.Fatalf("closed %v = %d in total, want %d", counts, total, intents)
	}
	var dup int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT intent_seq FROM audit_events
		WHERE intent_seq IS NOT NULL GROUP BY intent_seq HAVING count(*) <> 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d intents closed more than once", dup)
	}
	mustVerifyIntact(t, stores[0], 2*intents)
}

func outcomesOf(t *testing.T, s *Store, intentSeq int64) []Event {
	t.Helper()
	var out []Event
	seq, _, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= seq; i++ {
		e, err := s.Get(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		if e.IntentSeq == intentSeq {
			out = append(out, e)
		}
	}
	return out
}

// headReads counts the statements that read the chain's head.
type headReads struct{ n atomic.Int64 }

func (h *headReads) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (h *headReads) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if data.SQL == headQuery {
		h.n.Add(1)
	}
}

func (h *headReads) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (h *headReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if data.SQL == headQuery {
		h.n.Add(1)
	}
	return ctx
}

func (h *headReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// An append chains after the row its Store wrote last without reading the head back; when
// another process appended in between, it notices and chains after that one instead.
func TestAppendChainsAfterItsOwnLastRow(t *testing.T) {
	pool := dbtest.New(t)
	cfg := pool.Config().Copy()
	reads := &headReads{}
	cfg.ConnConfig.Tracer = reads
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	s, other := NewStore(traced), NewStore(secondPool(t, pool))
	ctx := context.Background()

	appendN(t, s, 5)
	if got := reads.n.Load(); got != 1 {
		t.Fatalf("5 appends read the head %d times, want once (the first)", got)
	}
	appendN(t, other, 2) // seq 6 and 7, unknown to s
	last, err := s.Append(ctx, sampleEvent(8))
	if err != nil {
		t.Fatal(err)
	}
	if last.Seq != 8 || reads.n.Load() != 2 {
		t.Fatalf("after another writer: seq %d with %d head reads, want seq 8 and 2 reads", last.Seq, reads.n.Load())
	}
	appendN(t, s, 2)
	if got := reads.n.Load(); got != 2 {
		t.Fatalf("appends after the catch-up read the head %d times in all, want 2", got)
	}
	mustVerifyIntact(t, s, 10)
	if st := traced.Stat(); st.TotalConns() != 1 {
		t.Fatalf("%d connections opened; the refused attempt should roll back and keep its connection", st.TotalConns())
	}
}
