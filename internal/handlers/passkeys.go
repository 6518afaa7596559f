package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/passkey"
	"github.com/raas-console/console/web/templates"
)

// passkeysPath is the operator's own passkeys page.
const passkeysPath = "/account/passkeys"

// passkeyService keeps operators' passkeys and runs the WebAuthn ceremonies.
type passkeyService interface {
	// Count is how many passkeys the operator has.
	Count(ctx context.Context, operatorID int64) (int, error)
	// AnyRegistered reports whether any operator has a passkey (the sign-in page then
	// offers passkey sign-in); false when it cannot tell.
	AnyRegistered(ctx context.Context) bool
	List(ctx context.Context, operatorID int64) ([]passkey.Passkey, error)
	Remove(ctx context.Context, operatorID, id int64) (passkey.Passkey, error)
	BeginRegistration(ctx context.Context, o passkey.Owner, name string) (*protocol.CredentialCreation, passkey.Ceremony, error)
	FinishRegistration(ctx context.Context, o passkey.Owner, c passkey.Ceremony, response []byte) (passkey.Passkey, error)
	BeginLogin(ctx context.Context, operatorID int64, purpose string) (*protocol.CredentialAssertion, passkey.Ceremony, error)
	FinishLogin(ctx context.Context, operatorID int64, c passkey.Ceremony, response []byte) (passkey.Passkey, error)
	BeginDiscoverableLogin() (*protocol.CredentialAssertion, passkey.Ceremony, error)
	FinishDiscoverableLogin(ctx context.Context, c passkey.Ceremony, response []byte) (int64, passkey.Passkey, error)
}

// passkeyRoutes register, list and remove passkeys, and sign in with one; none when
// passkeys are off.
func (h *Handler) passkeyRoutes() []Route {
	if h.Passkeys == nil {
		return nil
	}
	return []Route{
		{Method: http.MethodGet, Path: passkeysPath, Roles: anyone, handle: h.handlePasskeys},
		// Adding a passkey while holding a factor, or removing one, is what an attacker
		// holding a stolen session would do to stay in: both need a recent second factor
		// (an operator enrolling their first factor has none and is not asked).
		{Method: http.MethodPost, Path: passkeysPath, Roles: anyone, StepUp: true, handle: h.handlePasskeyAdd},
		{Method: http.MethodPost, Path: passkeysPath + "/options", Roles: anyone, handle: h.handlePasskeyAddOptions},
		{Method: http.MethodPost, Path: passkeysPath + "/:id/remove", Roles: anyone, StepUp: true, handle: h.handlePasskeyRemove},
		{Method: http.MethodPost, Path: passkeysPath + "/step-up/options", Roles: anyone, handle: h.handlePasskeyStepUpOptions},
		{Method: http.MethodPost, Path: "/login/passkey/options", Public: true, handle: h.handlePasskeySignInOptions},
		{Method: http.MethodPost, Path: "/login/passkey", Public: true, handle: h.handlePasskeySignIn},
		{Method: http.MethodPost, Path: secondFactorPath + "/passkey/options", Public: true, handle: h.handlePasskeySecondFactorOptions},
		{Method: http.MethodPost, Path: secondFactorPath + "/passkey", Public: true, handle: h.handlePasskeySecondFactor},
	}
}

// keepCeremony stores a begun ceremony in the console session (server-side).
func (h *Handler) keepCeremony(c echo.Context, cer passkey.Ceremony) error {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	if err := passkey.Put(sess.Values, cer); err != nil {
		return err
	}
	return h.Sessions.Save(c.Request(), c.Response(), sess)
}

// takeCeremony removes the ceremony under way from the session and saves it before the
// answer is checked, so the same state can never be finished twice.
func (h *Handler) takeCeremony(c echo.Context, purpose string, operatorID int64) (passkey.Ceremony, error) {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return passkey.Ceremony{}, err
	}
	cer, taken := passkey.Take(sess.Values, purpose, operatorID, h.Now())
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		return passkey.Ceremony{}, err
	}
	return cer, taken
}

// passkeyJSONError answers the script's options request with words it shows in its alert.
func passkeyJSONError(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"error": msg})
}

// refusalReason is why an answer was refused, for the audit record: the library's
// description of a refusal, or the state's absence.
func refusalReason(err error) (string, bool) {
	var r *passkey.Refusal
	switch {
	case errors.As(err, &r):
		return "passkey refused: " + r.Reason, true
	case errors.Is(err, passkey.ErrNoCeremony):
		return "passkey ceremony expired or already used", true
	case errors.Is(err, passkey.ErrNotFound), errors.Is(err, passkey.ErrNoPasskeys):
		return "passkey unknown", true
	}
	return "", false
}

// handlePasskeySignInOptions begins a passwordless sign-in.
func (h *Handler) handlePasskeySignInOptions(c echo.Context) error {
	a, cer, err := h.Passkeys.BeginDiscoverableLogin()
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, cer); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// passkeySignInFailed is the sign-in page's one answer to a refused passkey.
const passkeySignInFailed = "Sign-in with a passkey failed: the passkey was not accepted, the request expired, or the account cannot sign in now. Try again, or ask an admin."

// handlePasskeySignIn finishes a passwordless sign-in: the passkey names its operator,
// who is signed in with the passkey as both factors. A passkey is not a password, so it
// works when CONSOLE_LOCAL_SIGNIN is off; single sign-on operators sign in at their
// provider, whose groups decide their role.
func (h *Handler) handlePasskeySignIn(c echo.Context) error {
	ctx := c.Request().Context()
	attempt := h.event(c, audit.ActionSignInFailed, audit.Target{Type: "operator"})
	attempt.Outcome = audit.OutcomeFailed
	fail := func(status int, op operators.Operator, reason, msg string) error {
		if err := h.recordSignInRefused(ctx, attempt, op, reason, false); err != nil {
			return err
		}
		form := h.loginForm(c)
		form.Error = msg
		return render(c, status, templates.LoginPage(h.page(c, "Sign in"), form))
	}
	if allowed, err := h.limiter.Allow(ctx, c.RealIP()); err != nil {
		return err
	} else if !allowed {
		return fail(http.StatusTooManyRequests, operators.Operator{}, "rate limited",
			"Too many sign-in attempts from your address. Wait a minute and try again.")
	}
	cer, err := h.takeCeremony(c, passkey.PurposeSignIn, 0)
	var id int64
	if err == nil {
		id, _, err = h.Passkeys.FinishDiscoverableLogin(ctx, cer, []byte(c.FormValue("assertion")))
	}
	if reason, ok := refusalReason(err); ok {
		return fail(http.StatusUnauthorized, operators.Operator{}, reason, passkeySignInFailed)
	} else if err != nil {
		return err
	}
	op, err := h.Operators.ByID(ctx, id)
	if err != nil {
		return err
	}
	if reason := passkeySignInRefusal(op, h.Now()); reason != "" {
		return fail(http.StatusUnauthorized, op, reason, passkeySignInFailed)
	}
	return h.completeSignIn(c, op, authMethod{Kind: methodPasskey, Factor: "passkey"}, safeNext(c.FormValue("next")))
}

// passkeySignInRefusal is why op may not sign in with a passkey now; empty when they may.
func passkeySignInRefusal(op operators.Operator, now time.Time) string {
	switch {
	case op.Disabled:
		return "operator disabled"
	case op.SSO:
		return "single sign-on operator (signs in at the provider)"
	case op.Locked(now):
		return "operator locked"
	}
	return ""
}

// handlePasskeySecondFactorOptions begins the passkey check of a sign-in whose password
// was right.
func (h *Handler) handlePasskeySecondFactorOptions(c echo.Context) error {
	op, _, ok, err := h.pendingOperator(c)
	if err != nil {
		return err
	}
	if !ok {
		return passkeyJSONError(c, http.StatusUnauthorized, "Your sign-in has expired. Start again from the sign-in page.")
	}
	return h.beginKnownLogin(c, op.ID, passkey.PurposeSecondFactor)
}

// handlePasskeyStepUpOptions begins a passkey check for a step-up.
func (h *Handler) handlePasskeyStepUpOptions(c echo.Context) error {
	return h.beginKnownLogin(c, currentOperator(c).ID, passkey.PurposeStepUp)
}

// beginKnownLogin answers the options for a passkey check of a known operator.
func (h *Handler) beginKnownLogin(c echo.Context, operatorID int64, purpose string) error {
	a, cer, err := h.Passkeys.BeginLogin(c.Request().Context(), operatorID, purpose)
	if errors.Is(err, passkey.ErrNoPasskeys) {
		return passkeyJSONError(c, http.StatusConflict, "You have no passkey registered. Use another way to confirm it is you.")
	}
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, cer); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// handlePasskeySecondFactor checks the passkey of a sign-in whose password was right. A
// refused passkey counts against the lockout like a wrong code; the ceremony's absence
// (expired, a double click) does not, as no guess was made.
func (h *Handler) handlePasskeySecondFactor(c echo.Context) error {
	ctx := c.Request().Context()
	op, next, ok, err := h.pendingOperator(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login?expired=1")
	}
	cer, err := h.takeCeremony(c, passkey.PurposeSecondFactor, op.ID)
	if errors.Is(err, passkey.ErrNoCeremony) {
		return h.secondFactorRefused(c, op, "passkey ceremony expired or already used", false)
	} else if err != nil {
		return err
	}
	attempt, reserved, err := h.Operators.ReserveSignIn(ctx, op.ID, h.Now())
	if err != nil {
		return err
	}
	if !reserved {
		return h.secondFactorRefused(c, op, "operator locked", false)
	}
	_, err = h.Passkeys.FinishLogin(ctx, op.ID, cer, []byte(c.FormValue("assertion")))
	if reason, refused := refusalReason(err); refused {
		return h.secondFactorRefused(c, op, reason, attempt >= operators.MaxFailures)
	} else if err != nil {
		return err
	}
	done := h.secondFactorEvent(c, op, audit.OutcomeSucceeded, "")
	if _, err := h.Audit.Append(ctx, done); err != nil {
		return errAuditUnavailable
	}
	return h.completeSignIn(c, op, authMethod{Kind: methodPassword, Factor: "passkey"}, next)
}

// secondFactorEvent is an auth.second_factor record of a passkey for op.
func (h *Handler) secondFactorEvent(c echo.Context, op operators.Operator, outcome audit.Outcome, reason string) audit.Event {
	e := h.event(c, audit.ActionSecondFactor, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	e.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
	e.Outcome = outcome
	d := map[string]string{"factor": "passkey"}
	if reason != "" {
		d["reason"] = reason
	}
	e.Detail = audit.DetailJSON(d)
	return e
}

// secondFactorRefused records a refused passkey (and the lockout it caused) and sends the
// operator back to the second-factor page, which says so.
func (h *Handler) secondFactorRefused(c echo.Context, op operators.Operator, reason string, lockedNow bool) error {
	ctx := c.Request().Context()
	if _, err := h.Audit.Append(ctx, h.secondFactorEvent(c, op, audit.OutcomeFailed, reason)); err != nil {
		return errAuditUnavailable
	}
	if lockedNow {
		lock := h.event(c, audit.ActionLockout, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
		lock.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
		lock.Outcome, lock.Detail = audit.OutcomeFailed, lockoutDetail()
		if _, err := h.Audit.Append(ctx, lock); err != nil {
			return errAuditUnavailable
		}
	}
	return c.Redirect(http.StatusSeeOther, secondFactorPath+"?passkey=failed")
}

// passkeyStepUp verifies a passkey assertion given for a step-up (the prompt's
// _step_up_passkey field) for op. false without an error is a refused or stale answer;
// the caller records the step-up and the proved factor.
func (h *Handler) passkeyStepUp(c echo.Context, op operators.Operator, assertion string) (bool, error) {
	if h.Passkeys == nil || assertion == "" {
		return false, nil
	}
	cer, err := h.takeCeremony(c, passkey.PurposeStepUp, op.ID)
	if err == nil {
		_, err = h.Passkeys.FinishLogin(c.Request().Context(), op.ID, cer, []byte(assertion))
	}
	if _, refused := refusalReason(err); refused {
		return false, nil
	}
	return err == nil, err
}
