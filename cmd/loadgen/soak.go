package main

// The soak phase (issue 14): a running console under a mixed load while Synerise misbehaves
// — 503s without Retry-After, dropped connections, every token revoked once a minute, tokens
// expiring with 403, and the simulator process restarted once in the middle — must lose no
// audit row, send no write twice and put every error in words.
//
//	go run ./cmd/loadgen -console bin/console -phases soak -duration 10m
//
// Every answer carries the console's X-Request-Id, which the console keeps in the audit
// rows it writes for that request, so each answer is matched with its rows. The simulator counts
// the requests whose handler ran ("executed": past faults and the token check), so writes
// Synerise applied are told from writes it refused.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// soakConfig is the soak phase's flags.
type soakConfig struct {
	rate          float64
	mix           string
	tokenLifetime time.Duration
	expiredStatus int
	revokeEvery   time.Duration
	errorRate     float64
	dropRate      float64
	restart       bool
}

func soakFlags(c *soakConfig) {
	flag.Float64Var(&c.rate, "soak-rate", 50, "soak phase: arrivals per second (an edit or a password reset is two requests: the form, then the post)")
	flag.StringVar(&c.mix, "soak-mix", "search=25,view=40,edit=20,resend=15", "soak phase: weights of search, view, edit (basic info) and resend (password reset)")
	flag.DurationVar(&c.tokenLifetime, "soak-token-lifetime", 45*time.Second, "soak phase: the simulator's token lifetime (shorter than -soak-revoke-every, so tokens also reach their end of life)")
	flag.IntVar(&c.expiredStatus, "soak-expired-token-status", 403, "soak phase: the status the simulator answers expired tokens with")
	flag.DurationVar(&c.revokeEvery, "soak-revoke-every", time.Minute, "soak phase: revoke every token this often (0: never)")
	flag.Float64Var(&c.errorRate, "soak-error-rate", 0.05, "soak phase: share of Synerise requests answered 503 without Retry-After")
	flag.Float64Var(&c.dropRate, "soak-drop-rate", 0.01, "soak phase: share of Synerise requests whose connection is dropped")
	flag.BoolVar(&c.restart, "soak-restart", true, "soak phase: restart the simulator process half-way")
}

func (c soakConfig) simulatorFlags() []string {
	return []string{"-token-lifetime", c.tokenLifetime.String(), "-expired-token-status", strconv.Itoa(c.expiredStatus)}
}

// simProcess is the simulator process the generator started, replaced by a restart.
type simProcess struct {
	bin     string
	cur     *consoleProc
	logPath string
	extra   []string
}

// soakRecord is one request to the console and how it was answered.
type soakRecord struct {
	action    string
	reqID     string
	status    int    // 0: no answer
	errKind   string // why there was no answer
	title     string // the error's title, for an answer of 400 or more
	raw       string // raw error text found in an error answer
	took      time.Duration
	auditedAs audit.Action // the action its audit rows carry, "" when not audited
}

type soakLog struct {
	mu   sync.Mutex
	recs []soakRecord
}

func (l *soakLog) add(r soakRecord) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
}

// errorTitles are the titles the console's error funnel and forms give an error, longest
// first so that a title found is the most specific one.
var errorTitles = func() []string {
	t := []string{
		"The console is busy", "Audit log unavailable", "Synerise is unavailable", "Synerise is busy",
		"Synerise is rate limiting", "Could not reach Synerise", "Synerise did not answer in time",
		"Synerise refused the console's credentials", "Synerise is failing", "Synerise failed",
		"Synerise refused the request", "Synerise refused", "Not found in Synerise", "No such customer",
		"Cannot be looked up", "Outcome unknown — check before retrying", "Already sent", "Form expired",
		"Not allowed", "Request refused", "Not found", "Something went wrong",
		"Nothing was saved", "Nothing to save",
	}
	sort.SliceStable(t, func(i, j int) bool { return len(t[i]) > len(t[j]) })
	return t
}()

// rawErrorText is text that means an error reached the operator as the program saw it.
var rawErrorText = []string{"synerise:", "EOF", "context deadline exceeded", "context canceled", "dial tcp",
	"connection reset", "connection refused", "%!", "<nil>", "Internal Server Error", "panic", "goroutine "}

// pageText is the visible text of an HTML page.
func pageText(page []byte) string {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return string(page)
	}
	var b strings.Builder
	walk(doc, func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || (n.Parent.Data != "script" && n.Parent.Data != "style")) {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
	})
	return b.String()
}

// classify finds an error answer's title and any raw error text in it.
func classify(page []byte) (title, raw string) {
	text := pageText(page)
	for _, t := range errorTitles {
		if strings.Contains(text, t) {
			title = t
			break
		}
	}
	for _, r := range rawErrorText {
		if strings.Contains(text, r) {
			raw = r
			break
		}
	}
	return title, raw
}

// soakDo sends one request and records how it was answered, under the request id the
// console answered with (the id of its audit rows).
func (e *env) soakDo(ctx context.Context, log *soakLog, action string, audited audit.Action, op *operator, method, path string, form map[string][]string, htmx bool) (int, []byte) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	r := soakRecord{action: action, auditedAs: audited}
	start := time.Now()
	code, body, consoleID, err := op.doWithID(ctx, method, path, form, htmx)
	r.took = time.Since(start)
	r.reqID = consoleID
	if err != nil {
		r.errKind = errKind(err)
		log.add(r)
		return 0, nil
	}
	r.status = code
	if code >= 400 {
		r.title, r.raw = classify(body)
	}
	log.add(r)
	return code, body
}

// soakAction runs one action of the soak's mix.
func (e *env) soakAction(ctx context.Context, log *soakLog, action string) {
	switch action {
	case "search":
		c := e.pick(e.withEmail)
		e.soakDo(ctx, log, "search", audit.ActionCustomerSearch, e.op(), http.MethodPost, "/customers/search", map[string][]string{"q": {c.email}}, true)
	case "view":
		e.soakDo(ctx, log, "view", audit.ActionCustomerView, e.op(), http.MethodGet, "/customers/"+strconv.FormatInt(e.pick(e.customers).id, 10), nil, false)
	case "edit":
		c, op := e.pick(e.customers), e.op()
		path := "/customers/" + strconv.FormatInt(c.id, 10)
		code, page := e.soakDo(ctx, log, "edit (form)", "", op, http.MethodGet, path+"/edit", nil, false)
		form := formValues(page, path)
		if code != http.StatusOK || form == nil {
			return
		}
		form.Set("city", "Soak "+randomHex(3))
		form.Set("reason", "SOAK-"+randomHex(2))
		e.soakDo(ctx, log, "edit (save)", audit.ActionCustomerUpdate, op, http.MethodPost, path, form, false)
	case "resend":
		c, op := e.pick(e.resettable), e.op()
		path := "/customers/" + strconv.FormatInt(c.id, 10) + "/password-reset"
		code, page := e.soakDo(ctx, log, "password reset (form)", "", op, http.MethodGet, path, nil, false)
		form := formValues(page, path)
		if code != http.StatusOK || form == nil {
			return
		}
		form.Set("reason", "SOAK-"+randomHex(2))
		e.soakDo(ctx, log, "password reset (send)", audit.ActionCustomerPasswordReset, op, http.MethodPost, path, form, false)
	}
}

// simAdmin calls one of the simulator's /_simulator/ endpoints.
func (e *env) simAdmin(ctx context.Context, method, path string, body any, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.sims.cur.url+"/_simulator/"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("simulator %s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// installFaults puts the soak's faults on every route but the login, which gets a fault
// entry of its own without any trouble (a route's own entry replaces "*").
func (e *env) installFaults(ctx context.Context) error {
	c := e.cfg.soak
	if err := e.simAdmin(ctx, http.MethodPost, "faults", map[string]any{"route": "*", "errorRate": c.errorRate, "errorStatus": 503, "dropRate": c.dropRate}, nil); err != nil {
		return err
	}
	return e.simAdmin(ctx, http.MethodPost, "faults", map[string]any{"route": simulator.RouteLogin}, nil)
}

// simCounts is what the simulator counted, as GET /_simulator/{requests,executed,tokens/rejected}.
type simCounts = simulator.ShutdownCounts

func (e *env) readSimCounts(ctx context.Context) (simCounts, error) {
	var c simCounts
	if err := e.simAdmin(ctx, http.MethodGet, "requests", nil, &c.Requests); err != nil {
		return c, err
	}
	if err := e.simAdmin(ctx, http.MethodGet, "executed", nil, &c.Executed); err != nil {
		return c, err
	}
	return c, e.simAdmin(ctx, http.MethodGet, "tokens/rejected", nil, &c.TokensRejected)
}

func addCounts(dst map[string]int, src map[string]int, sign int) {
	for k, v := range src {
		dst[k] += sign * v
	}
}

// shutdownCounts reads the counters a simulator process printed when it stopped.
func shutdownCounts(logPath string) (simCounts, error) {
	var c simCounts
	b, err := os.ReadFile(logPath)
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, simulator.ShutdownCountsPrefix); ok {
			return c, json.Unmarshal([]byte(rest), &c)
		}
	}
	return c, fmt.Errorf("no %q line in %s", simulator.ShutdownCountsPrefix, logPath)
}

// restartReport is what the restart of the simulator showed.
type restartReport struct {
	at           time.Duration // into the phase
	stopTook     time.Duration // SIGTERM until the old process was gone
	downFor      time.Duration // old process gone until the new one accepted connections
	servedAfter  time.Duration // old process gone until a customer view answered 200
	probesFailed map[string]int
	err          error
}

// restartSimulator stops the simulator process (SIGTERM: requests in flight finish, then it
// prints its counters), starts a new one on the same address with the same seed and flags,
// and installs the faults again. It adds the old process's counters to total. It returns
// once the faults are back; wait then waits until the console serves a view again (its
// own context, not the load's, so a slow recovery is measured to the end).
func (e *env) restartSimulator(ctx context.Context, total *simCounts, log *soakLog, phaseStart time.Time) (r restartReport, wait func() restartReport) {
	r = restartReport{at: time.Since(phaseStart), probesFailed: map[string]int{}}
	wait = func() restartReport { return r }
	old := e.sims.cur
	addr := strings.TrimPrefix(old.url, "http://")
	t0 := time.Now()
	old.stop()
	gone := time.Now()
	r.stopTook = gone.Sub(t0)
	c, err := shutdownCounts(e.sims.logPath)
	if err != nil {
		r.err = fmt.Errorf("counters of the stopped simulator: %w", err)
		return r, wait
	}
	addCounts(total.Requests, c.Requests, 1)
	addCounts(total.Executed, c.Executed, 1)
	addCounts(total.TokensRejected, c.TokensRejected, 1)

	// A view every 50 ms from the moment the old process is gone, until one answers 200.
	served := make(chan time.Time, 1)
	go func() {
		op := e.support[0]
		for time.Since(gone) < 2*time.Minute && ctx.Err() == nil {
			path := "/customers/" + strconv.FormatInt(e.pick(e.customers).id, 10)
			code, _ := e.soakDo(ctx, log, "view (restart probe)", audit.ActionCustomerView, op, http.MethodGet, path, nil, false)
			if code == http.StatusOK {
				served <- time.Now()
				return
			}
			r.probesFailed[strconv.Itoa(code)]++ // read only after served or the timeout
			time.Sleep(50 * time.Millisecond)
		}
		close(served)
	}()

	e.sims.logPath = filepath.Join(os.TempDir(), "loadgen-simulator-restarted.log")
	proc, err := startSimulator(ctx, e.sims.bin, addr, e.cfg.seed, e.cfg.customers, e.cfg.simLatency, e.sims.logPath, e.sims.extra...)
	if err != nil {
		r.err = fmt.Errorf("start the simulator again on %s: %w", addr, err)
		return r, wait
	}
	e.sims.cur = proc
	r.downFor = time.Since(gone)
	if err := e.installFaults(ctx); err != nil {
		r.err = fmt.Errorf("faults after the restart: %w", err)
	}
	return r, func() restartReport {
		if at, ok := <-served; ok {
			r.servedAfter = at.Sub(gone)
		} else if r.err == nil {
			r.err = errors.New("no customer view answered 200 within 2 minutes of the restart")
		}
		return r
	}
}

// soak runs the phase and reports it; it returns an error when a check failed.
func (e *env) soak(ctx context.Context) error {
	c, out := e.cfg.soak, e.out
	pick, err := weightsOf(c.mix, "search", "view", "edit", "resend")
	if err != nil {
		return err
	}
	var startSeq int64
	if err := e.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM audit_events").Scan(&startSeq); err != nil {
		return err
	}
	base, err := e.readSimCounts(ctx)
	if err != nil {
		return err
	}
	total := simCounts{Requests: map[string]int{}, Executed: map[string]int{}, TokensRejected: map[string]int{}}
	addCounts(total.Requests, base.Requests, -1)
	addCounts(total.Executed, base.Executed, -1)
	addCounts(total.TokensRejected, base.TokensRejected, -1)
	if err := e.installFaults(ctx); err != nil {
		return err
	}

	log := &soakLog{}
	start := time.Now()
	var simMu sync.Mutex // the revocations and the restart take turns with the simulator
	var revocations, revokeFailures int
	var restart *restartReport
	bgCtx, stopBg := context.WithCancel(ctx)
	var bg sync.WaitGroup
	if c.revokeEvery > 0 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			t := time.NewTicker(c.revokeEvery)
			defer t.Stop()
			for {
				select {
				case <-bgCtx.Done():
					return
				case <-t.C:
				}
				simMu.Lock()
				if e.simAdmin(bgCtx, http.MethodPost, "tokens/revoke", nil, nil) == nil {
					revocations++
				} else {
					revokeFailures++
				}
				simMu.Unlock()
			}
		}()
	}
	if c.restart {
		bg.Add(1)
		go func() {
			defer bg.Done()
			select {
			case <-bgCtx.Done():
				return
			case <-time.After(e.cfg.duration / 2):
			}
			simMu.Lock()
			_, wait := e.restartSimulator(ctx, &total, log, start)
			simMu.Unlock()
			r := wait()
			restart = &r
		}()
	}
	elapsed, dropped := runAtRate(ctx, c.rate, e.cfg.duration, e.cfg.maxInFlight, func(int) { e.soakAction(ctx, log, pick()) })
	stopBg()
	bg.Wait()

	// Faults off; then give every write in flight its outcome row (the console awaits each
	// write with its own deadline even when this generator gave up on the answer).
	if err := e.simAdmin(ctx, http.MethodDelete, "faults", nil, nil); err != nil {
		return err
	}
	pending := e.pendingIntents(ctx, startSeq)
	for deadline := time.Now().Add(time.Minute); pending > 0 && time.Now().Before(deadline); pending = e.pendingIntents(ctx, startSeq) {
		time.Sleep(500 * time.Millisecond)
	}
	now, err := e.readSimCounts(ctx)
	if err != nil {
		return err
	}
	addCounts(total.Requests, now.Requests, 1)
	addCounts(total.Executed, now.Executed, 1)
	addCounts(total.TokensRejected, now.TokensRejected, 1)
	rows, err := e.auditRowsSince(ctx, startSeq)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "## phase soak: %.0f arrivals/s for %s (took %s, %d dropped by the generator)\n\n", c.rate, e.cfg.duration, elapsed.Round(time.Millisecond), dropped)
	fmt.Fprintf(out, "faults: every route but auth.login: %.0f %% answered 503 without Retry-After, %.0f %% dropped connections; every token revoked every %s; token lifetime %s, expired tokens answered %d; simulator restarted half-way: %v\n\n",
		100*c.errorRate, 100*c.dropRate, c.revokeEvery, c.tokenLifetime, c.expiredStatus, c.restart)
	checks := &soakChecks{}
	e.reportRequests(out, log.recs)
	e.reportSynerise(out, total, revocations, revokeFailures, restart, checks)
	e.checkAudit(ctx, out, log.recs, rows, pending, checks)
	e.checkWrites(out, total, rows, checks)
	e.checkWords(out, log.recs, checks)
	fmt.Fprintln(out, "### checks")
	fmt.Fprintln(out)
	for _, r := range checks.results {
		fmt.Fprintf(out, "- %s\n", r)
	}
	fmt.Fprintln(out)
	if checks.failed > 0 {
		return fmt.Errorf("soak: %d of %d checks failed", checks.failed, len(checks.results))
	}
	return nil
}

type soakChecks struct {
	results []string
	failed  int
}

func (c *soakChecks) check(ok bool, format string, args ...any) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		c.failed++
	}
	c.results = append(c.results, verdict+": "+fmt.Sprintf(format, args...))
}

// weightsOf is weights limited to the given action names.
func weightsOf(spec string, names ...string) (func() string, error) {
	for _, part := range strings.Split(spec, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("-soak-mix: unknown action %q (want %s)", name, strings.Join(names, ", "))
		}
	}
	return weights(spec)
}

// auditRow is one audit_events row written during the soak.
type auditRow struct {
	seq, intentSeq int64
	action         audit.Action
	outcome        audit.Outcome
	requestID      string
}

func (e *env) auditRowsSince(ctx context.Context, seq int64) ([]auditRow, error) {
	rows, err := e.pool.Query(ctx, "SELECT seq, coalesce(intent_seq, 0), action, outcome, request_id FROM audit_events WHERE seq > $1 ORDER BY seq", seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var action, outcome string
		if err := rows.Scan(&r.seq, &r.intentSeq, &action, &outcome, &r.requestID); err != nil {
			return nil, err
		}
		r.action, r.outcome = audit.Action(action), audit.Outcome(outcome)
		out = append(out, r)
	}
	return out, rows.Err()
}

// pendingIntents counts the intents written since seq that have no outcome row yet.
func (e *env) pendingIntents(ctx context.Context, seq int64) int {
	var n int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events i WHERE i.seq > $1 AND i.outcome = 'pending'
		AND NOT EXISTS (SELECT 1 FROM audit_events o WHERE o.intent_seq = i.seq)`, seq).Scan(&n)
	return n
}

// reportRequests prints requests, statuses and latencies per action.
func (e *env) reportRequests(out io.Writer, recs []soakRecord) {
	type agg struct {
		n, ok    int
		statuses map[string]int
		took     []time.Duration
	}
	by := map[string]*agg{}
	all := &agg{statuses: map[string]int{}}
	for _, r := range recs {
		a := by[r.action]
		if a == nil {
			a = &agg{statuses: map[string]int{}}
			by[r.action] = a
		}
		for _, a := range []*agg{a, all} {
			a.n++
			key := strconv.Itoa(r.status)
			if r.status == 0 {
				key = "no answer (" + r.errKind + ")"
			}
			a.statuses[key]++
			if r.status != 0 {
				a.took = append(a.took, r.took)
			}
			if r.status >= 200 && r.status < 300 {
				a.ok++
			}
		}
	}
	fmt.Fprintln(out, "### requests to the console")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| action | requests | 2xx | statuses | p50 ms | p99 ms | max ms |")
	fmt.Fprintln(out, "|---|---:|---:|---|---:|---:|---:|")
	row := func(name string, a *agg) {
		slices.Sort(a.took)
		var p50, p99, mx time.Duration
		if len(a.took) > 0 {
			p50, p99, mx = pct(a.took, 50), pct(a.took, 99), a.took[len(a.took)-1]
		}
		fmt.Fprintf(out, "| %s | %d | %d | %s | %s | %s | %s |\n", name, a.n, a.ok, countsText(a.statuses), ms(p50), ms(p99), ms(mx))
	}
	for _, name := range slices.Sorted(maps.Keys(by)) {
		row(name, by[name])
	}
	row("**all**", all)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "latencies are of every answered request, errors included")
	fmt.Fprintln(out)
}

// countsText is "a 3, b 1", largest first.
func countsText(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// reportSynerise prints what the simulator saw: requests and executed per route, logins,
// token rejections, revocations and the restart.
func (e *env) reportSynerise(out io.Writer, total simCounts, revocations, revokeFailures int, restart *restartReport, checks *soakChecks) {
	fmt.Fprintln(out, "### what Synerise (the simulator) saw, both processes added up")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| route | requests | executed (handler ran) |")
	fmt.Fprintln(out, "|---|---:|---:|")
	for _, route := range slices.Sorted(maps.Keys(total.Requests)) {
		if total.Requests[route] == 0 && total.Executed[route] == 0 {
			continue
		}
		fmt.Fprintf(out, "| %s | %d | %d |\n", route, total.Requests[route], total.Executed[route])
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "logins the console made (auth.login requests): %d; token refreshes: %d; requests refused for their token: %d expired (answered %d), %d invalid (revoked or from the process before the restart, answered 401)\n\n",
		total.Requests[simulator.RouteLogin], total.Requests[simulator.RouteRefresh], total.TokensRejected[simulator.TokenExpired], e.cfg.soak.expiredStatus, total.TokensRejected[simulator.TokenInvalid])
	fmt.Fprintf(out, "token revocations: %d done, %d failed (the simulator was being restarted)\n\n", revocations, revokeFailures)
	if e.cfg.soak.revokeEvery > 0 {
		checks.check(revocations >= int(e.cfg.duration/e.cfg.soak.revokeEvery)-1, "tokens revoked %d times (one every %s)", revocations, e.cfg.soak.revokeEvery)
	}
	if restart == nil {
		if e.cfg.soak.restart {
			checks.check(false, "the simulator was restarted (the run ended first)")
		}
		return
	}
	if restart.err != nil {
		checks.check(false, "simulator restart: %v", restart.err)
		return
	}
	fmt.Fprintf(out, "simulator restart at %s into the phase: SIGTERM to gone %s, down (no process listening) %s; the console answered a customer view 200 again %s after the old process was gone (probe views that failed first, by status: %s)\n\n",
		restart.at.Round(time.Second), restart.stopTook.Round(time.Millisecond), restart.downFor.Round(time.Millisecond),
		restart.servedAfter.Round(time.Millisecond), orNone(countsText(restart.probesFailed)))
	checks.check(restart.servedAfter > 0, "the console survived the simulator restart without a restart of its own: views answered 200 again %s after the old simulator was gone", restart.servedAfter.Round(time.Millisecond))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// checkAudit matches every answer of an audited request with its audit rows.
func (e *env) checkAudit(ctx context.Context, out io.Writer, recs []soakRecord, rows []auditRow, pending int, checks *soakChecks) {
	byReq := map[string][]auditRow{}
	outcomeOf := map[int64]auditRow{}
	for _, r := range rows {
		byReq[r.requestID] = append(byReq[r.requestID], r)
		if r.intentSeq != 0 {
			outcomeOf[r.intentSeq] = r
		}
	}
	type tally struct{ answered, recorded, notStarted, lost int }
	by := map[string]*tally{}
	var lost []string
	noAnswer := 0
	for _, r := range recs {
		got := byReq[r.reqID]
		if r.auditedAs == "" {
			if len(got) > 0 {
				lost = append(lost, fmt.Sprintf("%s %s (%d) left %d unexpected rows", r.action, r.reqID, r.status, len(got)))
			}
			continue
		}
		if r.status == 0 {
			noAnswer++
			continue
		}
		t := by[r.action]
		if t == nil {
			t = &tally{}
			by[r.action] = t
		}
		t.answered++
		// Answers that say nothing was started: the console's own admission limit (before
		// any handler), an audit log that refused the first row, a form refused before
		// anything was sent.
		nothingStarted := r.title == "The console is busy" || r.title == "Audit log unavailable" ||
			(r.auditedAs == audit.ActionCustomerUpdate || r.auditedAs == audit.ActionCustomerPasswordReset) &&
				(r.status == http.StatusUnprocessableEntity || r.status == http.StatusConflict) && len(got) == 0
		if nothingStarted && len(got) == 0 {
			t.notStarted++
			continue
		}
		if why := auditMismatch(r, got, outcomeOf); why != "" {
			t.lost++
			lost = append(lost, fmt.Sprintf("%s %s answered %d %q: %s", r.action, r.reqID, r.status, r.title, why))
			continue
		}
		t.recorded++
	}
	fmt.Fprintln(out, "### audit rows against the console's answers (matched by request id)")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| action | answered | with their rows | nothing started (no row due) | lost or wrong |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
	totalLost := 0
	for _, name := range slices.Sorted(maps.Keys(by)) {
		t := by[name]
		fmt.Fprintf(out, "| %s | %d | %d | %d | %d |\n", name, t.answered, t.recorded, t.notStarted, t.lost)
		totalLost += t.lost
	}
	fmt.Fprintln(out)
	byAction := map[string]int{}
	for _, r := range rows {
		byAction[string(r.action)+" "+string(r.outcome)]++
	}
	fmt.Fprintf(out, "audit rows written during the soak, by action and outcome: %s\n\n", countsText(byAction))
	if noAnswer > 0 {
		fmt.Fprintf(out, "%d audited requests got no answer within %s (not checked: whether the console acted is not known to the client)\n\n", noAnswer, e.cfg.timeout)
	}
	for i, l := range lost {
		if i == 20 {
			fmt.Fprintf(out, "- … and %d more\n", len(lost)-20)
			break
		}
		fmt.Fprintf(out, "- %s\n", l)
	}
	if len(lost) > 0 {
		fmt.Fprintln(out)
	}
	checks.check(len(lost) == 0, "no lost audit row: every answered view, search, edit and password reset has its row(s) (%d mismatches)", len(lost))
	checks.check(pending == 0, "every write intent has its outcome row (%d left pending a minute after the load)", pending)
	rep, err := audit.NewStore(e.pool).Verify(ctx)
	switch {
	case err != nil:
		checks.check(false, "audit chain verifies: %v", err)
	default:
		checks.check(rep.Intact(), "audit chain verifies: %s", rep)
	}
}

// auditMismatch says what is wrong with the rows of one answered request, "" when nothing.
func auditMismatch(r soakRecord, got []auditRow, outcomeOf map[int64]auditRow) string {
	for _, g := range got {
		if g.action != r.auditedAs {
			return fmt.Sprintf("row %d is %s, want %s", g.seq, g.action, r.auditedAs)
		}
	}
	ok := r.status >= 200 && r.status < 300
	switch r.auditedAs {
	case audit.ActionCustomerSearch:
		if len(got) != 1 {
			return fmt.Sprintf("%d rows, want 1", len(got))
		}
		if ok && got[0].outcome != audit.OutcomeSucceeded {
			return fmt.Sprintf("answered %d but recorded %s", r.status, got[0].outcome)
		}
		return ""
	}
	// A write or a view (recorded while the customer is read): an intent and its outcome,
	// or one failed row when the customer could not even be read.
	switch len(got) {
	case 1:
		if ok || got[0].outcome != audit.OutcomeFailed || got[0].intentSeq != 0 {
			return fmt.Sprintf("one row (%s), want an intent and its outcome", got[0].outcome)
		}
		return ""
	case 2:
		intent, outcome := got[0], got[1]
		if intent.outcome != audit.OutcomePending || outcome.intentSeq != intent.seq {
			return fmt.Sprintf("rows %d (%s) and %d (%s) are not an intent and its outcome", intent.seq, intent.outcome, outcome.seq, outcome.outcome)
		}
		if ok != (outcome.outcome == audit.OutcomeSucceeded) {
			return fmt.Sprintf("answered %d but recorded %s", r.status, outcome.outcome)
		}
		return ""
	}
	return fmt.Sprintf("%d rows, want an intent and its outcome", len(got))
}

// checkWrites compares the writes Synerise executed with the audit log: never more than
// the intents (a write sent twice would be), never fewer than the succeeded outcomes.
func (e *env) checkWrites(out io.Writer, total simCounts, rows []auditRow, checks *soakChecks) {
	fmt.Fprintln(out, "### writes: executed by Synerise against the audit log")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| route | requests | executed | intents | outcomes (succeeded / failed / unknown) |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---|")
	for _, w := range []struct {
		route  string
		action audit.Action
	}{{simulator.RouteProfileUpdate, audit.ActionCustomerUpdate}, {simulator.RoutePasswordReset, audit.ActionCustomerPasswordReset}} {
		intents, outcomes := 0, map[audit.Outcome]int{}
		for _, r := range rows {
			if r.action != w.action {
				continue
			}
			if r.outcome == audit.OutcomePending {
				intents++
			} else if r.intentSeq != 0 {
				outcomes[r.outcome]++
			}
		}
		executed := total.Executed[w.route]
		fmt.Fprintf(out, "| %s | %d | %d | %d | %d / %d / %d |\n", w.route, total.Requests[w.route], executed, intents,
			outcomes[audit.OutcomeSucceeded], outcomes[audit.OutcomeFailed], outcomes[audit.OutcomeUnknown])
		checks.check(executed <= intents && executed >= outcomes[audit.OutcomeSucceeded],
			"no %s sent twice: %d succeeded ≤ %d executed ≤ %d intents", w.route, outcomes[audit.OutcomeSucceeded], executed, intents)
	}
	fmt.Fprintln(out)
}

// checkWords counts the error answers by title and finds any without words.
func (e *env) checkWords(out io.Writer, recs []soakRecord, checks *soakChecks) {
	titles := map[string]int{}
	var bad []string
	errorsSeen := 0
	for _, r := range recs {
		if r.status < 400 {
			continue
		}
		errorsSeen++
		key := fmt.Sprintf("%d %s", r.status, r.title)
		titles[key]++
		if r.title == "" || r.raw != "" {
			bad = append(bad, fmt.Sprintf("%s %s answered %d: title %q, raw text %q", r.action, r.reqID, r.status, r.title, r.raw))
		}
	}
	fmt.Fprintln(out, "### error answers by status and title")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| status and title | answers |")
	fmt.Fprintln(out, "|---|---:|")
	keys := slices.Collect(maps.Keys(titles))
	sort.Slice(keys, func(i, j int) bool {
		return titles[keys[i]] > titles[keys[j]] || titles[keys[i]] == titles[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(out, "| %s | %d |\n", k, titles[k])
	}
	fmt.Fprintln(out)
	for i, b := range bad {
		if i == 20 {
			fmt.Fprintf(out, "- … and %d more\n", len(bad)-20)
			break
		}
		fmt.Fprintf(out, "- %s\n", b)
	}
	if len(bad) > 0 {
		fmt.Fprintln(out)
	}
	checks.check(len(bad) == 0, "every error answer is in words: %d error answers, %d without a known title or with raw error text", errorsSeen, len(bad))
}
