// Package server wires the console together and runs it: the database (its own private
// cluster when none is configured), migrations, the first admin, the Synerise client or
// the built-in simulator, the web layer and the background jobs.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/drafts"
	"github.com/raas-console/console/internal/forms"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// Options are what Run needs besides the configuration.
type Options struct {
	// Terminal receives what is shown to the person starting the console once: the
	// first admin's password and the sandbox key. It is not the log.
	Terminal io.Writer
	Logger   *slog.Logger
	// Ready, when set, is called with the listen address once the console serves.
	Ready func(addr string)
	// Simulator, when set, is the simulator a sandbox console talks to (tests use it to
	// look at the outbox); otherwise a sandbox console starts its own.
	Simulator *simulator.Simulator
}

// Run serves the console until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	if opts.Terminal == nil {
		opts.Terminal = io.Discard
	}
	if cfg.SessionSecret == nil {
		secret, err := LocalSecret(cfg.DataDir, "session-secret")
		if err != nil {
			return err
		}
		cfg.SessionSecret = secret
	}
	pool, closeDB, err := Database(ctx, &cfg, opts.Logger)
	if err != nil {
		return err
	}
	defer closeDB()
	c, err := assemble(ctx, cfg, opts, pool)
	if err != nil {
		return err
	}
	defer c.close()
	return serve(ctx, cfg, opts, c)
}

// console is the console wired together, before it serves.
type console struct {
	handler  *handlers.Handler
	auditLog *metrics.AuditLog
	sessions *session.Store
	signer   *audit.Signer
	// closers release what assemble started, in the reverse order.
	closers []func()
}

func (c *console) close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// assemble builds the web layer on pool, with the first admin of a local database, the
// Synerise client (or the sandbox simulator), metrics and the checkpoint signer.
func assemble(ctx context.Context, cfg config.Config, opts Options, pool *pgxpool.Pool) (_ *console, err error) {
	logger := opts.Logger
	ops := operators.NewStore(pool)
	meter := metrics.New()
	c := &console{auditLog: meter.WrapAudit(audit.NewStore(pool))}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if err := ensureFirstAdmin(ctx, cfg, ops, c.auditLog, opts.Terminal, logger); err != nil {
		return nil, err
	}
	api, sim, closeAPI, err := connectSynerise(cfg, opts.Simulator, meter, opts.Terminal, logger)
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, closeAPI)
	c.sessions = session.NewStore(pool, session.Options{
		Secret: cfg.SessionSecret, Secure: cfg.SecureCookies,
		IdleTimeout: cfg.SessionIdleTimeout, MaxLifetime: cfg.SessionMaxLifetime,
	})
	c.closers = append(c.closers, listenSessions(c.sessions, logger))
	meter.RegisterGauges(metrics.Gauges{
		BreakerState: api.BreakerState, PendingIntents: c.auditLog.PendingIntents, ActiveSessions: c.sessions.Active,
	})
	if c.signer, err = loadSigner(cfg, logger); err != nil {
		return nil, err
	}
	deps := handlers.Deps{
		Signer:  c.signer,
		Metrics: meter, BreakerState: api.BreakerState,
		Operators: ops, Sessions: c.sessions, Audit: c.auditLog, Logger: logger,
		Profiles: api.Profiles, Accounts: api.Accounts, Settings: api.Settings,
		Sandbox: cfg.Sandbox(), SecureCookies: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies,
		MaxInFlight: cfg.MaxInFlight,
	}
	StoreDeps(&deps, pool)
	c.closers = append(c.closers, approvalDeps(&deps, pool, logger))
	deps.ApprovalPolicy = cfg.Approvals
	deps.DraftLifetime = 2 * cfg.SessionIdleTimeout
	if err := identityDeps(ctx, cfg, pool, &deps, logger); err != nil {
		return nil, err
	}
	if err := c.streamAudit(ctx, cfg, pool, meter, logger, &deps); err != nil {
		return nil, err
	}
	if sim != nil {
		deps.Outbox = SandboxOutbox(sim)
	}
	if err := c.metricsDeps(cfg, meter, logger, &deps); err != nil {
		return nil, err
	}
	c.handler = handlers.New(deps)
	return c, nil
}

// metricsDeps serves /metrics on its own listener when one is configured, or lets the web
// console serve it behind its token.
func (c *console) metricsDeps(cfg config.Config, meter *metrics.Metrics, logger *slog.Logger, deps *handlers.Deps) error {
	if cfg.MetricsAddr == "" {
		deps.MetricsToken = cfg.MetricsToken
		return nil
	}
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, meter, logger)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, stopMetrics)
	return nil
}

// streamAudit starts the audit log's shipper to the configured sinks (every replica runs
// one; one ships at a time) and shows its status on the Integrity page when a sink is set.
func (c *console) streamAudit(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, meter *metrics.Metrics, logger *slog.Logger, d *handlers.Deps) error {
	stop, shipper, err := startAuditShipper(ctx, cfg.AuditSinks, pool, c.auditLog, meter.Registerer(), logger)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, stop)
	if cfg.AuditSinks.Enabled() {
		d.AuditStream = shipper
	}
	return nil
}

// StoreDeps gives the web layer what it keeps in the database on pool: the readiness
// ping, form token claims, sign-in attempts per IP, the settings lock, approval requests
// and form drafts.
func StoreDeps(d *handlers.Deps, pool *pgxpool.Pool) {
	d.Database = pool
	d.Forms = forms.NewClaims(pool)
	d.SignIns = operators.NewSignInAttempts(pool)
	d.SettingsLock = database.NewAdvisoryLock(pool, settings.LockKey, settings.LockWait)
	d.Approvals = approvals.NewStore(pool)
	d.Drafts = drafts.NewStore(pool)
}

// ensureFirstAdmin creates the first admin of a local database; elsewhere it only warns
// when there is no operator yet.
func ensureFirstAdmin(ctx context.Context, cfg config.Config, ops *operators.Store, auditLog *metrics.AuditLog, terminal io.Writer, logger *slog.Logger) error {
	if cfg.LocalDatabase() {
		return firstAdmin(ctx, ops, auditLog, terminal)
	}
	if n, err := ops.Count(ctx); err == nil && n == 0 {
		logger.Warn("no operators yet: create the first admin with `console operator add --role admin`")
	}
	return nil
}

// serve serves c until ctx ends, running the background jobs beside it, then shuts down
// gracefully.
func serve(ctx context.Context, cfg config.Config, opts Options, c *console) error {
	logger := opts.Logger
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	srv := httpServer(c.handler, logger)
	jobs, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	go runJobs(jobs, logger, c.auditLog, c.sessions, c.handler.PruneForms, c.handler.PruneSignIns, c.handler.PruneDrafts)
	go runApprovalExpiry(jobs, logger, c.handler.ExpireApprovals)
	if c.signer != nil {
		go runCheckpoints(jobs, logger, c.auditLog, c.signer)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	logger.Info("console serving", "addr", addr, "sandbox", cfg.Sandbox())
	fmt.Fprintf(opts.Terminal, "Console ready at %s/\n", readyURL(cfg, addr))
	if opts.Ready != nil {
		opts.Ready(addr)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopJobs()
	c.auditLog.Flush() // the outcomes queued by the last requests, before the pool closes
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	// In-flight requests have written their outcome rows; an intent still open belongs
	// to a crash or another replica and is closed by the periodic job, never here.
	logger.Info("stopped")
	return nil
}

// httpServer serves h with the console's timeouts and limits.
func httpServer(h *handlers.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h.Echo(),
		ReadHeaderTimeout: 5 * time.Second,
		// No ReadTimeout: the web layer reads every body under its own 5 s deadline before
		// a request takes a slot, and a ReadTimeout still running while a handler works
		// would end that request's context when it passes (a long audit export, say).
		MaxHeaderBytes: 64 << 10,
		WriteTimeout:   5 * time.Minute, // audit exports stream for a while
		IdleTimeout:    2 * time.Minute,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// loadSigner returns the audit checkpoint signer: the key file CONSOLE_AUDIT_SIGNING_KEY
// names, or one kept under the data directory when the console runs its own database.
// Without either, checkpoints are off (nil) and the console still runs.
func loadSigner(cfg config.Config, logger *slog.Logger) (*audit.Signer, error) {
	switch {
	case cfg.AuditSigningKey != "":
		return audit.LoadSigner(cfg.AuditSigningKey)
	case cfg.LocalDatabase():
		return audit.LoadOrGenerateSigner(filepath.Join(cfg.DataDir, audit.LocalKeyFile))
	default:
		logger.Warn("audit checkpoints are off: set CONSOLE_AUDIT_SIGNING_KEY to an Ed25519 key file to sign them")
		return nil, nil
	}
}

// runCheckpoints signs the audit chain head at start and then every checkpointEvery
// when it has moved; every replica may run it, a head already signed is skipped.
func runCheckpoints(ctx context.Context, logger *slog.Logger, auditLog *metrics.AuditLog, signer *audit.Signer) {
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		if cp, made, err := auditLog.CheckpointIfMoved(ctx, signer); err != nil && ctx.Err() == nil {
			logger.Error("audit checkpoint", "err", err)
		} else if made {
			logger.Info("audit checkpoint signed", "seq", cp.Seq)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runJobs closes intents left without an outcome, deletes ended sessions and forgets old
// form tokens, sign-in rate-limit windows and expired form drafts, until ctx ends.
func runJobs(ctx context.Context, logger *slog.Logger, auditLog *metrics.AuditLog, sessions *session.Store,
	pruneForms func(context.Context) (int64, error), pruneSignIns func(context.Context) error,
	pruneDrafts func(context.Context) (int64, error),
) {
	if n, err := auditLog.CloseStaleIntents(ctx, staleIntentAge); err != nil {
		logger.Error("close stale intents", "err", err)
	} else if n > 0 {
		logger.Warn("closed intents left without outcome as unknown", "count", n)
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := auditLog.CloseStaleIntents(ctx, staleIntentAge); err != nil && ctx.Err() == nil {
			logger.Error("close stale intents", "err", err)
		} else if n > 0 {
			logger.Warn("closed intents left without outcome as unknown", "count", n)
		}
		if _, err := sessions.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			logger.Error("delete expired sessions", "err", err)
		}
		if _, err := pruneForms(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune form tokens", "err", err)
		}
		if err := pruneSignIns(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune sign-in windows", "err", err)
		}
		if _, err := pruneDrafts(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune drafts", "err", err)
		}
	}
}

// FirstAdminEmail is the e-mail of the admin created on an empty local database.
const FirstAdminEmail = "admin@console.local"

// firstAdmin creates an admin with a generated password when there is no operator yet,
// and shows the password once on the terminal — never in the log.
func firstAdmin(ctx context.Context, ops *operators.Store, auditLog *metrics.AuditLog, terminal io.Writer) error {
	n, err := ops.Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, err := password.Generate()
	if err != nil {
		return err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	op, err := ops.CreateWithOneTimePassword(ctx, FirstAdminEmail, "First admin", operators.RoleAdmin, hash)
	if err != nil {
		return err
	}
	_, err = auditLog.Append(ctx, audit.Event{
		Actor: audit.Actor{Email: "console", Role: "system"}, Action: audit.ActionOperatorCreate,
		Target:  audit.Target{Type: "operator", ID: fmt.Sprint(op.ID), Label: op.Email},
		Outcome: audit.OutcomeSucceeded, Detail: audit.DetailJSON(map[string]string{"why": "first admin of a new local database"}),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(terminal, "\nFirst admin created. Its one-time password is shown only now (at sign-in it opens only\nthe form where the admin chooses their own):\n  e-mail:   %s\n  password: %s\n\n", FirstAdminEmail, pw)
	return nil
}

// staleIntentAge is how long an intent may wait for its outcome before it is closed as
// unknown: far longer than any Synerise call with its retries can take.
const staleIntentAge = 5 * time.Minute

// checkpointEvery is how often the console signs the audit chain head when it has moved.
const checkpointEvery = 15 * time.Minute

// serveMetrics serves /metrics alone on its own listener, for a scraper on a private network.
func serveMetrics(addr string, m *metrics.Metrics, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: metrics listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener", "err", err)
		}
	}()
	logger.Info("metrics serving", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// readyURL is where to open the console: its public URL when that is this listener
// (http://localhost:<port> by default, where passkeys work — browsers refuse them on an IP
// address), else the address it listens on.
func readyURL(cfg config.Config, addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(cfg.Identity.PublicURL, ":"+port) {
		return cfg.Identity.PublicURL
	}
	return "http://" + addr
}
