package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/mfa"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/web/templates"
)

// secondFactorPath is where a right password waits for its second factor.
const secondFactorPath = "/login/second-factor"

// totpPath is where an operator sets up an authenticator app.
const totpPath = securityPath + "/totp"

// The second factors a code proves, as sign-in and step-up events name them.
const (
	factorTOTP     = "totp"
	factorRecovery = "recovery_code"
	factorPasskey  = "passkey"
)

// totpFactors keeps operators' authenticator-app (TOTP) secrets and recovery codes.
type totpFactors interface {
	// Enrolled reports whether the operator has a confirmed TOTP.
	Enrolled(ctx context.Context, operatorID int64) (bool, error)
	// Begin makes a new secret to set up; Pending returns it (mfa.ErrNoPending when none).
	Begin(ctx context.Context, operatorID int64, email string) (mfa.Enrolment, error)
	Pending(ctx context.Context, operatorID int64) (mfa.Enrolment, error)
	// Confirm makes the pending secret the operator's when code is one of its codes
	// (mfa.ErrWrongCode otherwise) and returns ten new recovery codes, in clear, once.
	Confirm(ctx context.Context, operatorID int64, code string, now time.Time) ([]string, error)
	// Verify accepts a current code, once.
	Verify(ctx context.Context, operatorID int64, code string, now time.Time) (bool, error)
	// UseRecoveryCode spends a recovery code, once; left is how many remain.
	UseRecoveryCode(ctx context.Context, operatorID int64, code string, now time.Time) (ok bool, left int, err error)
	RegenerateRecoveryCodes(ctx context.Context, operatorID int64, now time.Time) ([]string, error)
	RecoveryCodesLeft(ctx context.Context, operatorID int64) (int, error)
	// Remove deletes the authenticator app and the recovery codes.
	Remove(ctx context.Context, operatorID int64) error
}

// mfaRoutes are the second-factor step of sign-in and the security page.
func (h *Handler) mfaRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: secondFactorPath, Public: true, handle: h.handleSecondFactorForm},
		{Method: http.MethodPost, Path: secondFactorPath, Public: true, handle: h.handleSecondFactor},
		{Method: http.MethodGet, Path: securityPath, Roles: anyone, handle: h.handleSecurity},
		{Method: http.MethodGet, Path: totpPath, Roles: anyone, handle: h.handleTOTPSetup},
		{Method: http.MethodGet, Path: totpPath + "/qr.png", Roles: anyone, handle: h.handleTOTPQRCode},
		// Confirming a new app while holding a factor, removing one and replacing the
		// recovery codes are what an attacker holding a stolen session would do first:
		// they need a recent second factor (an operator enrolling their first factor has
		// none and is not asked).
		{Method: http.MethodPost, Path: totpPath, Roles: anyone, StepUp: true, handle: h.handleTOTPConfirm},
		{Method: http.MethodPost, Path: totpPath + "/remove", Roles: anyone, StepUp: true, handle: h.handleTOTPRemove},
		{Method: http.MethodPost, Path: securityPath + "/recovery-codes", Roles: anyone, StepUp: true, handle: h.handleRecoveryCodes},
	}
}

func (h *Handler) handleSecondFactorForm(c echo.Context) error {
	op, _, ok, err := h.pendingOperator(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	msg := ""
	if c.QueryParam("passkey") == "failed" {
		msg = "The passkey was not accepted, or the request expired. Try again, or use a code."
	}
	return h.renderSecondFactor(c, op, http.StatusOK, msg)
}

func (h *Handler) renderSecondFactor(c echo.Context, op operators.Operator, status int, msg string) error {
	f := templates.SecondFactor{Error: msg}
	var err error
	if f.TOTP, f.Passkeys, err = h.factorsOf(c.Request().Context(), op.ID); err != nil {
		return err
	}
	return render(c, status, templates.SecondFactorPage(h.page(c, "Confirm it is you"), f))
}

// handleSecondFactor checks the code given after a right password; a right one signs
// the operator in, a wrong one counts against their lockout like a wrong password.
func (h *Handler) handleSecondFactor(c echo.Context) error {
	op, next, ok, err := h.pendingOperator(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	chk, err := h.checkCode(c.Request().Context(), op, c.FormValue("code"), h.Now())
	if err != nil {
		return err
	}
	if err := h.recordCodeCheck(c, audit.ActionSecondFactor, op, chk, nil); err != nil {
		return err
	}
	switch chk.reason {
	case "":
		if err := h.completeSignIn(c, op, authMethod{Kind: methodPassword, Factor: chk.factor}, next); err != nil {
			return err
		}
		if chk.factor == factorRecovery {
			return h.flashSignedIn(c, "info|"+recoveryLeftWords(chk.left))
		}
		return nil
	case "operator locked":
		if err := h.endPending(c); err != nil {
			return err
		}
		form := h.loginForm(c)
		form.Error = signInFailed
		return render(c, http.StatusUnauthorized, templates.LoginPage(h.page(c, "Sign in"), form))
	}
	return h.renderSecondFactor(c, op, http.StatusUnauthorized, codeRefusedWords(chk))
}

// flashSignedIn keeps a message for the first page after sign-in. The redirect is
// already written, so it reaches that page through the session row (h.flash skips a
// session as new as this one).
func (h *Handler) flashSignedIn(c echo.Context, flash string) error {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	sess.AddFlash(flash)
	return h.Sessions.Save(c.Request(), c.Response(), sess)
}

// endPending forgets the operator whose second factor this session waited for.
func (h *Handler) endPending(c echo.Context) error {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	delete(sess.Values, session.PendingKey)
	delete(sess.Values, session.PendingAtKey)
	delete(sess.Values, session.PendingNextKey)
	return h.Sessions.Save(c.Request(), c.Response(), sess)
}

// codeCheck is how a code typed as a second factor was judged.
type codeCheck struct {
	// factor is factorTOTP for six digits, factorRecovery otherwise.
	factor string
	// reason is empty when the code was right: "no code", "wrong code", "operator locked".
	reason string
	// lockedNow reports a wrong code that locked the account.
	lockedNow bool
	// left is how many recovery codes remain, after a recovery code was tried.
	left int
}

// checkCode checks a code op typed: six digits from the authenticator app, or a
// recovery code. Like a password, each code counts against the sign-in lockout before it
// is checked, so parallel guesses cannot outnumber operators.MaxFailures; a right code
// clears the count.
func (h *Handler) checkCode(ctx context.Context, op operators.Operator, code string, now time.Time) (codeCheck, error) {
	code = strings.TrimSpace(code)
	digits := strings.ReplaceAll(code, " ", "")
	chk := codeCheck{factor: factorRecovery}
	if isTOTPCode(digits) {
		chk.factor, code = factorTOTP, digits
	}
	if code == "" || len(code) > 64 || h.TOTP == nil {
		chk.reason = "no code"
		return chk, nil
	}
	attempt, reserved, err := h.Operators.ReserveSignIn(ctx, op.ID, now)
	if err != nil {
		return chk, err
	}
	if !reserved {
		chk.reason = "operator locked"
		return chk, nil
	}
	var ok bool
	if chk.factor == factorTOTP {
		ok, err = h.TOTP.Verify(ctx, op.ID, code, now)
	} else {
		ok, chk.left, err = h.TOTP.UseRecoveryCode(ctx, op.ID, code, now)
	}
	if err != nil {
		return chk, err
	}
	if !ok {
		chk.reason, chk.lockedNow = "wrong code", attempt >= operators.MaxFailures
		return chk, nil
	}
	return chk, h.Operators.RecordSuccess(ctx, op.ID, now)
}

// isTOTPCode reports whether s is six ASCII digits.
func isTOTPCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// recordCodeCheck writes the audit event of a code op gave (never the code), and the
// lockout it caused; extra adds to the detail.
func (h *Handler) recordCodeCheck(c echo.Context, action audit.Action, op operators.Operator, chk codeCheck, extra map[string]any) error {
	ctx := c.Request().Context()
	e := h.event(c, action, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	e.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
	d := map[string]any{"factor": chk.factor}
	for k, v := range extra {
		d[k] = v
	}
	e.Outcome = audit.OutcomeSucceeded
	if chk.reason != "" {
		e.Outcome, d["reason"] = audit.OutcomeFailed, chk.reason
	}
	if chk.factor == factorRecovery && chk.reason != "no code" && chk.reason != "operator locked" {
		d["recovery_codes_left"] = chk.left
	}
	e.Detail = audit.DetailJSON(d)
	if _, err := h.Audit.Append(ctx, e); err != nil {
		return errAuditUnavailable
	}
	if chk.lockedNow {
		lock := e
		lock.Action, lock.Outcome, lock.Detail = audit.ActionLockout, audit.OutcomeFailed, lockoutDetail()
		if _, err := h.Audit.Append(ctx, lock); err != nil {
			return errAuditUnavailable
		}
	}
	return nil
}

// codeRefusedWords tells the operator why their code was not taken.
func codeRefusedWords(chk codeCheck) string {
	switch chk.reason {
	case "no code":
		return "Enter the six-digit code from your authenticator app, or a recovery code."
	case "operator locked":
		return "Too many wrong codes or passwords: your account is paused for " +
			strconv.Itoa(int(operators.LockDuration.Minutes())) + " minutes. Try again later, or ask an admin."
	}
	if chk.factor == factorRecovery {
		return "That recovery code is not right, or was already used."
	}
	return "That code is not right, or was already used. Wait for the next code from your app and try again."
}

// recoveryLeftWords tells how many recovery codes are left after one was used.
func recoveryLeftWords(left int) string {
	msg := "You used a recovery code. " + strconv.Itoa(left) + " unused recovery " + countWord(left, "code", "codes") + " left."
	if left <= 3 {
		msg += " Make new ones on the Security page."
	}
	return msg
}

func countWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mfaOperator is the signed-in operator, and refuses when the console keeps no second
// factors (no TOTP store).
func (h *Handler) mfaOperator(c echo.Context) (*operators.Operator, error) {
	if h.TOTP == nil {
		return nil, errNotFound
	}
	return currentOperator(c), nil
}

// factorsOf reports which second factors the operator can give: a code (an
// authenticator app, or recovery codes left) and a passkey.
func (h *Handler) factorsOf(ctx context.Context, operatorID int64) (code, passkey bool, err error) {
	if h.TOTP != nil {
		enrolled, err := h.TOTP.Enrolled(ctx, operatorID)
		if err != nil {
			return false, false, err
		}
		left, err := h.TOTP.RecoveryCodesLeft(ctx, operatorID)
		if err != nil {
			return false, false, err
		}
		code = enrolled || left > 0
	}
	if h.Passkeys != nil {
		n, err := h.Passkeys.Count(ctx, operatorID)
		if err != nil {
			return false, false, err
		}
		passkey = n > 0
	}
	return code, passkey, nil
}
