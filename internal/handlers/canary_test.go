package handlers_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// Requirement 20 of SECURITY.md: no password, reset token, PIN, session id, API key or
// bearer token is ever stored in the database or printed to a log. The test plants
// distinctive values of each kind, drives the console through every path that handles
// them — sign-in and its failures, lockout, operator creation, account actions, settings,
// metrics, checkpoints, forged cookies and tokens — and then searches every row of every
// table and every captured log line for each of them.

// canaryWorld is a console whose secrets are all canaries: its Synerise API key, its
// metrics token and its audit signing key. Its simulator, logs and metrics are its own.
type canaryWorld struct {
	apiKey     string
	sim        *simulator.Simulator
	api        *synerise.Client
	logs       *syncBuffer // every log line the console writes, debug level included
	meter      *metrics.Metrics
	signer     *audit.Signer
	signingKey ed25519.PrivateKey

	mu      sync.Mutex
	bearers map[string]bool // Authorization values the console sent to Synerise
}

// withCanaryWorld swaps the console's Synerise for a simulator that accepts only
// apiKey (the harness always uses the simulator's default key), logs at debug level into
// the world's buffer, serves /metrics with metricsToken and signs checkpoints with the
// world's key.
func withCanaryWorld(t *testing.T, w *canaryWorld, metricsToken string) option {
	return func(d *handlers.Deps) {
		w.sim = simulator.New(simulator.Options{Customers: 300, APIKeys: []string{w.apiKey}})
		w.bearers = map[string]bool{}
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if a := r.Header.Get("Authorization"); a != "" {
				w.mu.Lock()
				w.bearers[strings.TrimPrefix(a, "Bearer ")] = true
				w.mu.Unlock()
			}
			w.sim.ServeHTTP(rw, r)
		}))
		t.Cleanup(srv.Close)
		w.meter = metrics.New()
		api, err := synerise.NewClient(srv.URL, w.apiKey, synerise.WithTimeout(5*time.Second), synerise.WithObserver(w.meter))
		if err != nil {
			t.Fatal(err)
		}
		w.api = api
		w.logs = &syncBuffer{}
		d.Logger = slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d.Profiles, d.Accounts, d.Settings, d.Outbox = api.Profiles, api.Accounts, api.Settings, server.SandboxOutbox(w.sim)
		if s, ok := d.Audit.(*audit.Store); ok {
			d.Audit = w.meter.WrapAudit(s)
		}
		d.Metrics, d.MetricsToken = w.meter, metricsToken
		d.Signer = w.signer
	}
}

// canaries are the planted secrets by what they are.
type canaries struct {
	t      *testing.T
	values map[string]string // value → what it is
}

func (c *canaries) add(what, value string) {
	c.t.Helper()
	// Short values would match by chance (a 6-digit PIN inside a latency); every canary
	// here is long enough that a match means the value was written.
	if len(value) < 12 {
		c.t.Fatalf("canary %s is too short to search for: %q", what, value)
	}
	if prev, ok := c.values[value]; ok && prev != what {
		what = prev + " / " + what
	}
	c.values[value] = what
}

// canary returns a distinctive value: a word and 16 random hex digits.
func canary(word string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "canary-" + word + "-" + hex.EncodeToString(b)
}

// cookieRecorder remembers every cookie value sent or set on a browser's requests.
type cookieRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string][]string // cookie name → values
}

func (r *cookieRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.note(req.Cookies())
	res, err := r.base.RoundTrip(req)
	if err == nil {
		r.note(res.Cookies())
	}
	return res, err
}

func (r *cookieRecorder) note(cs []*http.Cookie) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		if c.Value != "" && !slices.Contains(r.seen[c.Name], c.Value) {
			r.seen[c.Name] = append(r.seen[c.Name], c.Value)
		}
	}
}

func (r *cookieRecorder) values(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen[name])
}

// recorded makes b remember its cookies in rec.
func recorded(b *browser, rec *cookieRecorder) *browser {
	b.client.Transport = rec
	return b
}

// sessionID opens a session cookie made with the harness's session secret.
func sessionID(t *testing.T, value string) string {
	t.Helper()
	hashKey := sha256.Sum256(append([]byte("session-cookie-hmac:"), bytes.Repeat([]byte("k"), 32)...))
	sc := securecookie.New(hashKey[:], nil)
	sc.SetSerializer(securecookie.JSONEncoder{})
	var id string
	if err := sc.Decode("console_session", value, &id); err != nil {
		t.Fatalf("session cookie does not decode with the harness secret: %v", err)
	}
	return id
}

var reOneTimePassword = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

func TestCanarySecretsNeverStoredOrLogged(t *testing.T) {
	c := &canaries{t: t, values: map[string]string{}}
	seed := sha256.Sum256([]byte(canary("signing-seed")))
	w := &canaryWorld{apiKey: canary("synerise-api-key")}
	w.signingKey = ed25519.NewKeyFromSeed(seed[:])
	w.signer = audit.NewSigner(w.signingKey)
	metricsToken := canary("metrics-bearer")
	e := newEnv(t, withCanaryWorld(t, w, metricsToken))
	ctx := context.Background()
	// The workspace activates accounts by e-mail, so the activation resend is offered.
	ws, err := w.api.Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetRegistrationType("REQUIRE_EMAIL_ACTIVATION")
	if _, err := w.api.Settings.Set(ctx, ws); err != nil {
		t.Fatal(err)
	}
	rec := &cookieRecorder{base: http.DefaultTransport, seen: map[string][]string{}}

	c.add("Synerise API key", w.apiKey)
	c.add("metrics bearer token", metricsToken)
	c.add("audit signing key seed (hex)", hex.EncodeToString(seed[:]))
	c.add("audit signing key seed (base64)", base64.StdEncoding.EncodeToString(seed[:]))
	c.add("audit signing private key (hex)", hex.EncodeToString(w.signingKey))
	c.add("audit signing private key (base64)", base64.StdEncoding.EncodeToString(w.signingKey))
	pkcs8, err := x509.MarshalPKCS8PrivateKey(w.signingKey)
	if err != nil {
		t.Fatal(err)
	}
	c.add("audit signing private key (PKCS #8 base64)", base64.StdEncoding.EncodeToString(pkcs8))

	// Operators whose passwords are canaries.
	adminPassword, supportPassword := canary("admin-password"), canary("support-password")
	c.add("admin password", adminPassword)
	c.add("support password", supportPassword)
	mkOperator := func(email string, role operators.Role, pw string) operators.Operator {
		h, err := password.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		op, err := e.ops.Create(ctx, email, strings.Split(email, "@")[0], role, h)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	adminOp := mkOperator("canary-admin@example.com", operators.RoleAdmin, adminPassword)
	supportOp := mkOperator("canary-support@example.com", operators.RoleSupport, supportPassword)

	// Failed sign-ins: wrong canary passwords for a known and an unknown e-mail, until the
	// support operator is locked out; then the right password while locked.
	intruder := recorded(e.browser(), rec)
	for i := range operators.MaxFailures {
		wrong := canary(fmt.Sprintf("wrong-password-%d", i))
		c.add("wrong password", wrong)
		if res := intruder.login(supportOp.Email, wrong); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", res.StatusCode)
		}
	}
	unknownPw := canary("unknown-user-password")
	c.add("password of an unknown e-mail", unknownPw)
	if res := intruder.login("nobody-canary@example.com", unknownPw); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown e-mail: %d", res.StatusCode)
	}
	if res := intruder.login(supportOp.Email, supportPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in while locked: %d", res.StatusCode)
	}
	if _, ok := e.lastEvent(audit.ActionLockout); !ok {
		t.Fatal("no lockout was recorded: the lockout path was not exercised")
	}
	e.clock.Add(operators.LockDuration + time.Minute)

	// Forged credentials: a session cookie, CSRF tokens and a password far too long.
	forged := recorded(e.browser(), rec)
	forgedSession := canary("forged-session-cookie")
	forgedCSRF := canary("forged-csrf-43-chars-xxxxxxxxx")[:43]
	c.add("forged session cookie", forgedSession)
	c.add("forged CSRF cookie", forgedCSRF)
	u := mustURL(e.srv.URL)
	forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: "console_session", Value: forgedSession}, {Name: "console_csrf", Value: forgedCSRF}})
	wrongCSRF := canary("wrong-csrf-token")
	c.add("wrong CSRF token", wrongCSRF)
	if res := forged.post("/login", url.Values{"email": {adminOp.Email}, "password": {adminPassword}, "_csrf": {wrongCSRF}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d", res.StatusCode)
	}
	if res := forged.get("/customers/" + annaID); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged session cookie: %d", res.StatusCode)
	}
	tooLong := canary("too-long-password") + strings.Repeat("x", 4*password.MaxLength)
	c.add("over-long password", tooLong)
	if res := forged.login(adminOp.Email, tooLong); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("over-long password: %d", res.StatusCode)
	}

	// The admin signs in with the canary password and adds an operator: the generated
	// one-time password is shown once, then used to sign in.
	admin := recorded(e.browser(), rec)
	if res := admin.login(adminOp.Email, adminPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d %s", res.StatusCode, body(res))
	}
	res := admin.post("/operators", url.Values{"email": {"canary-new@example.com"}, "name": {"New Canary"}, "role": {"support"}})
	page := body(res)
	m := reOneTimePassword.FindStringSubmatch(page)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("operator add: %d %s", res.StatusCode, page)
	}
	oneTime := html.UnescapeString(m[1])
	c.add("generated one-time operator password", oneTime)
	newbie := recorded(e.browser(), rec)
	if res := newbie.login("canary-new@example.com", oneTime); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the one-time password: %d", res.StatusCode)
	}
	if res := newbie.login("canary-new@example.com", oneTime+"-wrong"); res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second sign-in: %d", res.StatusCode)
	}

	// The support operator, no longer locked, signs in with the canary password and asks
	// Synerise for a password reset and an activation e-mail.
	support := recorded(e.browser(), rec)
	if res := support.login(supportOp.Email, supportPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("support sign-in after the lock: %d %s", res.StatusCode, body(res))
	}
	if res := support.get("/customers/" + annaID); res.StatusCode != http.StatusOK {
		t.Fatalf("customer view: %d", res.StatusCode)
	}
	resetPath := "/customers/" + annaID + "/password-reset"
	if res := support.htmxPost(resetPath, actionForm(t, support, resetPath, "TICKET-20 canary reset")); res.StatusCode != http.StatusOK {
		t.Fatalf("password reset: %d %s", res.StatusCode, body(res))
	}
	activationPath := "/customers/" + zoeID + "/activation"
	if res := support.post(activationPath, actionForm(t, support, activationPath, "TICKET-20 canary activation")); res.StatusCode != http.StatusOK {
		t.Fatalf("activation e-mail: %d %s", res.StatusCode, body(res))
	}

	// The admin switches the workspace to 12-digit PINs through the settings screen, and
	// the support operator resends John's PIN.
	saved := previewAndSave(t, admin, map[string]string{
		"registrationType": "REQUIRE_PIN_CONFIRMATION", "pinConfirmationLength": "12",
	}, "TICKET-20 canary PIN length")
	if saved.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings save: %d %s", saved.StatusCode, body(saved))
	}
	john, _ := w.sim.ExampleIn(simulator.StateAwaitingPIN)
	pinPath := "/customers/" + johnID + "/activation"
	if res := support.post(pinPath, actionForm(t, support, pinPath, "TICKET-20 canary PIN")); res.StatusCode != http.StatusOK {
		t.Fatalf("PIN resend: %d %s", res.StatusCode, body(res))
	}
	if res := support.get("/sandbox/outbox"); res.StatusCode != http.StatusOK {
		t.Fatalf("sandbox outbox: %d", res.StatusCode)
	}
	kinds := map[simulator.MessageKind]int{}
	for _, msg := range w.sim.Outbox() {
		kinds[msg.Kind]++
		c.add(string(msg.Kind)+" secret sent to "+msg.Email, msg.Secret)
	}
	if kinds[simulator.KindPasswordReset] != 1 || kinds[simulator.KindActivation] != 1 || kinds[simulator.KindPIN] != 1 {
		t.Fatalf("outbox holds %v, want one reset token, one activation token and one PIN", kinds)
	}
	if pin, _ := w.sim.LastMessage(john.Email, simulator.KindPIN); len(pin.Secret) != 12 {
		t.Fatalf("PIN %q is not 12 digits", pin.Secret)
	}

	// The admin signs a checkpoint and reads the integrity page, the history and an export.
	if res := admin.post("/audit/checkpoints", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkpoint: %d %s", res.StatusCode, body(res))
	}
	for _, p := range []string{"/audit/integrity", "/settings/history", "/audit/export.ndjson", "/operators"} {
		if res := admin.get(p); res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, res.StatusCode)
		}
	}

	// Metrics: the right bearer token and a wrong one.
	wrongMetrics := canary("wrong-metrics-bearer")
	c.add("wrong metrics bearer token", wrongMetrics)
	scrape := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, _ := scrape(wrongMetrics); status != http.StatusUnauthorized {
		t.Fatalf("metrics with a wrong token: %d", status)
	}
	status, exposition := scrape(metricsToken)
	if status != http.StatusOK || !strings.Contains(exposition, "console_http_request_duration_seconds") {
		t.Fatalf("metrics with the token: %d", status)
	}

	// Everyone signs out, so the deleted sessions' ids are among the canaries too.
	for _, b := range []*browser{admin, support, newbie} {
		if res := b.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", res.StatusCode)
		}
	}

	// The session and CSRF cookies every browser held, and the session ids inside.
	sessionCookies := rec.values("console_session")
	for _, v := range sessionCookies {
		if v == forgedSession {
			continue
		}
		c.add("session cookie", v)
		c.add("session id", sessionID(t, v))
	}
	if len(sessionCookies) < 3 {
		t.Fatalf("only %d session cookies were seen", len(sessionCookies))
	}
	for _, v := range rec.values("console_csrf") {
		c.add("CSRF token", v)
	}
	w.mu.Lock()
	for b := range w.bearers {
		c.add("Synerise workspace bearer token", b)
	}
	w.mu.Unlock()
	if len(w.bearers) == 0 {
		t.Fatal("the console sent Synerise no bearer token")
	}

	// A session that is still live is in the sessions table only as SHA-256 of its id.
	live := recorded(e.browser(), rec)
	if res := live.login(adminOp.Email, adminPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	liveCookies := rec.values("console_session")
	liveID := sessionID(t, liveCookies[len(liveCookies)-1])
	c.add("live session cookie", liveCookies[len(liveCookies)-1])
	c.add("live session id", liveID)
	idHash := sha256.Sum256([]byte(liveID))
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id_hash = $1`, idHash[:]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("live session by the SHA-256 of its id: %d rows (%v), want 1", n, err)
	}

	// The search: every row of every table, and every log line. Two values that must be
	// found show that it works: a request id (in the audit log and the access log, as
	// text) and the SHA-256 of the live session id (in the sessions table, as bytea).
	requestID := saved.Header.Get("X-Request-Id")
	controls := map[string]string{
		requestID:         "control: request id of the settings save",
		string(idHash[:]): "control: SHA-256 of the live session id",
	}
	if len(requestID) < 12 {
		t.Fatalf("request id %q", requestID)
	}
	search := maps.Clone(c.values)
	maps.Copy(search, controls)
	seen := map[string]bool{}
	for _, f := range findCanaries(t, e, search, w.logs.String()+e.logs.String()) {
		control := false
		for _, what := range controls {
			if strings.HasPrefix(f, what+" ") {
				seen[what], control = true, true
			}
		}
		if !control {
			t.Error(f)
		}
	}
	for _, what := range controls {
		if !seen[what] {
			t.Errorf("%s was not found: the search does not work", what)
		}
	}
	for v, what := range c.values {
		if strings.Contains(exposition, v) {
			t.Errorf("%s is in the /metrics exposition", what)
		}
	}
	if len(w.logs.String()) == 0 {
		t.Fatal("nothing was logged: the log search proved nothing")
	}

	// The settings change is recorded with its values: RaaS keys that merely contain
	// "token" or "password" are settings, not secrets.
	ev, ok := e.lastEvent(audit.ActionSettingsUpdate)
	if !ok {
		t.Fatal("no settings event")
	}
	var after map[string]json.RawMessage
	if err := json.Unmarshal(ev.After, &after); err != nil {
		t.Fatalf("settings After %s: %v", ev.After, err)
	}
	for _, k := range []string{"tokenLifetimeInSeconds", "passwordResetMailSubject", "pinConfirmationLength"} {
		if v, ok := after[k]; !ok || strings.Contains(string(v), audit.Redacted) {
			t.Errorf("settings After %s = %s: a setting was redacted as if it were a secret", k, v)
		}
	}
}

// findCanaries returns where each value turns up: a row of a table, as text or, for
// bytea columns, as the hex PostgreSQL prints, or a log line.
func findCanaries(t *testing.T, e *env, values map[string]string, logs string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgx.Identifier, error) {
		var schema, name string
		err := r.Scan(&schema, &name)
		return pgx.Identifier{schema, name}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("found only %d tables: %v", len(tables), tables)
	}
	var found []string
	searched := 0
	for _, tbl := range tables {
		rows, err := e.pool.Query(ctx, `SELECT t::text FROM `+tbl.Sanitize()+` t`)
		if err != nil {
			t.Fatalf("read %s: %v", tbl.Sanitize(), err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("read %s: %v", tbl.Sanitize(), err)
		}
		for i, row := range texts {
			searched++
			lower := strings.ToLower(row)
			for v, what := range values {
				if strings.Contains(row, v) || strings.Contains(lower, hex.EncodeToString([]byte(v))) {
					found = append(found, fmt.Sprintf("%s (%.24q…) is stored in table %s, row %d: %.400s", what, v, tbl.Sanitize(), i+1, row))
				}
			}
		}
	}
	if searched < 20 {
		t.Fatalf("searched only %d rows", searched)
	}
	for i, line := range strings.Split(logs, "\n") {
		for v, what := range values {
			if strings.Contains(line, v) {
				found = append(found, fmt.Sprintf("%s (%.24q…) is in log line %d: %.400s", what, v, i+1, line))
			}
		}
	}
	t.Logf("searched %d rows of %d tables and %d log bytes for %d values", searched, len(tables), len(logs), len(values))
	return found
}
