package auditsink

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

func seed(t testing.TB, pool *pgxpool.Pool, n int) {
	t.Helper()
	if _, err := audit.NewStore(pool).Seed(context.Background(), audit.SeedOptions{Events: n, Seed: 3}); err != nil {
		t.Fatal(err)
	}
}

func appendEvents(t testing.TB, pool *pgxpool.Pool, n int) {
	t.Helper()
	store := audit.NewStore(pool)
	for i := range n {
		_, err := store.Append(context.Background(), audit.Event{
			Actor: audit.Actor{OperatorID: 1, Email: "ops@example.com", Role: "support"}, Action: audit.ActionCustomerView,
			Target:  audit.Target{Type: "customer", ID: "c-" + strconv.Itoa(i), Label: "<b>x@example.com</b>"},
			Outcome: audit.OutcomeSucceeded, Detail: audit.DetailJSON(map[string]int{"i": i}),
		})
		if err != nil {
			t.Error(err)
			return
		}
	}
}

func TestEventsAppendedWhileShippingArriveInOrderAsExportLines(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 700)
	rc := newHookReceiver(t, receiverHooks{})
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(prometheus.NewRegistry()))
	start(t, s)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { appendEvents(t, pool, 50) })
	}
	wg.Wait()
	h := waitCaughtUp(t, pool, NameWebhook)
	rep := checkReceived(t, rc.received(), h)
	if rep.Duplicates != 0 {
		t.Errorf("a healthy receiver got %d duplicates", rep.Duplicates)
	}
	// Every line is exactly the line the NDJSON export writes for that event.
	var export bytes.Buffer
	if _, err := audit.NewStore(pool).Export(context.Background(), audit.Filter{}, h, audit.FormatNDJSON, &export); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range bytes.Split(bytes.TrimSpace(export.Bytes()), []byte("\n")) {
		want[string(l)] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(rc.received()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !want[sc.Text()] {
			t.Fatalf("received a line the export does not write: %s", sc.Text())
		}
	}
}

func TestReceiverDroppingTheConnectionMidBatchLosesNothing(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 400)
	// Requests 2 and 3 are cut after half of their body, as a receiver crashing would.
	rc := newHookReceiver(t, receiverHooks{before: func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n != 2 && n != 3 {
			return false
		}
		_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}})
	reg := prometheus.NewRegistry()
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(reg))
	start(t, s)
	h := waitCaughtUp(t, pool, NameWebhook)
	checkReceived(t, rc.received(), h)
	if got := errorsTotal(t, reg, NameWebhook); got < 2 {
		t.Errorf("errors_total = %v after two dropped connections", got)
	}
}

func TestReceiverDownThenBackCatchesUpInOrder(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 300)
	rc := newHookReceiver(t, receiverHooks{})
	w := rc.webhook(t, WebhookOptions{})
	rc.srv.Close() // nothing listens: every delivery fails
	s := newShipper(t, pool, w, fastOptions(prometheus.NewRegistry()))
	start(t, s)
	eventually(t, "the failure recorded", func() bool {
		st, err := s.Status(context.Background())
		return err == nil && len(st.Sinks) == 1 && st.Sinks[0].Failing
	})
	if c := cursorOf(t, pool, NameWebhook); c != 0 {
		t.Fatalf("cursor moved to %d with the receiver down", c)
	}
	rc2 := newHookReceiver(t, receiverHooks{addr: rc.srv.Listener.Addr().String()}) // back at its address
	h := waitCaughtUp(t, pool, NameWebhook)
	checkReceived(t, rc2.received(), h)
}

func TestShippingReplicaKilledMidBatchAnotherTakesOver(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 300)
	holding := make(chan struct{})
	var once sync.Once
	// The first batch is kept but never answered until the client gives up on it.
	rc := newHookReceiver(t, receiverHooks{after: func(n int64, r *http.Request) (int, bool) {
		if n == 1 {
			once.Do(func() { close(holding) })
			<-r.Context().Done()
		}
		return http.StatusOK, true
	}})
	other, err := pgxpool.New(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	first := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(nil))
	second := newShipper(t, other, rc.webhook(t, WebhookOptions{}), fastOptions(nil))
	killFirst := start(t, first)
	<-holding
	start(t, second)
	st, err := second.Status(context.Background())
	if err != nil || !first.shipping.Load() || st.ShippingHere || !st.ShippingAnywhere {
		t.Fatalf("before the kill: first ships %v, second %+v (%v)", first.shipping.Load(), st, err)
	}
	killFirst()
	h := waitCaughtUp(t, pool, NameWebhook)
	if !second.shipping.Load() {
		t.Fatal("the second replica did not take over")
	}
	rep := checkReceived(t, rc.received(), h)
	if rep.Duplicates == 0 {
		t.Error("the batch held when the first replica died was not sent again")
	}
}

func TestDuplicateDeliveriesAreHarmless(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 300)
	// Every odd request is kept but answered 503, so each batch arrives twice; the
	// acknowledgement of the second copy is the one that counts.
	var doubling atomic.Bool
	doubling.Store(true)
	rc := newHookReceiver(t, receiverHooks{after: func(n int64, _ *http.Request) (int, bool) {
		if n%2 == 1 && doubling.Load() {
			return http.StatusServiceUnavailable, true
		}
		return http.StatusAccepted, true
	}})
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(nil))
	stop := start(t, s)
	h := waitCaughtUp(t, pool, NameWebhook)
	stop()
	doubling.Store(false)
	// A batch already acknowledged, delivered again by hand, changes nothing either.
	p := &pending{}
	if err := readAfter(context.Background(), pool, 0, 10, p); err != nil {
		t.Fatal(err)
	}
	if err := s.sinks[0].Deliver(context.Background(), p.batch()); err != nil {
		t.Fatal(err)
	}
	rep := checkReceived(t, rc.received(), h)
	if rep.Duplicates < int64(p.len()) {
		t.Errorf("duplicates = %d", rep.Duplicates)
	}
	if c := cursorOf(t, pool, NameWebhook); c != h {
		t.Errorf("cursor %d, want %d", c, h)
	}
}

func TestSlowReceiver(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 200)
	// The first answer comes after the client's timeout; the others are slow but in time.
	rc := newHookReceiver(t, receiverHooks{after: func(n int64, r *http.Request) (int, bool) {
		delay := 20 * time.Millisecond
		if n == 1 {
			delay = 2 * time.Second
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		return http.StatusOK, true
	}})
	reg := prometheus.NewRegistry()
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{Timeout: 500 * time.Millisecond}), fastOptions(reg))
	start(t, s)
	h := waitCaughtUp(t, pool, NameWebhook)
	checkReceived(t, rc.received(), h)
	if errorsTotal(t, reg, NameWebhook) < 1 {
		t.Error("the timed-out request was not counted as an error")
	}
}

func TestWrongSecretIsRetriedAuditedOnceAndResumesWhenFixed(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 120)
	rc := newHookReceiver(t, receiverHooks{})
	wrong := []byte("not-the-receivers-secret")
	rc.secret.Store(&wrong) // the receiver expects another secret: every batch gets 401
	reg := prometheus.NewRegistry()
	s := newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(reg))
	start(t, s)
	eventually(t, "several refused deliveries", func() bool { return errorsTotal(t, reg, NameWebhook) >= 5 })
	if c := cursorOf(t, pool, NameWebhook); c != 0 {
		t.Fatalf("cursor advanced to %d though every batch was refused", c)
	}
	st, err := s.Status(context.Background())
	if err != nil || !st.Sinks[0].Failing || st.Sinks[0].LastError == "" || st.Sinks[0].LagEvents < 120 {
		t.Fatalf("status while refused: %+v (%v)", st, err)
	}
	for _, secretish := range []string{testSecret, "query-token"} {
		if bytes.Contains([]byte(st.Sinks[0].LastError), []byte(secretish)) {
			t.Fatalf("last error shows %q: %s", secretish, st.Sinks[0].LastError)
		}
	}
	right := []byte(testSecret)
	rc.secret.Store(&right)
	h := waitCaughtUp(t, pool, NameWebhook)
	checkReceived(t, rc.received(), h)
	var failures, recoveries int
	err = pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE action = 'audit.sink_failure'),
		count(*) FILTER (WHERE action = 'audit.sink_recovered') FROM audit_events`).Scan(&failures, &recoveries)
	if err != nil || failures != 1 || recoveries != 1 {
		t.Fatalf("failure events %d, recovery events %d (%v); want one each", failures, recoveries, err)
	}
	var leaked bool
	_ = pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM audit_events WHERE detail::text LIKE '%'||$1||'%')
		OR EXISTS (SELECT 1 FROM audit_sink_cursors WHERE last_error LIKE '%'||$1||'%')`, testSecret).Scan(&leaked)
	if leaked {
		t.Fatal("the webhook secret was stored")
	}
}

func TestRestartResumesFromTheCursor(t *testing.T) {
	pool := dbtest.New(t)
	seed(t, pool, 150)
	rc := newHookReceiver(t, receiverHooks{})
	stop := start(t, newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(nil)))
	waitCaughtUp(t, pool, NameWebhook)
	stop()
	appendEvents(t, pool, 30)
	start(t, newShipper(t, pool, rc.webhook(t, WebhookOptions{}), fastOptions(nil)))
	h := waitCaughtUp(t, pool, NameWebhook)
	if rep := checkReceived(t, rc.received(), h); rep.Duplicates != 0 {
		t.Errorf("a restart sent %d events again", rep.Duplicates)
	}
}
