// Command loadgen measures the console under a realistic load: it starts the console as
// its own process (or uses one already running) against the built-in Synerise simulator
// with a configurable latency, signs in operators through the login form and replays a
// mix of searches, customer views, edits, password-reset e-mails and audit searches at a
// fixed arrival rate. It reports throughput and p50/p95/p99 latency per action, errors,
// the console's peak RSS, its start-up time, whether every successful view left exactly
// one audit row, and the console's overhead on a customer view against the same requests
// sent straight to the simulator in the same run.
//
//	go run ./cmd/loadgen -console bin/console -duration 20s
//
// The soak phase (-phases soak, see soak.go) is issue 14's fault soak instead: a mixed load
// while the simulator answers 503s, drops connections, has every token revoked once a
// minute and is restarted half-way; it checks the audit rows, the writes Synerise executed
// and the words of every error answer, and exits non-zero when a check fails.
//
// Without DATABASE_URL it starts a private PostgreSQL cluster under a temporary
// directory (fsync on, as `make run`); with it, it creates a fresh database on that
// server for the run and drops it afterwards (-keep-db keeps it).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

type config struct {
	consoleBin   string
	consoleURL   string
	consolePID   int
	simURL       string
	dbURL        string
	keepDB       bool
	throwaway    bool
	simLatency   time.Duration
	customers    int
	seed         int64
	operators    int
	duration     time.Duration
	warmup       time.Duration
	overheadRate float64
	mixRate      float64
	viewsRate    float64
	mix          string
	phases       string
	maxInFlight  int
	logLevel     string
	timeout      time.Duration
	simInProcess bool
	floor        bool
	soak         soakConfig
}

func main() {
	var cfg config
	flag.StringVar(&cfg.consoleBin, "console", "bin/console", "console binary to start (`make build`)")
	flag.StringVar(&cfg.consoleURL, "url", "", "use the console already serving here instead of starting one (needs DATABASE_URL of its database and -sim-url)")
	flag.IntVar(&cfg.consolePID, "pid", 0, "with -url: the console's process id, for its RSS")
	flag.StringVar(&cfg.simURL, "sim-url", "", "with -url: the simulator the console talks to (started with the same -seed and -customers)")
	flag.BoolVar(&cfg.keepDB, "keep-db", false, "keep the run's database afterwards")
	flag.BoolVar(&cfg.throwaway, "throwaway-db", false, "private cluster only: fsync and synchronous commit off (not what production runs)")
	flag.BoolVar(&cfg.simInProcess, "sim-in-process", false, "serve the simulator from the load generator's process instead of its own; the direct requests then skip the hop between processes that the console's calls pay")
	flag.DurationVar(&cfg.simLatency, "sim-latency", 0, "latency the simulator adds to every request")
	flag.IntVar(&cfg.customers, "customers", simulator.DefaultCustomers, "customers in the simulator")
	flag.Int64Var(&cfg.seed, "seed", 0, "simulator seed")
	flag.IntVar(&cfg.operators, "operators", 20, "support operators to sign in (plus one auditor)")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "length of each measured phase")
	flag.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "unmeasured warm-up before the phases")
	flag.Float64Var(&cfg.overheadRate, "overhead-rate", 300, "overhead phase: customer views per second, each sent both through the console and straight to the simulator")
	flag.Float64Var(&cfg.mixRate, "mix-rate", 200, "mix phase: requests per second")
	flag.Float64Var(&cfg.viewsRate, "views-rate", 2000, "views phase: audited customer views per second")
	flag.StringVar(&cfg.mix, "mix", "search=25,view=45,edit=10,resend=5,audit=15", "mix phase: weights of the actions")
	flag.StringVar(&cfg.phases, "phases", "overhead,mix,views", "phases to run, in order (also: soak, the fault soak of issue 14; see soak.go)")
	soakFlags(&cfg.soak)
	flag.IntVar(&cfg.maxInFlight, "max-in-flight", 4000, "arrivals beyond this many outstanding requests are dropped (and counted)")
	flag.StringVar(&cfg.logLevel, "log-level", "info", "the console's CONSOLE_LOG_LEVEL")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.BoolVar(&cfg.floor, "floor", false, "measure the views of the reference server instead of the console: the profile read and one durable row, nothing else (see floor.go)")
	floorServe := flag.String("floor-serve", "", "internal: serve the reference server on this address (the generator starts it so with -floor)")
	cpuProfile := flag.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatalf("loadgen: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatalf("loadgen: %v", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if *floorServe != "" {
		log.Fatalf("loadgen: reference server: %v", serveFloor(*floorServe))
	}
	cfg.dbURL = os.Getenv("DATABASE_URL")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatalf("loadgen: %v", err)
	}
}

// customer is one simulator customer the load picks from.
type customer struct {
	id         int64
	email      string
	resettable bool // registered, activated, with an e-mail: the password reset applies
}

// customersOf lists the simulator's customers: clientIds ascend from the first example's
// with gaps of at most 40.
func customersOf(sim *simulator.Simulator, n int) []customer {
	ex := sim.Examples()
	if len(ex) == 0 {
		return nil
	}
	var out []customer
	for id, last := ex[0].ClientID, ex[0].ClientID; len(out) < n && id-last <= 40; id++ {
		raw, ok := sim.Profile(id)
		if !ok {
			continue
		}
		last = id
		var p struct {
			Email string `json:"email"`
		}
		_ = json.Unmarshal(raw, &p)
		c := customer{id: id, email: p.Email}
		if a, ok := sim.Account(id); ok {
			c.resettable = a.Registered && a.Activated && !a.Anonymous && a.Email != ""
		}
		out = append(out, c)
	}
	return out
}

// env is everything the phases use.
type env struct {
	cfg        config
	base       string
	pid        int
	simPID     int // the simulator process, 0 when it runs in this one
	support    []*operator
	auditor    *operator
	sim        *simClient
	customers  []customer
	withEmail  []customer
	resettable []customer
	pool       *pgxpool.Pool
	dbName     string
	out        io.Writer
	sims       *simProcess // the simulator process, when this generator started it
	floor      bool        // the views go to the reference server (floor.go)
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	transport := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true}
	simTransport := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true}

	// The simulator: a process of its own (the console binary's `simulator` command), or
	// this process with -sim-in-process, unless the console under test is external. The
	// customers are listed from a simulator built here with the same seed.
	sim := simulator.New(simulator.Options{Seed: cfg.seed, Customers: cfg.customers, Latency: cfg.simLatency})
	simURL, simPID := cfg.simURL, 0
	var sims simProcess
	switch {
	case cfg.consoleURL != "":
		if simURL == "" || cfg.dbURL == "" {
			return fmt.Errorf("-url needs DATABASE_URL (the console's database) and -sim-url")
		}
	case cfg.simInProcess:
		srv, err := simulator.Serve(sim, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer srv.Close()
		simURL = srv.URL
	default:
		bin, err := filepath.Abs(cfg.consoleBin)
		if err != nil {
			return err
		}
		var extra []string
		if hasPhase(cfg.phases, "soak") {
			extra = cfg.soak.simulatorFlags()
		}
		logPath := filepath.Join(os.TempDir(), "loadgen-simulator.log")
		proc, err := startSimulator(ctx, bin, "", cfg.seed, cfg.customers, cfg.simLatency, logPath, extra...)
		if err != nil {
			return err
		}
		// The soak phase replaces the process when it restarts the simulator.
		sims.bin, sims.cur, sims.logPath, sims.extra = bin, proc, logPath, extra
		defer func() { sims.cur.stop() }()
		simURL, simPID = proc.url, proc.cmd.Process.Pid
	}
	if hasPhase(cfg.phases, "soak") && sims.cur == nil {
		return fmt.Errorf("the soak phase starts and restarts the simulator itself: it cannot run with -url or -sim-in-process")
	}

	e := &env{cfg: cfg, out: out, customers: customersOf(sim, cfg.customers), simPID: simPID, sims: &sims}
	for _, c := range e.customers {
		if c.email != "" {
			e.withEmail = append(e.withEmail, c)
		}
		if c.resettable {
			e.resettable = append(e.resettable, c)
		}
	}
	fmt.Fprintf(out, "# loadgen %s\n\n", time.Now().UTC().Format(time.RFC3339))
	where := "its own process"
	if simPID == 0 {
		where = "the load generator's process"
	}
	fmt.Fprintf(out, "machine: %d CPUs (%s), GOMAXPROCS %d; simulator in %s: %d customers (%d with e-mail, %d resettable), latency %s\n\n",
		runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0), where, len(e.customers), len(e.withEmail), len(e.resettable), cfg.simLatency)

	// The database and the console.
	dbURL := cfg.dbURL
	if cfg.consoleURL == "" {
		db, err := openDatabase(ctx, cfg.dbURL, tmp, cfg.throwaway, cfg.keepDB)
		if err != nil {
			return err
		}
		defer db.cleanup()
		dbURL = db.url
		bin, err := filepath.Abs(cfg.consoleBin)
		if err != nil {
			return err
		}
		logPath := filepath.Join(os.TempDir(), "loadgen-console.log")
		_ = os.Remove(logPath)
		// First start on the empty database applies every migration; the second finds the
		// schema current. The load runs against the second.
		first, cold, err := startConsole(ctx, bin, dbURL, simURL, tmp, cfg.logLevel, logPath)
		if err != nil {
			return err
		}
		first.stop()
		console, warm, err := startConsole(ctx, bin, dbURL, simURL, tmp, cfg.logLevel, logPath)
		if err != nil {
			return err
		}
		defer console.stop()
		e.base, e.pid = console.url, console.cmd.Process.Pid
		_, hwm := procMemory(e.pid)
		fmt.Fprintf(out, "console start-up until /readyz is 200: %s on an empty database (all migrations applied), %s with the schema current; RSS after start %.1f MB\n\n",
			cold.Round(time.Millisecond), warm.Round(time.Millisecond), hwm)
		fmt.Fprintf(out, "console log: %s\n\n", logPath)
	} else {
		e.base, e.pid = strings.TrimSuffix(cfg.consoleURL, "/"), cfg.consolePID
	}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	e.pool = pool
	e.dbName = pool.Config().ConnConfig.Database

	// Operators, created in the database and signed in through the form.
	store := operators.NewStore(pool)
	run := randomHex(3)
	supportEmails, err := createOperators(ctx, store, "support-"+run+"-", cfg.operators, operators.RoleSupport)
	if err != nil {
		return err
	}
	auditorEmails, err := createOperators(ctx, store, "auditor-"+run+"-", 1, operators.RoleAuditor)
	if err != nil {
		return err
	}
	for i, email := range supportEmails {
		op, err := signIn(ctx, e.base, transport, email, operators.RoleSupport, fmt.Sprintf("10.77.%d.%d", i/250, i%250+1))
		if err != nil {
			return err
		}
		e.support = append(e.support, op)
	}
	if e.auditor, err = signIn(ctx, e.base, transport, auditorEmails[0], operators.RoleAuditor, "10.78.0.1"); err != nil {
		return err
	}
	if e.sim, err = newSimClient(ctx, simURL, simulator.DefaultAPIKey, simTransport); err != nil {
		return err
	}
	fmt.Fprintf(out, "signed in %d support operators and 1 auditor\n\n", len(e.support))
	if cfg.floor {
		ref, err := startFloor(ctx, dbURL, simURL, filepath.Join(os.TempDir(), "loadgen-floor.log"))
		if err != nil {
			return err
		}
		defer ref.stop()
		for _, op := range e.support {
			op.base = ref.url
		}
		e.pid, e.floor = ref.cmd.Process.Pid, true
		fmt.Fprintf(out, "views go to the reference server (%s), not the console: the figures below marked console are the reference's\n\n", ref.url)
	}

	if cfg.warmup > 0 {
		rec := newRecorder()
		runAtRate(ctx, cfg.overheadRate, cfg.warmup, cfg.maxInFlight, func(int) { e.view(ctx, rec, "view") })
	}

	var results []phaseResult
	var soakErr error
	for _, phase := range strings.Split(cfg.phases, ",") {
		if ctx.Err() != nil {
			break
		}
		if strings.TrimSpace(phase) == "soak" {
			if err := e.soak(ctx); err != nil {
				soakErr = err
			}
			continue
		}
		r, err := e.runPhase(ctx, strings.TrimSpace(phase))
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	e.report(ctx, results)
	return soakErr
}

func hasPhase(phases, name string) bool {
	for _, p := range strings.Split(phases, ",") {
		if strings.TrimSpace(p) == name {
			return true
		}
	}
	return false
}

// phaseResult is one phase's measurements.
type phaseResult struct {
	name        string
	rate        float64
	elapsed     time.Duration
	dropped     int
	rec         *recorder
	peakRSS     float64
	auditRows   int64 // customer views recorded during the phase (one row each, or an intent each)
	viewsOK     int   // successful customer views through the console
	peakIsPhase bool  // peakRSS is this phase's own (clear_refs worked)
	// CPU used during the phase: the console process, the PostgreSQL backends of its
	// database, and this process (load generation and, unless external, the simulator).
	consoleCPU, pgCPU, selfCPU time.Duration
	machineCPU, stolenCPU      time.Duration // all CPUs, busy and stolen by the hypervisor
	requests                   int
}

func (e *env) viewRows(ctx context.Context) int64 {
	if e.floor {
		return e.floorRows(ctx)
	}
	var n int64
	// A view is one row, or an intent closed by an outcome row: the views are the rows that
	// are not outcomes.
	_ = e.pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE action = $1 AND intent_seq IS NULL",
		string(audit.ActionCustomerView)).Scan(&n)
	return n
}

func (e *env) runPhase(ctx context.Context, phase string) (phaseResult, error) {
	r := phaseResult{name: phase, rec: newRecorder()}
	var fire func(int)
	switch phase {
	case "overhead":
		r.rate = e.cfg.overheadRate
		fire = func(int) {
			c := e.pick(e.customers)
			done := make(chan struct{})
			go func() { e.direct(ctx, r.rec, c.id); close(done) }()
			e.viewOf(ctx, r.rec, "view via console", c.id)
			<-done
		}
	case "views":
		r.rate = e.cfg.viewsRate
		fire = func(int) { e.view(ctx, r.rec, "view") }
	case "mix":
		r.rate = e.cfg.mixRate
		pick, err := weights(e.cfg.mix)
		if err != nil {
			return r, err
		}
		fire = func(int) { e.mixed(ctx, r.rec, pick()) }
	default:
		return r, fmt.Errorf("unknown phase %q (want overhead, mix, views or soak)", phase)
	}
	r.peakIsPhase = e.pid > 0 && resetPeak(e.pid)
	before := e.viewRows(ctx)
	self := func() time.Duration {
		d := cpuTime(os.Getpid())
		if e.simPID > 0 {
			d += cpuTime(e.simPID)
		}
		return d
	}
	c0, p0, s0 := cpuTime(e.pid), backendsCPU(e.dbName), self()
	m0, st0 := machineCPU()
	r.elapsed, r.dropped = runAtRate(ctx, r.rate, e.cfg.duration, e.cfg.maxInFlight, fire)
	r.consoleCPU, r.pgCPU, r.selfCPU = cpuTime(e.pid)-c0, backendsCPU(e.dbName)-p0, self()-s0
	m1, st1 := machineCPU()
	r.machineCPU, r.stolenCPU = m1-m0, st1-st0
	r.auditRows = e.viewRows(ctx) - before
	for _, s := range r.rec.summaries(r.elapsed) {
		if s.Action == "view" || s.Action == "view via console" {
			r.viewsOK += s.OK
		}
		if s.Action != "view direct to simulator" {
			r.requests += s.OK + s.Errors
		}
	}
	if e.pid > 0 {
		_, r.peakRSS = procMemory(e.pid)
	}
	return r, nil
}

func (e *env) pick(from []customer) customer { return from[rand.IntN(len(from))] }

func (e *env) op() *operator { return e.support[rand.IntN(len(e.support))] }

// view is a customer page through the console, of a random customer.
func (e *env) view(ctx context.Context, rec *recorder, action string) {
	e.viewOf(ctx, rec, action, e.pick(e.customers).id)
}

func (e *env) viewOf(ctx context.Context, rec *recorder, action string, id int64) {
	e.expect(ctx, rec, action, e.op(), http.MethodGet, "/customers/"+strconv.FormatInt(id, 10), nil, false, http.StatusOK)
}

// direct is the profile read of a customer view, sent straight to the simulator.
func (e *env) direct(ctx context.Context, rec *recorder, id int64) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	start := time.Now()
	code, err := e.sim.getProfile(ctx, id)
	took := time.Since(start)
	switch {
	case err != nil:
		rec.fail("view direct to simulator", errKind(err))
	case code != http.StatusOK:
		rec.fail("view direct to simulator", strconv.Itoa(code))
	default:
		rec.ok("view direct to simulator", took)
	}
}

// expect sends one request and records it as ok when the status is want.
func (e *env) expect(ctx context.Context, rec *recorder, action string, op *operator, method, path string, form map[string][]string, htmx bool, want int) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	start := time.Now()
	code, body, err := op.do(ctx, method, path, form, htmx)
	took := time.Since(start)
	switch {
	case err != nil:
		rec.fail(action, errKind(err))
		return nil, false
	case code != want:
		rec.fail(action, strconv.Itoa(code))
		return body, false
	}
	rec.ok(action, took)
	return body, true
}

// mixed runs one action of the realistic mix.
func (e *env) mixed(ctx context.Context, rec *recorder, action string) {
	switch action {
	case "search":
		c := e.pick(e.withEmail)
		e.expect(ctx, rec, "search", e.op(), http.MethodPost, "/customers/search", map[string][]string{"q": {c.email}}, true, http.StatusOK)
	case "view":
		e.view(ctx, rec, "view")
	case "edit":
		c := e.pick(e.customers)
		op := e.op()
		path := "/customers/" + strconv.FormatInt(c.id, 10)
		page, ok := e.expect(ctx, rec, "edit (form)", op, http.MethodGet, path+"/edit", nil, false, http.StatusOK)
		if !ok {
			return
		}
		form := formValues(page, path)
		if form == nil {
			rec.fail("edit (save)", "no form")
			return
		}
		form.Set("city", "Loadgen "+randomHex(3))
		form.Set("reason", "LOADGEN-"+randomHex(2))
		e.expect(ctx, rec, "edit (save)", op, http.MethodPost, path, form, false, http.StatusOK)
	case "resend":
		c := e.pick(e.resettable)
		op := e.op()
		path := "/customers/" + strconv.FormatInt(c.id, 10) + "/password-reset"
		page, ok := e.expect(ctx, rec, "password reset (form)", op, http.MethodGet, path, nil, false, http.StatusOK)
		if !ok {
			return
		}
		form := formValues(page, path)
		if form == nil {
			rec.fail("password reset (send)", "no form")
			return
		}
		form.Set("reason", "LOADGEN-"+randomHex(2))
		e.expect(ctx, rec, "password reset (send)", op, http.MethodPost, path, form, false, http.StatusOK)
	case "audit":
		filters := []string{"", "action=customer.*", "actor=" + e.op().email, "target=" + strconv.FormatInt(e.pick(e.customers).id, 10),
			"outcome=failed", "q=LOADGEN", "action=customer.update&outcome=succeeded"}
		q := filters[rand.IntN(len(filters))]
		e.expect(ctx, rec, "audit search", e.auditor, http.MethodGet, "/audit?"+q, nil, false, http.StatusOK)
	}
}

// weights parses "a=3,b=1" into a picker returning a with probability 3/4.
func weights(spec string) (func() string, error) {
	var names []string
	var cum []int
	total := 0
	for _, part := range strings.Split(spec, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("-mix: want name=weight, got %q", part)
		}
		switch name {
		case "search", "view", "edit", "resend", "audit":
		default:
			return nil, fmt.Errorf("-mix: unknown action %q", name)
		}
		total += n
		names, cum = append(names, name), append(cum, total)
	}
	if total == 0 {
		return nil, fmt.Errorf("-mix: all weights are zero")
	}
	return func() string {
		x := rand.IntN(total)
		for i, c := range cum {
			if x < c {
				return names[i]
			}
		}
		return names[len(names)-1]
	}, nil
}

func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "deadline exceeded"), strings.Contains(err.Error(), "Timeout"):
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "EOF"):
		return "reset"
	}
	return "error"
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// report prints every phase's table, the overhead comparison, the audit check and the
// chain verification.
func (e *env) report(ctx context.Context, results []phaseResult) {
	out := e.out
	totalViews, totalRows := 0, int64(0)
	for _, r := range results {
		fmt.Fprintf(out, "## phase %s: %.0f arrivals/s for %s (took %s, %d dropped)\n\n", r.name, r.rate, e.cfg.duration, r.elapsed.Round(time.Millisecond), r.dropped)
		printTable(out, r.rec.summaries(r.elapsed))
		fmt.Fprintln(out)
		if r.peakRSS > 0 {
			which := "peak since start"
			if r.peakIsPhase {
				which = "peak during the phase"
			}
			fmt.Fprintf(out, "console RSS (%s, VmHWM): %.1f MB\n\n", which, r.peakRSS)
		}
		if r.requests > 0 && r.consoleCPU > 0 {
			per := func(d time.Duration) string {
				return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)/float64(r.requests))
			}
			fmt.Fprintf(out, "CPU per console request: console %s, PostgreSQL backends %s, load generator + simulator %s (console %.0f%% of a core)\n\n",
				per(r.consoleCPU), per(r.pgCPU), per(r.selfCPU), 100*r.consoleCPU.Seconds()/r.elapsed.Seconds())
			cores := func(d time.Duration) float64 { return d.Seconds() / r.elapsed.Seconds() }
			others := max(0, r.machineCPU-r.consoleCPU-r.pgCPU-r.selfCPU)
			fmt.Fprintf(out, "machine during the phase: %.2f of %d cores busy (%.2f of them by other processes: PostgreSQL's background writers, anything else running); %.2f cores stolen by the hypervisor for other machines\n\n",
				cores(r.machineCPU), runtime.NumCPU(), cores(others), cores(r.stolenCPU))
		}
		fmt.Fprintf(out, "audit: %d customer views recorded for %d successful views (lost: %d)\n\n", r.auditRows, r.viewsOK, max(0, int64(r.viewsOK)-r.auditRows))
		totalViews += r.viewsOK
		totalRows += r.auditRows
		if r.name == "overhead" {
			c := r.rec.summary("view via console", r.elapsed)
			d := r.rec.summary("view direct to simulator", r.elapsed)
			fmt.Fprintln(out, "console overhead on a customer view (same requests, same run):")
			fmt.Fprintln(out)
			fmt.Fprintln(out, "| | p50 ms | p95 ms | p99 ms |")
			fmt.Fprintln(out, "|---|---:|---:|---:|")
			fmt.Fprintf(out, "| through the console | %s | %s | %s |\n", ms(c.P50), ms(c.P95), ms(c.P99))
			fmt.Fprintf(out, "| straight to the simulator | %s | %s | %s |\n", ms(d.P50), ms(d.P95), ms(d.P99))
			fmt.Fprintf(out, "| **overhead** | **%s** | **%s** | **%s** |\n\n", ms(c.P50-d.P50), ms(c.P95-d.P95), ms(c.P99-d.P99))
		}
	}
	if totalViews > 0 {
		fmt.Fprintf(out, "audit over all phases: %d view rows for %d successful views\n", totalRows, totalViews)
	}
	rep, err := audit.NewStore(e.pool).Verify(ctx)
	if err != nil {
		fmt.Fprintf(out, "audit chain: verify failed: %v\n", err)
	} else {
		fmt.Fprintf(out, "audit chain: %s\n", rep)
	}
}
