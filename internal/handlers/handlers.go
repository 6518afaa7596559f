// Package handlers is the console's web layer: the route table with the roles each
// route needs, the middleware, the one error funnel, and one file per screen area.
package handlers

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/drafts"
	"github.com/raas-console/console/internal/metrics"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/synerise"
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
	ssoOperatorStore
}

// auditWriter is what every audited screen needs of the audit log: events, and intents
// with their outcomes.
type auditWriter interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
	Intent(ctx context.Context, e audit.Event) (audit.Event, error)
	Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error)
	OutcomeLater(intent audit.Event, o audit.Outcome, change func(*audit.Event), done func(audit.Event, error)) error
}

// auditReader is what the auditor workspace reads from the audit log.
type auditReader interface {
	Search(ctx context.Context, f audit.Filter, cur audit.Cursor, limit int) (audit.Results, error)
	Get(ctx context.Context, seq int64) (audit.Event, error)
	Outcomes(ctx context.Context, intentSeq int64) ([]audit.Event, error)
	Head(ctx context.Context) (int64, []byte, error)
	Export(ctx context.Context, f audit.Filter, through int64, format audit.Format, w io.Writer) (int64, error)
	Verify(ctx context.Context) (audit.VerifyReport, error)
	Checkpoint(ctx context.Context, signer *audit.Signer) (audit.Checkpoint, error)
	Checkpoints(ctx context.Context, limit int) ([]audit.Checkpoint, error)
	GetCheckpoint(ctx context.Context, id int64) (audit.Checkpoint, error)
	VerifyCheckpoint(ctx context.Context, c audit.Checkpoint, want ed25519.PublicKey) error
	// RewriteRisks names what lets the console's own database role rewrite the log (the
	// one-role setup), for the integrity page's warning.
	RewriteRisks(ctx context.Context) ([]string, error)
}

// settingsHistoryReader is what the settings history reads from the audit log.
type settingsHistoryReader interface {
	Search(ctx context.Context, f audit.Filter, cur audit.Cursor, limit int) (audit.Results, error)
	Get(ctx context.Context, seq int64) (audit.Event, error)
}

// customerTimeline is what the customer page reads from the audit log.
type customerTimeline interface {
	Timeline(ctx context.Context, targetType, targetID string, limit int) ([]audit.TimelineEntry, error)
}

// auditLog is everything the screens need of the audit log; *audit.Store is one.
type auditLog interface {
	auditWriter
	auditReader
	settingsHistoryReader
	customerTimeline
}

// formClaims remembers which one-time form tokens were claimed, across every replica.
type formClaims interface {
	Claim(ctx context.Context, key string, now time.Time) (bool, error)
	Release(ctx context.Context, key string) error
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// signInAttempts counts sign-in attempts per client IP in fixed windows, across every
// replica.
type signInAttempts interface {
	Count(ctx context.Context, ip string, window time.Time) (int, error)
	Prune(ctx context.Context, before time.Time) error
}

// locker runs a function holding a lock shared by every replica; its error wraps
// database.ErrLockBusy when the lock stayed taken.
type locker interface {
	Do(ctx context.Context, fn func() error) error
}

// pinger tells whether the database answers, for /readyz.
type pinger interface {
	Ping(ctx context.Context) error
}

// profileAPI is what the handlers need of Synerise's profiles.
type profileAPI interface {
	Get(ctx context.Context, clientID int64) (*synerise.Profile, error)
	GetByEmail(ctx context.Context, email string) (*synerise.Profile, error)
	GetByCustomID(ctx context.Context, customID string) (*synerise.Profile, error)
	GetByUUID(ctx context.Context, uuid string) (*synerise.Profile, error)
	List(ctx context.Context, opts synerise.ListOptions) ([]synerise.Profile, error)
	Update(ctx context.Context, clientID int64, u synerise.ProfileUpdate) error
	customerGDPR
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

// SandboxMessage is one message the sandbox would have sent to a customer.
type SandboxMessage struct {
	// Kind is "password_reset", "activation" or "pin".
	Kind     string
	Email    string
	ClientID int64
	Secret   string
	Link     string
	DeviceID string
	Time     time.Time
}

// sandboxOutbox is what the simulator would have e-mailed, oldest first; only in sandbox mode.
type sandboxOutbox interface {
	Outbox() []SandboxMessage
}

// Deps are the parts the web layer is built from.
type Deps struct {
	Operators operatorStore
	Sessions  *session.Store
	Audit     auditLog
	// Database is pinged by /readyz.
	Database pinger
	// Forms holds the claims of one-time form tokens.
	Forms formClaims
	// SignIns counts sign-in attempts per client IP.
	SignIns signInAttempts
	// SettingsLock serialises settings writes across replicas.
	SettingsLock locker
	Profiles     profileAPI
	Accounts     accountAPI
	Settings     settingsAPI
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

	// Identity is how operators must prove who they are.
	Identity IdentityPolicy
	// SSO is the OpenID provider; nil when single sign-on is off.
	SSO ssoProvider
	// TOTP keeps operators' authenticator-app secrets and recovery codes.
	TOTP totpFactors
	// Passkeys keeps operators' passkeys and runs the WebAuthn ceremonies.
	Passkeys passkeyService
	// SessionList lists and ends an operator's sessions.
	SessionList sessionList
	// AuditStream reports the audit log's stream to the SIEM; nil when none is configured.
	AuditStream auditStreamStatus
	// Approvals keeps four-eyes change requests; nil means no change needs approval.
	Approvals approvalStore
	// ApprovalPolicy says which changes need approval and how long a request waits.
	ApprovalPolicy approvals.Policy
	// Drafts keeps what operators typed into forms; nil means forms keep no drafts.
	Drafts draftStore
	// DraftLifetime is how long a draft is kept after its last autosave (default 1 h): a
	// session ends at most one idle timeout after that autosave, and the operator has
	// another to sign in again and find the draft.
	DraftLifetime time.Duration
}

// Handler serves the console.
type Handler struct {
	Deps
	passwords *password.Policy
	limiter   *ipLimiter
	dummyHash string
	admission *admission
	regCache  registrationCache
	// routeIndex is Routes by "METHOD /path", built once: pages consult it for the nav.
	routeIndex map[string]Route
	// drafts are the forms that keep drafts (draftForms), built once.
	drafts map[string]drafts.Form
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
	if d.DraftLifetime == 0 {
		d.DraftLifetime = time.Hour
	}
	// Checking a password against this hash when the e-mail is unknown makes an unknown
	// e-mail cost as much time as a wrong password.
	dummy, _ := password.Hash("not-a-real-password-for-timing")
	h := &Handler{
		Deps:      d,
		passwords: password.NewPolicy(),
		limiter:   newIPLimiter(d.SignIns, d.SignInRate, d.Now),
		dummyHash: dummy,
		admission: newAdmission(d.MaxInFlight, d.QueueWait),
		drafts:    draftForms(),
	}
	h.routeIndex = map[string]Route{}
	for _, r := range h.Routes() {
		h.routeIndex[r.Method+" "+r.Path] = r
	}
	return h
}
