package handlers_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// benchConsole is a console on a real database and the in-process simulator, with a
// signed-in support operator: everything end to end over HTTP.
type benchConsole struct {
	b      *testing.B
	url    string
	client *http.Client
	csrf   string
	sim    *simulator.Simulator
}

func newBenchConsole(b *testing.B) *benchConsole {
	b.Helper()
	pool := dbtest.New(b)
	sim := simulator.New(simulator.Options{Customers: 5000})
	simSrv := httptest.NewServer(sim)
	b.Cleanup(simSrv.Close)
	api, err := synerise.NewClient(simSrv.URL, simulator.DefaultAPIKey, synerise.WithTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	ops := operators.NewStore(pool)
	deps := handlers.Deps{
		Operators: ops, Audit: audit.NewStore(pool),
		Sessions: session.NewStore(pool, session.Options{Secret: bytes.Repeat([]byte("k"), 32),
			IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}),
		Profiles: api.Profiles, Accounts: api.Accounts, Settings: api.Settings, Outbox: server.SandboxOutbox(sim),
		Logger: slog.New(slog.DiscardHandler), Sandbox: true, SignInRate: 1000,
	}
	server.StoreDeps(&deps, pool)
	h := handlers.New(deps)
	srv := httptest.NewServer(h.Echo())
	b.Cleanup(srv.Close)
	hash, err := password.Hash(testPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ops.Create(b.Context(), "bench@example.com", "bench", operators.RoleSupport, hash); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	bc := &benchConsole{b: b, url: srv.URL, sim: sim, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	bc.send(http.MethodGet, "/login", nil, nil)
	u, _ := url.Parse(srv.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == "console_csrf" {
			bc.csrf = c.Value
		}
	}
	if code, _ := bc.send(http.MethodPost, "/login", url.Values{"email": {"bench@example.com"}, "password": {testPassword}}, nil); code != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", code)
	}
	return bc
}

func (bc *benchConsole) send(method, path string, form url.Values, hdr http.Header) (int, string) {
	var body io.Reader
	if form != nil {
		form.Set("_csrf", bc.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, bc.url+path, body)
	if err != nil {
		bc.b.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := bc.client.Do(req)
	if err != nil {
		bc.b.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// reportLatency reports the median and 99th percentile of the timed requests.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(ms(d[len(d)/2]), "median-ms")
	b.ReportMetric(ms(d[min(len(d)-1, len(d)*99/100)]), "p99-ms")
}

// BenchmarkCustomerLookup is a live search by e-mail as htmx sends it: the exact lookup
// in Synerise, the audit row, the results fragment.
func BenchmarkCustomerLookup(b *testing.B) {
	bc := newBenchConsole(b)
	hx := http.Header{"Hx-Request": {"true"}}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		code, page := bc.send(http.MethodPost, "/customers/search", url.Values{"q": {annaMail}}, hx)
		took = append(took, time.Since(start))
		if code != http.StatusOK || !strings.Contains(page, annaID) {
			b.Fatalf("search: %d", code)
		}
	}
	reportLatency(b, took)
}

// BenchmarkCustomerEdit is a save of basic info: the re-read, the fingerprint check, the
// audit intent, the update in Synerise, the audit outcome, the saved page. Loading the
// form is not timed.
func BenchmarkCustomerEdit(b *testing.B) {
	bc := newBenchConsole(b)
	path := "/customers/" + annaID
	var took []time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		_, page := bc.send(http.MethodGet, path+"/edit", nil, nil)
		form := custFormValues(b, page, path)
		n++
		form.Set("city", "City "+strconv.Itoa(n))
		form.Set("reason", "benchmark")
		b.StartTimer()
		start := time.Now()
		code, _ := bc.send(http.MethodPost, path, form, nil)
		took = append(took, time.Since(start))
		if code != http.StatusOK {
			b.Fatalf("save: %d", code)
		}
	}
	reportLatency(b, took)
}
