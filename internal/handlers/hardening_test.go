package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// 500 anonymous connections that announce a 100 kB sign-in form and hold the body back
// take no admission slot: a signed-in operator's page keeps answering while they hang.
func TestSlowAnonymousBodiesLeaveOperatorsServed(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.MaxInFlight = 16 })
	b, _ := e.signedIn(operators.RoleSupport)
	addr := strings.TrimPrefix(e.srv.URL, "http://")

	const slow = 500
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	var wg sync.WaitGroup
	for i := 0; i < slow; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: 100000\r\n\r\nemail=slow%%40example.com&password=", addr)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // every slow request has reached the console

	var took []time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		res := b.get("/")
		page := body(res)
		took = append(took, time.Since(start))
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Welcome") {
			t.Fatalf("operator's page %d while %d anonymous bodies hang: %d\n%.300s", i, slow, res.StatusCode, page)
		}
	}
	slices.Sort(took)
	t.Logf("operator's home page under %d slow anonymous bodies: median %s, max %s", slow, took[len(took)/2], took[len(took)-1])
	if took[len(took)-1] > 3*time.Second {
		t.Fatalf("the operator's page hung: %s", took[len(took)-1])
	}
}

// A held-back body is answered 408 after the short body deadline, and the connection is
// closed, so it ties up neither a slot nor the connection for long.
func TestSlowBodyTimesOut(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) { d.MaxInFlight = 4 })
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=", addr)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	status, err := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 408") {
		t.Fatalf("a held-back body after %s: %q %v", time.Since(start), status, err)
	}
	answered := time.Since(start)
	_, err = io.Copy(io.Discard, c)
	t.Logf("held-back body answered 408 after %s, connection closed after %s (%v)", answered, time.Since(start), err)
	if closed := time.Since(start); closed > 15*time.Second {
		t.Fatalf("the connection of a held-back body stayed open %s", closed)
	}
	if !strings.Contains(e.logs.String(), `"status":408`) {
		t.Fatalf("the 408 is not in the access log:\n%s", e.logs.String())
	}
}

// stallingOperators holds every sign-in lookup while stall is set, until release closes.
type stallingOperators struct {
	*operators.Store
	stall   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *stallingOperators) ByEmail(ctx context.Context, email string) (operators.Operator, error) {
	if s.stall.Load() {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Store.ByEmail(ctx, email)
}

// Anonymous requests have their own, smaller budget of slots: however many of them are
// being worked on, a signed-in operator's request finds a slot.
func TestAnonymousRequestsCannotTakeOperatorSlots(t *testing.T) {
	ops := &stallingOperators{entered: make(chan struct{}, 64), release: make(chan struct{})}
	e := newEnv(t, func(d *handlers.Deps) {
		ops.Store = d.Operators.(*operators.Store)
		d.Operators = ops
		d.MaxInFlight, d.QueueWait = 4, 200*time.Millisecond
	})
	var once sync.Once
	release := func() { once.Do(func() { close(ops.release) }) }
	t.Cleanup(release)
	b, _ := e.signedIn(operators.RoleSupport)
	ops.stall.Store(true)

	const anonymous = 8
	type visitor struct {
		b     *browser
		token string
	}
	var visitors []visitor
	for i := 0; i < anonymous; i++ {
		anon := e.browser()
		visitors = append(visitors, visitor{anon, anon.csrf()})
	}
	codes := make(chan int, anonymous)
	for _, v := range visitors {
		go func() {
			res, err := v.b.client.PostForm(e.srv.URL+"/login", url.Values{"email": {"x@example.com"}, "password": {"guess"}, "_csrf": {v.token}})
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	select { // at least one anonymous sign-in holds a slot
	case <-ops.entered:
	case code := <-codes:
		t.Fatalf("an anonymous sign-in was answered %d before it reached the lookup", code)
	}
	busy := 0
	for i := 0; i < anonymous-1; i++ {
		// The rest either wait for the anonymous budget and are refused, or hold a slot.
		select {
		case code := <-codes:
			if code == http.StatusServiceUnavailable {
				busy++
			}
		case <-ops.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("anonymous requests neither held nor refused")
		}
	}
	if res := b.get("/"); res.StatusCode != http.StatusOK {
		t.Fatalf("operator's page while anonymous requests are held: %d", res.StatusCode)
	}
	if busy == 0 {
		t.Fatalf("no anonymous request was refused: the anonymous budget is not smaller than %d", anonymous)
	}
	t.Logf("%d of %d held anonymous sign-ins were refused 503", busy, anonymous)
	release()
}

// generatedID is the form of a request id the console makes itself.
var generatedID = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// A client's X-Request-Id never reaches the audit log, the log, the response or a page;
// the console makes its own.
func TestClientChosenRequestIDIsNotKept(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	huge := strings.Repeat("A", 500<<10)
	for _, sent := range []string{"@SUM(1+1)", huge} {
		res := b.do(http.MethodGet, "/customers/"+annaID, nil, http.Header{"X-Request-Id": {sent}})
		body(res)
		got := res.Header.Get("X-Request-Id")
		if res.StatusCode != http.StatusOK || !generatedID.MatchString(got) {
			t.Fatalf("customer view with X-Request-Id %.20q: %d, X-Request-Id %.80q", sent, res.StatusCode, got)
		}
		ev, _ := e.lastEvent(audit.ActionCustomerView)
		if ev.RequestID != got {
			t.Fatalf("audit request_id %.80q, want the console's %q", ev.RequestID, got)
		}
		res = b.do(http.MethodGet, "/no-such-page", nil, http.Header{"X-Request-Id": {sent}})
		page := body(res)
		if res.StatusCode != http.StatusNotFound || strings.Contains(page, "@SUM") || strings.Contains(page, strings.Repeat("A", 64)) {
			t.Fatalf("error page with X-Request-Id %.20q: %d\n%.500s", sent, res.StatusCode, page)
		}
		if !strings.Contains(page, res.Header.Get("X-Request-Id")) {
			t.Fatalf("the error page does not name the console's request id:\n%s", page)
		}
	}
	var leaked int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE request_id LIKE '%SUM%' OR request_id LIKE '%AAAAAAAA%'`).Scan(&leaked); err != nil {
		t.Fatal(err)
	}
	if leaked != 0 {
		t.Fatalf("%d audit rows carry the client's request id", leaked)
	}
	if logs := e.logs.String(); strings.Contains(logs, "@SUM") || strings.Contains(logs, strings.Repeat("A", 64)) {
		t.Fatalf("the client's request id reached the log:\n%.2000s", logs)
	}
}

// From a trusted proxy, a well-formed X-Request-Id is logged in a field of its own beside
// the console's id; a malformed one is dropped.
func TestTrustedProxyRequestIDIsLoggedApart(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	b := e.browser()
	res := b.do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"lb-7f3a.9_x"}})
	body(res)
	if got := res.Header.Get("X-Request-Id"); !generatedID.MatchString(got) {
		t.Fatalf("X-Request-Id %q: the console's own id is expected", got)
	}
	res = b.do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"@SUM(1+1)"}})
	body(res)
	res = b.do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {strings.Repeat("b", 65)}})
	body(res)
	logs := e.logs.String()
	if !strings.Contains(logs, `"upstream_request_id":"lb-7f3a.9_x"`) {
		t.Fatalf("the proxy's request id is not logged apart:\n%s", logs)
	}
	if strings.Contains(logs, "@SUM") || strings.Contains(logs, strings.Repeat("b", 65)) {
		t.Fatalf("a malformed id from the proxy reached the log:\n%s", logs)
	}
}

// Error pages are never cacheable; only static files that exist carry cache headers.
func TestMissingStaticFileIsNotCacheable(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.get("/static/does-not-exist.css")
	body(res)
	cc := res.Header.Get("Cache-Control")
	if res.StatusCode != http.StatusNotFound || cc != "no-store" {
		t.Fatalf("missing static file: %d, Cache-Control %q; want 404 and no-store", res.StatusCode, cc)
	}
	res = b.get("/static/app.css")
	body(res)
	if cc := res.Header.Get("Cache-Control"); res.StatusCode != http.StatusOK || !strings.Contains(cc, "max-age=") {
		t.Fatalf("existing static file: %d, Cache-Control %q", res.StatusCode, cc)
	}
	for _, path := range []string{"/static/", "/static/../go.mod", "/no-such-page"} {
		res := b.get(path)
		body(res)
		if res.StatusCode < 400 || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d, Cache-Control %q", path, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	res = b.do(http.MethodPost, "/logout", nil, nil) // no CSRF token
	body(res)
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("refused post: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// A request whose client gives up while the console waits on Synerise is logged and
// counted as 499, not as 200.
func TestClientGoneIsLoggedWithItsRealStatus(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, func(d *handlers.Deps) { d.Metrics = m })
	b, _ := e.signedIn(operators.RoleSupport)
	e.sim.SetFault(simulator.RouteProfileGet, simulator.Fault{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/customers/"+annaID, nil)
	if res, err := b.client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the client was answered %d before it gave up", res.StatusCode)
	}
	line := waitForLog(t, e, `"path":"/customers/:id"`)
	if !strings.Contains(line, `"status":499`) {
		t.Fatalf("access log of a request whose client left: %s\nall:\n%s", line, e.logs.String())
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `console_http_request_duration_seconds_count{method="GET",route="/customers/:id",status="499"} 1`) {
		t.Fatalf("metrics:\n%s", grepLines(rec.Body.String(), "console_http_request_duration_seconds_count"))
	}
	if strings.Count(e.logs.String(), `"request_id":"`+requestIDOf(line)+`"`) > 2 {
		t.Fatalf("the failed request is logged more than once:\n%s", e.logs.String())
	}
}

// A handler that runs out of time is logged as 504.
func TestHandlerDeadlineIsLoggedAs504(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, func(d *handlers.Deps) {
		d.Metrics = m
		d.Profiles = deadlineProfiles{d.Profiles}
	})
	b, _ := e.signedIn(operators.RoleSupport)
	res := b.get("/customers/" + annaID)
	body(res)
	if res.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", res.StatusCode)
	}
	line := waitForLog(t, e, `"path":"/customers/:id"`)
	if !strings.Contains(line, `"status":504`) {
		t.Fatalf("access log: %s", line)
	}
}

// deadlineProfiles makes every profile read outlast a deadline of its own, as a handler
// deadline would.
type deadlineProfiles struct{ profilesAPI }

func (d deadlineProfiles) Get(ctx context.Context, id int64) (*synerise.Profile, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-ctx.Done()
	return nil, fmt.Errorf("customers: read: %w", ctx.Err())
}

func waitForLog(t *testing.T, e *env, contains string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, contains) {
				return line
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no access log line with %s:\n%s", contains, e.logs.String())
	return ""
}

func requestIDOf(line string) string {
	_, rest, _ := strings.Cut(line, `"request_id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Direction-control characters are refused in what an operator types, with the character
// named.
func TestDirectionControlCharactersAreRefused(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	for _, tt := range []struct {
		path, char string
	}{
		{"/customers/" + annaID + "?reason=" + url.QueryEscape("TICKET-1\u202E2-TEKCIT"), "U+202E"},
		{"/customers/" + annaID + "?reason=" + url.QueryEscape("ok\u2067x\u2069"), "U+2067, U+2069"},
		{"/customers/" + annaID + "?reason=" + url.QueryEscape("a\u200Fb"), "U+200F"},
	} {
		res := b.do(http.MethodGet, tt.path, nil, http.Header{"Sec-Fetch-Site": {"same-origin"}})
		page := body(res)
		want := "contains invisible direction-control characters (" + tt.char + ")"
		if res.StatusCode < 400 || !strings.Contains(page, want) {
			t.Fatalf("%s: %d, want a refusal saying %q\n%.1500s", tt.path, res.StatusCode, want, page)
		}
	}
	res := b.post("/customers/search", url.Values{"q": {"anna\u061C"}})
	if page := body(res); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "contains invisible direction-control characters (U+061C)") {
		t.Fatalf("search with U+061C: %d\n%.1500s", res.StatusCode, page)
	}
	form := actionForm(t, b, "/customers/"+annaID+"/password-reset", "customer asked\u202E")
	res = b.post("/customers/"+annaID+"/password-reset", form)
	page := body(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "contains invisible direction-control characters (U+202E)") {
		t.Fatalf("password reset with a U+202E reason: %d\n%.1500s", res.StatusCode, page)
	}
}

// Stored text that holds direction-control characters is shown with them escaped, visibly:
// a customer's fields and attributes from Synerise, audit reasons, operator names.
func TestDirectionControlCharactersAreShownEscaped(t *testing.T) {
	e := newEnv(t)
	var u synerise.ProfileUpdate
	_ = u.Set("firstName", "Anna\u202Egnp.exe")
	_ = u.Set("city", "Ł\u2066ódź\u2069")
	_ = u.SetAttribute("note", "paid\u200Fnot")
	id, _ := strconv.ParseInt(annaID, 10, 64)
	if err := e.api.Profiles.Update(context.Background(), id, u); err != nil {
		t.Fatal(err)
	}
	op, err := e.ops.Create(context.Background(), "eve-bidi@example.com", "Eve\u202Eevil", operators.RoleAdmin, e.hash)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if res := b.login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	planted, err := e.audit.Append(context.Background(), audit.Event{
		Actor: audit.Actor{OperatorID: op.ID, Email: op.Email, Role: "admin"}, Action: audit.ActionCustomerView,
		Target: audit.Target{Type: "customer", ID: annaID, Label: "x\u202Dy"}, Outcome: audit.OutcomeSucceeded,
		Reason: "approved\u202E by CISO",
	})
	if err != nil {
		t.Fatal(err)
	}
	invisible := regexp.MustCompile("[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]")
	for path, want := range map[string][]string{
		"/":                    {"Eve⟦U+202E⟧evil"},
		"/customers/" + annaID: {"Anna⟦U+202E⟧gnp.exe", "Ł⟦U+2066⟧ódź⟦U+2069⟧", "paid⟦U+200F⟧not", "approved⟦U+202E⟧ by CISO"},
		"/audit":               {"approved⟦U+202E⟧ by CISO", "x⟦U+202D⟧y"},
		"/operators":           {"Eve⟦U+202E⟧evil"},
		"/audit/" + strconv.FormatInt(planted.Seq, 10): {"approved⟦U+202E⟧ by CISO", "x⟦U+202D⟧y"},
	} {
		res := b.get(path)
		page := body(res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s does not show %q", path, w)
			}
		}
		if loc := invisible.FindStringIndex(page); loc != nil {
			t.Errorf("%s shows a raw direction-control character: …%s…", path, page[max(0, loc[0]-80):min(len(page), loc[1]+80)])
		}
	}
}
