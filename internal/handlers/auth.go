package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/web/templates"
)

// signInFailed is the one answer for an unknown e-mail, a wrong password, a disabled or
// a locked account, so the form tells an attacker nothing.
const signInFailed = "Sign-in failed: wrong e-mail or password, or the account is paused after repeated failures. Try again, or ask an admin."

func (h *Handler) handleLoginForm(c echo.Context) error {
	if currentOperator(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	f := h.loginForm(c)
	switch {
	case c.QueryParam("signed_out") == "1":
		f.Notice = "You have signed out."
	case c.QueryParam("expired") == "1":
		f.Notice = "Your session has ended. Sign in again; nothing was sent."
	case c.QueryParam("role_changed") == "1":
		f.Notice = "Your access changed: your groups at your identity provider no longer grant the role you had. Sign in again."
	}
	return render(c, http.StatusOK, templates.LoginPage(h.page(c, "Sign in"), f))
}

func (h *Handler) handleLogin(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	form := h.loginForm(c)
	form.Email = email
	fail := func(status int, msg string) error {
		form.Error = msg
		return render(c, status, templates.LoginPage(h.page(c, "Sign in"), form))
	}
	if msg := checkText(email, 254); msg != "" || len(pw) > 4*password.MaxLength || strings.ContainsRune(pw, 0) {
		return fail(http.StatusUnprocessableEntity, "Enter a valid e-mail address and password.")
	}
	// What was typed as the e-mail is recorded only when it is an e-mail address: an
	// operator who types their password into the e-mail field must not have it stored.
	attempted := email
	if !plausibleEmail(email) {
		attempted, form.Email = notAnEmail, ""
	}
	attempt := h.event(c, audit.ActionSignInFailed, audit.Target{Type: "operator", Label: attempted})
	attempt.Actor = audit.Actor{Email: attempted}
	attempt.Outcome = audit.OutcomeFailed
	allowed, err := h.limiter.Allow(ctx, c.RealIP())
	if err != nil {
		return err
	}
	if !allowed {
		attempt.Detail = audit.DetailJSON(map[string]string{"reason": "rate limited"})
		if _, err := h.Audit.Append(ctx, attempt); err != nil {
			return errAuditUnavailable
		}
		return fail(http.StatusTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again.")
	}

	now := h.Now()
	op, reason, lockedNow, err := h.checkSignIn(ctx, email, pw, now)
	if err != nil {
		return err
	}
	if reason != "" {
		if err := h.recordSignInRefused(ctx, attempt, op, reason, lockedNow); err != nil {
			return err
		}
		return fail(http.StatusUnauthorized, signInFailed)
	}
	return h.passwordSignedIn(c, op, safeNext(c.QueryParam("next")))
}

// loginForm is the sign-in page's form for this request: the ways to sign in that are
// on, and where to go afterwards.
func (h *Handler) loginForm(c echo.Context) templates.Login {
	f := templates.Login{Sandbox: h.Sandbox, Next: safeNext(c.QueryParam("next")), BreakGlassOnly: h.Identity.LocalSignInOff}
	if h.SSO != nil {
		f.SSOName = h.SSO.Name()
	}
	if h.Passkeys != nil {
		f.Passkeys = h.Passkeys.AnyRegistered(c.Request().Context())
	}
	return f
}

// recordSignInRefused writes the refused attempt to the audit log, naming the operator
// when the e-mail is one, and the lockout it caused.
func (h *Handler) recordSignInRefused(ctx context.Context, attempt audit.Event, op operators.Operator, reason string, lockedNow bool) error {
	if op.ID != 0 {
		attempt.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
		attempt.Target.ID, attempt.Target.Label = idString(op.ID), op.Email
	}
	attempt.Detail = audit.DetailJSON(map[string]string{"reason": reason})
	if _, err := h.Audit.Append(ctx, attempt); err != nil {
		return errAuditUnavailable
	}
	if lockedNow {
		lock := attempt
		lock.Action = audit.ActionLockout
		lock.Detail = lockoutDetail()
		if _, err := h.Audit.Append(ctx, lock); err != nil {
			return errAuditUnavailable
		}
	}
	return nil
}

// startSession signs op in by m: a fresh session (a new id, nothing of the anonymous one
// kept) that knows how, the sign-in in the audit log, and the operator's failures
// cleared. enrol keeps the operator on second-factor enrolment until they have one.
func (h *Handler) startSession(c echo.Context, op operators.Operator, m authMethod, enrol bool, now time.Time) error {
	ctx := c.Request().Context()
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	sess.Values[session.OperatorKey] = op.ID
	sess.Values["role"] = string(op.Role)
	sess.Values[session.MethodKey] = m.Kind
	sess.Values[session.ClientIPKey] = c.RealIP()
	sess.Values[session.UserAgentKey] = c.Request().UserAgent()
	if m.Factor != "" {
		sess.Values[session.FactorAtKey] = now.Unix()
	}
	if !m.AuthTime.IsZero() {
		sess.Values[session.AuthTimeKey] = m.AuthTime.Unix()
	}
	if m.Kind == methodSSO {
		sess.Values[session.GroupsKey] = m.Groups
	}
	if enrol {
		sess.Values[session.EnrolKey] = true
	}
	c.Set(ctxOperator, &op)
	ok := h.event(c, audit.ActionSignIn, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	ok.Outcome = audit.OutcomeSucceeded
	ok.Detail = signInDetail(op, m, enrol)
	if _, err := h.Audit.Append(ctx, ok); err != nil {
		return errAuditUnavailable
	}
	if err := h.Sessions.Renew(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	return h.Operators.RecordSuccess(ctx, op.ID, now)
}

// checkSignIn decides a sign-in. The attempt is counted against the operator's lockout
// before the slow password check, so parallel guesses can never outnumber
// operators.MaxFailures; every refusal costs one password hash, so an unknown e-mail, a
// disabled or locked operator and a wrong password take the same time. reason is empty
// when the password was right; lockedNow reports a wrong password that locked the account.
func (h *Handler) checkSignIn(ctx context.Context, email, pw string, now time.Time) (op operators.Operator, reason string, lockedNow bool, err error) {
	op, err = h.Operators.ByEmail(ctx, email)
	if errors.Is(err, operators.ErrNotFound) {
		password.Verify(pw, h.dummyHash)
		return operators.Operator{}, "unknown e-mail", false, nil
	}
	if err != nil {
		return op, "", false, err
	}
	if op.Disabled {
		password.Verify(pw, h.dummyHash)
		return op, "operator disabled", false, nil
	}
	if h.Identity.LocalSignInOff && !op.BreakGlass {
		password.Verify(pw, h.dummyHash)
		return op, "password sign-in off (not break-glass)", false, nil
	}
	if op.PasswordHash == "" {
		password.Verify(pw, h.dummyHash)
		return op, "no password (single sign-on operator)", false, nil
	}
	reason, lockedNow, err = h.verifyPassword(ctx, op, pw, now)
	return op, reason, lockedNow, err
}

// verifyPassword checks op's password, counting the attempt against the lockout before
// the slow hash (a locked operator's attempt costs a hash too, of the dummy). reason is
// "operator locked", "wrong password" or empty when the password was right; lockedNow
// reports a wrong password that locked the account.
func (h *Handler) verifyPassword(ctx context.Context, op operators.Operator, pw string, now time.Time) (reason string, lockedNow bool, err error) {
	attempt, reserved, err := h.Operators.ReserveSignIn(ctx, op.ID, now)
	if err != nil {
		return "", false, err
	}
	if !reserved {
		password.Verify(pw, h.dummyHash)
		return "operator locked", false, nil
	}
	if !password.Verify(pw, op.PasswordHash) {
		return "wrong password", attempt >= operators.MaxFailures, nil
	}
	return "", false, nil
}

// lockoutDetail is the Detail of an auth.lockout event.
func lockoutDetail() []byte {
	return audit.DetailJSON(map[string]any{"failures": operators.MaxFailures, "minutes": int(operators.LockDuration.Minutes())})
}

func (h *Handler) handleLogout(c echo.Context) error {
	e := h.event(c, audit.ActionSignOut, audit.Target{Type: "operator", ID: idString(currentOperator(c).ID), Label: currentOperator(c).Email})
	e.Outcome = audit.OutcomeSucceeded
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		h.Logger.Error("audit sign-out", "err", err, "request_id", requestID(c))
	}
	return h.handleLogoutAfterEnd(c)
}

// safeNext keeps a post-sign-in redirect on this site: next must be a same-origin path —
// one leading "/", no "//", no backslash, no control, whitespace or invisible formatting
// character, valid UTF-8 — and must stay one when percent-decoded once more. Anything
// else goes home.
func safeNext(next string) string {
	// Only the path comes back: the console never sends a query along (see toSignIn), and a
	// crafted one (?reason=…) would otherwise be followed as if from the console's own page.
	next, _, _ = strings.Cut(next, "?")
	next, _, _ = strings.Cut(next, "#")
	if !sameOriginPath(next) {
		return "/"
	}
	if decoded, err := url.PathUnescape(next); err != nil || !sameOriginPath(decoded) {
		return "/"
	}
	return next
}

func sameOriginPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// notAnEmail stands in the audit log for a sign-in name that is not an e-mail address.
const notAnEmail = "(not an e-mail address)"

// plausibleEmail reports whether s is a bare e-mail address with a dotted domain, as every
// operator's is; anything else typed as a sign-in name is not kept.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return bareAddress(s) && at > 0 && strings.Contains(s[at+1:], ".")
}
