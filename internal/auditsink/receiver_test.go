package auditsink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

const testSecret = "the-webhook-secret-for-tests"

// hookReceiver is a real HTTPS endpoint in the test process that checks each batch's
// signature and keeps what it accepted, as a SIEM's HTTP input would.
type hookReceiver struct {
	srv     *httptest.Server
	discard bool // check signatures but keep nothing (benchmarks)
	caFile  string
	secret  atomic.Pointer[[]byte]
	calls   atomic.Int64
	mu      sync.Mutex
	got     bytes.Buffer
	// before, when set, runs first for request n; true means it answered the request.
	before func(n int64, w http.ResponseWriter, r *http.Request) bool
	// after, when set, decides the status for request n once its body was read and its
	// signature held, and whether the body is kept.
	after func(n int64, r *http.Request) (status int, keep bool)
}

type receiverHooks struct {
	addr   string // listen here (a receiver coming back); default a free port
	before func(n int64, w http.ResponseWriter, r *http.Request) bool
	after  func(n int64, r *http.Request) (int, bool)
}

func newHookReceiver(t testing.TB, hooks receiverHooks) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{before: hooks.before, after: hooks.after}
	secret := []byte(testSecret)
	rc.secret.Store(&secret)
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	if hooks.addr != "" {
		ln, err := net.Listen("tcp", hooks.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = rc.srv.Listener.Close()
		rc.srv.Listener = ln
	}
	rc.srv.StartTLS()
	t.Cleanup(rc.srv.Close)
	rc.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if err := os.WriteFile(rc.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	n := rc.calls.Add(1)
	if rc.before != nil && rc.before(n, w, r) {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Header.Get("Content-Type") != "application/x-ndjson" {
		http.Error(w, "want application/x-ndjson", http.StatusUnsupportedMediaType)
		return
	}
	if !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign(*rc.secret.Load(), body))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	status, keep := http.StatusOK, true
	if rc.after != nil {
		status, keep = rc.after(n, r)
	}
	if keep && !rc.discard {
		rc.mu.Lock()
		rc.got.Write(body)
		rc.mu.Unlock()
	}
	w.WriteHeader(status)
}

// received is a copy of everything the hookReceiver kept.
func (rc *hookReceiver) received() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Clone(rc.got.Bytes())
}

// webhook is a webhook sink to rc, trusting its certificate through a CA file.
func (rc *hookReceiver) webhook(t testing.TB, o WebhookOptions) *Webhook {
	t.Helper()
	tlsCfg, err := TLSConfig(rc.caFile)
	if err != nil {
		t.Fatal(err)
	}
	o.URL, o.TLS = rc.srv.URL+"/ingest?token=query-token", tlsCfg
	if o.Secret == nil {
		o.Secret = []byte(testSecret)
	}
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// fastOptions make the shipper quick for tests.
func fastOptions(reg prometheus.Registerer) Options {
	return Options{BatchSize: 50, BatchWait: 50 * time.Millisecond, Poll: 10 * time.Millisecond,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, LockPoll: 100 * time.Millisecond, Registerer: reg}
}

// start runs s until the test ends or the returned stop is called.
func start(t testing.TB, s *Shipper) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func newShipper(t testing.TB, pool *pgxpool.Pool, sink Sink, opts Options) *Shipper {
	t.Helper()
	s, err := New(pool, audit.NewStore(pool), []Sink{sink}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually waits for cond, failing the test after a minute.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// head is the log's last seq.
func head(t testing.TB, pool *pgxpool.Pool) int64 {
	t.Helper()
	seq, _, err := audit.NewStore(pool).Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// cursorOf is the stored cursor of sink.
func cursorOf(t testing.TB, pool *pgxpool.Pool, sink string) int64 {
	t.Helper()
	var seq int64
	_ = pool.QueryRow(context.Background(), "SELECT seq FROM audit_sink_cursors WHERE sink = $1", sink).Scan(&seq)
	return seq
}

// waitCaughtUp waits until the sink's cursor reaches the log's head and stays there
// (the shipper's own failure and recovery events move the head too).
func waitCaughtUp(t testing.TB, pool *pgxpool.Pool, sink string) int64 {
	t.Helper()
	var h int64
	eventually(t, sink+" caught up with the log", func() bool {
		h = head(t, pool)
		return cursorOf(t, pool, sink) == h
	})
	return h
}

// checkReceived verifies the hookReceiver's copy and that it holds every event through
// through, each once or more, in order.
func checkReceived(t testing.TB, got []byte, through int64) FileReport {
	t.Helper()
	rep, err := VerifyNDJSON(bytes.NewReader(got), false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact() || rep.Last < through || rep.Events != rep.Last {
		t.Fatalf("received copy: %s (want every event through %d)", rep, through)
	}
	return rep
}

// errorsTotal is console_audit_sink_errors_total{sink} on reg.
func errorsTotal(t testing.TB, reg *prometheus.Registry, sink string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "console_audit_sink_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "sink" && l.GetValue() == sink {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
