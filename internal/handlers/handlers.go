// Package handlers is the console's web layer: the route table with the roles each
// route needs, the middleware, the one error funnel, and one file per screen area.
package handlers

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// operatorStore is what the handlers need of the operators package.
type operatorStore interface {
	CreateWithOneTimePassword(ctx context.Context, email, name string, role operators.Role, passwordHash string) (operators.Operator, error)
	ByEmail(ctx context.Context, email string) (operators.Operator, error)
	ByID(ctx context.Context, id int64) (operators.Operator, error)
	List(ctx context.Context) ([]operators.Operator, error)
	SetDisabled(ctx context.Context, id int64, disabled bool) (operators.Operator, error)
	SetRole(ctx context.Context, id int64, role operators.Role) (operators.Operator, error)
	ReserveSignIn(ctx context.Context, id int64, now time.Time) (attempt int, ok bool, err error)
	RecordSuccess(ctx context.Context, id int64, now time.Time) error
	ResetPassword(ctx context.Context, id int64, passwordHash string) (operators.Operator, error)
	ChangePassword(ctx context.Context, id int64, passwordHash string, now time.Time) (operators.Operator, error)
}

// auditLog is what the handlers need of the audit package.
type auditLog interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
	Intent(ctx context.Context, e audit.Event) (audit.Event, error)
	Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error)
}

// profileAPI is what the handlers need of Synerise's profiles.
type profileAPI interface {
	Get(ctx context.Context, clientID int64) (*synerise.Profile, error)
	GetByEmail(ctx context.Context, email string) (*synerise.Profile, error)
	GetByCustomID(ctx context.Context, customID string) (*synerise.Profile, error)
	GetByUUID(ctx context.Context, uuid string) (*synerise.Profile, error)
	List(ctx context.Context, opts synerise.ListOptions) ([]synerise.Profile, error)
	Update(ctx context.Context, clientID int64, u synerise.ProfileUpdate) error
}

// accountAPI is what the handlers need of Synerise's RaaS account actions.
type accountAPI interface {
	RequestPasswordReset(ctx context.Context, email string) error
	ResendActivationEmail(ctx context.Context, email string) error
	RequestActivationPIN(ctx context.Context, req synerise.PINRequest) error
}

// settingsAPI is what the handlers need of Synerise's RaaS general settings.
type settingsAPI interface {
	Get(ctx context.Context) (*synerise.Settings, error)
	Set(ctx context.Context, s *synerise.Settings) (*synerise.Settings, error)
}

// sandboxOutbox is what the simulator would have e-mailed; only in sandbox mode.
type sandboxOutbox interface {
	Outbox() []simulator.Message
}

// Deps are the parts the web layer is built from.
type Deps struct {
	Operators operatorStore
	Sessions  *session.Store
	Audit     auditLog
	Pool      *pgxpool.Pool
	Profiles  profileAPI
	Accounts  accountAPI
	Settings  settingsAPI
	// Outbox is set in sandbox mode only.
	Outbox         sandboxOutbox
	Logger         *slog.Logger
	Sandbox        bool
	SecureCookies  bool
	TrustedProxies []netip.Prefix
	// Metrics receives request timings; nil means none are kept.
	Metrics *metrics.Metrics
	// MetricsToken unlocks /metrics on this listener; empty means /metrics is not served here.
	MetricsToken string
	// BreakerState reports the Synerise circuit breaker for /readyz.
	BreakerState func() string
	// Signer signs audit checkpoints; nil means checkpoints are off.
	Signer *audit.Signer
	// SignInRate is how many sign-in attempts one client IP may make per minute.
	SignInRate int
	// MaxInFlight bounds the requests handled at once; 0 means no bound. A request beyond
	// it waits up to QueueWait (default 2 s) for a slot, then gets 503 with Retry-After.
	MaxInFlight int
	QueueWait   time.Duration
	Now         func() time.Time
}

// Handler serves the console.
type Handler struct {
	Deps
	passwords *password.Policy
	limiter   *ipLimiter
	dummyHash string
	forms     formNonces
	admission *admission
	regCache  registrationCache
	// routeIndex is Routes by "METHOD /path", built once: pages consult it for the nav.
	routeIndex map[string]Route
}

// New builds the web layer.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SignInRate == 0 {
		d.SignInRate = 10
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.QueueWait == 0 {
		d.QueueWait = 2 * time.Second
	}
	// Checking a password against this hash when the e-mail is unknown makes an unknown
	// e-mail cost as much time as a wrong password.
	dummy, _ := password.Hash("not-a-real-password-for-timing")
	h := &Handler{
		Deps:      d,
		passwords: password.NewPolicy(),
		limiter:   newIPLimiter(d.Pool, d.SignInRate, d.Now),
		dummyHash: dummy,
		forms:     formNonces{pool: d.Pool},
		admission: newAdmission(d.MaxInFlight, d.QueueWait),
	}
	h.routeIndex = map[string]Route{}
	for _, r := range h.Routes() {
		h.routeIndex[r.Method+" "+r.Path] = r
	}
	return h
}
