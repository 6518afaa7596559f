package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// testPassword is every test operator's password.
const testPassword = "correct-horse-battery-42"

// env is a console served through the real route table on a real database.
type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	srv      *httptest.Server
	handler  *handlers.Handler
	ops      *operators.Store
	audit    *audit.Store
	sessions *session.Store
	logs     *syncBuffer
	clock    *clock
	hash     string
	// sim is the in-process Synerise simulator the console talks to; api its client.
	sim *simulator.Simulator
	api *synerise.Client
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type option func(*handlers.Deps)

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	pool := dbtest.New(t)
	clk := &clock{t: time.Now()}
	logs := &syncBuffer{}
	e := &env{t: t, pool: pool, ops: operators.NewStore(pool), audit: audit.NewStore(pool), logs: logs, clock: clk}
	e.sessions = session.NewStore(pool, session.Options{Secret: bytes.Repeat([]byte("k"), 32), Secure: false,
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, Now: clk.Now})
	e.sim = simulator.New(simulator.Options{Customers: 300})
	simSrv := httptest.NewServer(e.sim)
	t.Cleanup(simSrv.Close)
	api, err := synerise.NewClient(simSrv.URL, simulator.DefaultAPIKey, synerise.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	deps := handlers.Deps{
		Operators: e.ops, Sessions: e.sessions, Audit: e.audit,
		Profiles: api.Profiles, Accounts: api.Accounts, Settings: api.Settings, Outbox: server.SandboxOutbox(e.sim),
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Sandbox: true, Now: clk.Now, SignInRate: 1000,
	}
	server.StoreDeps(&deps, pool)
	for _, o := range opts {
		o(&deps)
	}
	e.handler = handlers.New(deps)
	e.srv = httptest.NewServer(e.handler.Echo())
	t.Cleanup(e.srv.Close)
	h, err := password.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	e.hash = h
	return e
}

// operator creates an operator with testPassword.
func (e *env) operator(email string, role operators.Role) operators.Operator {
	e.t.Helper()
	op, err := e.ops.Create(context.Background(), email, strings.Split(email, "@")[0], role, e.hash)
	if err != nil {
		e.t.Fatal(err)
	}
	return op
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn creates an operator of role and returns a browser signed in as them.
func (e *env) signedIn(role operators.Role) (*browser, operators.Operator) {
	e.t.Helper()
	op := e.operator(string(role)+"-"+randSuffix()+"@example.com", role)
	b := e.browser()
	res := b.login(op.Email, testPassword)
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: status %d: %s", role, res.StatusCode, body(res))
	}
	return b, op
}

func (b *browser) login(email, pw string) *http.Response {
	return b.post("/login", url.Values{"email": {email}, "password": {pw}})
}

// csrf returns the browser's CSRF token — the one every page embeds — fetching the
// sign-in page first when the browser has none yet.
func (b *browser) csrf() string {
	b.e.t.Helper()
	for i := 0; i < 2; i++ {
		for _, c := range b.client.Jar.Cookies(mustURL(b.e.srv.URL)) {
			if c.Name == "console_csrf" {
				return c.Value
			}
		}
		b.get("/login")
	}
	b.e.t.Fatal("no CSRF cookie")
	return ""
}

func (b *browser) get(path string) *http.Response {
	b.e.t.Helper()
	return b.do(http.MethodGet, path, nil, nil)
}

func (b *browser) htmxGet(path string) *http.Response {
	b.e.t.Helper()
	return b.do(http.MethodGet, path, nil, http.Header{"Hx-Request": {"true"}})
}

// post sends a form with the browser's CSRF token, as a page of the console would.
func (b *browser) post(path string, form url.Values) *http.Response {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", b.csrf())
	}
	return b.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

func (b *browser) do(method, path string, body io.Reader, h http.Header) *http.Response {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	b.e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func body(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// events returns the audit log, oldest first.
func (e *env) events() []audit.Event {
	e.t.Helper()
	var seqs []int64
	rows, err := e.pool.Query(context.Background(), `SELECT seq FROM audit_events ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		_ = rows.Scan(&s)
		seqs = append(seqs, s)
	}
	rows.Close()
	out := make([]audit.Event, 0, len(seqs))
	for _, s := range seqs {
		ev, err := e.audit.Get(context.Background(), s)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// lastEvent returns the newest audit event with the action.
func (e *env) lastEvent(a audit.Action) (audit.Event, bool) {
	evs := e.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == a {
			return evs[i], true
		}
	}
	return audit.Event{}, false
}

var suffixN atomic.Int64

// randSuffix makes operator e-mails unique within a test binary.
func randSuffix() string { return strconv.FormatInt(suffixN.Add(1), 10) }
