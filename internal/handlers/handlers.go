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
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/session"
)

// operatorStore is what the handlers need of the operators package.
type operatorStore interface {
	Create(ctx context.Context, email, name string, role operators.Role, passwordHash string) (operators.Operator, error)
	ByEmail(ctx context.Context, email string) (operators.Operator, error)
	ByID(ctx context.Context, id int64) (operators.Operator, error)
	List(ctx context.Context) ([]operators.Operator, error)
	SetDisabled(ctx context.Context, id int64, disabled bool) (operators.Operator, error)
	SetRole(ctx context.Context, id int64, role operators.Role) (operators.Operator, error)
	RecordFailure(ctx context.Context, id int64, now time.Time) (bool, error)
	RecordSuccess(ctx context.Context, id int64, now time.Time) error
}

// auditLog is what the handlers need of the audit package.
type auditLog interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
	Intent(ctx context.Context, e audit.Event) (audit.Event, error)
	Outcome(ctx context.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) (audit.Event, error)
}

// Deps are the parts the web layer is built from.
type Deps struct {
	Operators      operatorStore
	Sessions       *session.Store
	Audit          auditLog
	Pool           *pgxpool.Pool
	Logger         *slog.Logger
	Sandbox        bool
	SecureCookies  bool
	TrustedProxies []netip.Prefix
	// SignInRate is how many sign-in attempts one client IP may make per minute.
	SignInRate int
	Now        func() time.Time
}

// Handler serves the console.
type Handler struct {
	Deps
	passwords *password.Policy
	limiter   *ipLimiter
	dummyHash string
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
	// Checking a password against this hash when the e-mail is unknown makes an unknown
	// e-mail cost as much time as a wrong password.
	dummy, _ := password.Hash("not-a-real-password-for-timing")
	return &Handler{
		Deps:      d,
		passwords: password.NewPolicy(),
		limiter:   newIPLimiter(d.SignInRate, d.Now),
		dummyHash: dummy,
	}
}
