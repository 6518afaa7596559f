package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

// IdentityPolicy is how operators must prove who they are.
type IdentityPolicy struct {
	// MFARequired is "all", "admin" or "none": which password operators must have a
	// second factor. SSO operators rely on their provider's.
	MFARequired string
	// StepUpWindow is how recent a second factor must be for a risky action; 0 means 5m.
	StepUpWindow time.Duration
	// LocalSignInOff allows password sign-in to break-glass operators only.
	LocalSignInOff bool
	// PublicURL is the console's external origin (passkeys' relying party, OIDC redirect).
	PublicURL string
}

// The ways an operator signs in, as session.MethodKey and the sign-in event record them.
const (
	methodPassword = "password"
	methodSSO      = "sso"
	methodPasskey  = "passkey"
)

// securityPath is the operator's own sign-in security page: second factors and passkeys.
// An operator who must enrol a second factor is kept under it.
const securityPath = "/account/security"

// pendingFor is how long a right password waits for its second factor.
const pendingFor = 5 * time.Minute

// authMethod is how an operator proved who they are at sign-in.
type authMethod struct {
	// Kind is methodPassword, methodSSO or methodPasskey.
	Kind string
	// Factor names a second factor proved at sign-in ("totp", "recovery_code",
	// "passkey"), empty when none was.
	Factor string
	// AMR and AuthTime come from the provider's ID token (single sign-on).
	AMR      []string
	AuthTime time.Time
	// Groups are the provider groups read at sign-in (single sign-on).
	Groups []string
}

// mfaRequired reports whether policy makes op, signing in with a password, have a second
// factor.
func (h *Handler) mfaRequired(op operators.Operator) bool {
	switch h.Identity.MFARequired {
	case "all":
		return true
	case "admin":
		return op.Role == operators.RoleAdmin
	}
	return false
}

// passwordSignedIn continues a sign-in whose password was right: an operator with a
// second factor is asked for it first (the session stays anonymous until then); anyone
// else is signed in.
func (h *Handler) passwordSignedIn(c echo.Context, op operators.Operator, next string) error {
	has, err := h.hasSecondFactor(c.Request().Context(), op.ID)
	if err != nil {
		return err
	}
	if !has {
		return h.completeSignIn(c, op, authMethod{Kind: methodPassword}, next)
	}
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	sess.Values[session.PendingKey] = op.ID
	sess.Values[session.PendingAtKey] = h.Now().Unix()
	sess.Values[session.PendingNextKey] = next
	if err := h.Sessions.Renew(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, secondFactorPath)
}

// pendingOperator is the operator whose password was right and whose second factor this
// session waits for, and the page to go to afterwards; ok is false when there is none or
// it waited too long.
func (h *Handler) pendingOperator(c echo.Context) (op operators.Operator, next string, ok bool, err error) {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return op, "", false, err
	}
	id, found := session.Int64(sess.Values, session.PendingKey)
	at := session.Time(sess.Values, session.PendingAtKey)
	if !found || h.Now().Sub(at) > pendingFor {
		return op, "", false, nil
	}
	op, err = h.Operators.ByID(c.Request().Context(), id)
	if err != nil || op.Disabled {
		return operators.Operator{}, "", false, nil
	}
	next, _ = sess.Values[session.PendingNextKey].(string)
	return op, safeNext(next), true, nil
}

// completeSignIn signs op in by m and sends them on: to the forced password change, then
// to second-factor enrolment where policy requires one, then to next.
func (h *Handler) completeSignIn(c echo.Context, op operators.Operator, m authMethod, next string) error {
	// A password alone reaches here only for an operator without a second factor
	// (passwordSignedIn asked for theirs otherwise): policy may require them to enrol one.
	enrol := m.Kind == methodPassword && m.Factor == "" && h.mfaRequired(op)
	if err := h.startSession(c, op, m, enrol, h.Now()); err != nil {
		return err
	}
	switch {
	case op.MustChangePassword:
		return c.Redirect(http.StatusSeeOther, passwordPath)
	case enrol:
		return c.Redirect(http.StatusSeeOther, securityPath+"?enrol=1")
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// signInDetail is the sign-in event's Detail: the method, the factor, and what the
// provider said of the authentication; never a secret.
func signInDetail(op operators.Operator, m authMethod, enrol bool) []byte {
	d := map[string]any{"method": m.Kind}
	if m.Factor != "" {
		d["factor"] = m.Factor
	}
	if len(m.AMR) > 0 {
		d["amr"] = m.AMR
	}
	if !m.AuthTime.IsZero() {
		d["auth_time"] = m.AuthTime.UTC().Format(time.RFC3339)
	}
	if len(m.Groups) > 0 {
		d["groups"] = m.Groups
	}
	if op.MustChangePassword {
		d["must_change_password"] = true
	}
	if enrol {
		d["mfa_enrolment_required"] = true
	}
	return audit.DetailJSON(d)
}

// factorProved records in the session that the operator has just proved a second factor
// (enrolment, a step-up): it counts for the step-up window and ends a required enrolment.
func (h *Handler) factorProved(c echo.Context) error {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	sess.Values[session.FactorAtKey] = h.Now().Unix()
	delete(sess.Values, session.EnrolKey)
	return h.Sessions.Save(c.Request(), c.Response(), sess)
}

// factorAt is when the signed-in operator last proved a second factor; zero when never
// in this session.
func (h *Handler) factorAt(c echo.Context) time.Time {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return time.Time{}
	}
	return session.Time(sess.Values, session.FactorAtKey)
}

// stepUpWindow is how recent a second factor must be for a risky action.
func (h *Handler) stepUpWindow() time.Duration {
	if h.Identity.StepUpWindow > 0 {
		return h.Identity.StepUpWindow
	}
	return 5 * time.Minute
}

// requireEnrolment keeps an operator who must enrol a second factor on the security
// page: pages redirect there, any other request is refused, audited, and sent there too.
func (h *Handler) requireEnrolment(r Route) echo.MiddlewareFunc {
	exempt := r.Public || r.Path == passwordPath || r.Path == "/logout" || strings.HasPrefix(r.Path, "/account/")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if exempt || currentOperator(c) == nil {
				return next(c)
			}
			if !h.enrolmentRequired(c) {
				return next(c)
			}
			if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
				h.recordDenied(c, r, "second factor enrolment required")
			}
			if isHTMX(c) {
				c.Response().Header().Set("HX-Redirect", securityPath+"?enrol=1")
				return c.NoContent(http.StatusForbidden)
			}
			return c.Redirect(http.StatusSeeOther, securityPath+"?enrol=1")
		}
	}
}

// hasSecondFactor reports whether the operator has a confirmed TOTP or a passkey.
func (h *Handler) hasSecondFactor(ctx context.Context, operatorID int64) (bool, error) {
	if h.TOTP == nil && h.Passkeys == nil {
		return false, nil
	}
	if h.TOTP != nil {
		ok, err := h.TOTP.Enrolled(ctx, operatorID)
		if err != nil || ok {
			return ok, err
		}
	}
	if h.Passkeys != nil {
		n, err := h.Passkeys.Count(ctx, operatorID)
		return n > 0, err
	}
	return false, nil
}

// sessionMethod is how the signed-in operator signed in ("" when nobody is).
func (h *Handler) sessionMethod(c echo.Context) string {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil || currentOperator(c) == nil {
		return ""
	}
	m, _ := sess.Values[session.MethodKey].(string)
	return m
}

// enrolmentRequired reports whether this session must enrol a second factor first.
func (h *Handler) enrolmentRequired(c echo.Context) bool {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return false
	}
	required, _ := sess.Values[session.EnrolKey].(bool)
	return required
}
