package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/sso"
	"github.com/raas-console/console/web/templates"
)

// ssoProvider is the OpenID provider operators sign in through; *sso.Provider is one.
type ssoProvider interface {
	// Name is the provider's name on the sign-in button.
	Name() string
	// AuthURL is where to send the browser to authenticate; maxAge < 0 sends none, 0
	// forces the provider to authenticate the user again.
	AuthURL(ctx context.Context, state, nonce, verifier string, maxAge time.Duration) (string, error)
	// Exchange redeems the code and verifies the ID token.
	Exchange(ctx context.Context, code, verifier, nonce string) (sso.Identity, error)
	// Role maps provider groups to a console role.
	Role(groups []string) (role string, ok bool)
}

// ssoOperatorStore is what single sign-on and the operators page's sign-in controls need
// of the operators store; operatorStore includes it.
type ssoOperatorStore interface {
	BySubject(ctx context.Context, subject string) (operators.Operator, error)
	CreateSSO(ctx context.Context, email, name string, role operators.Role, subject string) (operators.Operator, error)
	BindSubject(ctx context.Context, id int64, subject string) (operators.Operator, error)
	SetSSOLink(ctx context.Context, id int64, allowed bool) (operators.Operator, error)
	SetBreakGlass(ctx context.Context, id int64, breakGlass bool) (operators.Operator, error)
	SetRoleFromProvider(ctx context.Context, id int64, role operators.Role) (operators.Operator, bool, error)
}

// What a session keeps while the browser is at the provider: the flow's secrets, when it
// started, and where to go afterwards. They are removed before the code is redeemed, so a
// callback is accepted once.
const (
	ssoStateKey    = "sso_state"
	ssoNonceKey    = "sso_nonce"
	ssoVerifierKey = "sso_verifier"
	ssoStartedKey  = "sso_started"
	ssoNextKey     = "sso_next"
	// ssoStepUpPathKey and ssoStepUpFieldsKey are the step-up's original request: its path
	// and its form fields (URL-encoded), posted again after the re-authentication.
	ssoStepUpPathKey   = "sso_step_up_path"
	ssoStepUpFieldsKey = "sso_step_up_fields"
)

// ssoFlowFor is how long the browser may take at the provider.
const ssoFlowFor = 10 * time.Minute

// ssoPath is single sign-on's callback, the redirect URL registered at the provider.
const ssoCallbackPath = "/auth/oidc/callback"

// ssoRoutes start single sign-on and take the provider's answer, and are the admins'
// sign-in controls on the operators page.
func (h *Handler) ssoRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/auth/oidc/start", Public: true, handle: h.handleSSOStart},
		{Method: http.MethodGet, Path: ssoCallbackPath, Public: true, handle: h.handleSSOCallback},
		{Method: http.MethodPost, Path: "/auth/oidc/step-up", Roles: anyone, handle: h.handleSSOStepUp},
		{Method: http.MethodPost, Path: "/operators/:id/break-glass", Roles: adminOnly, handle: h.handleOperatorBreakGlass},
		{Method: http.MethodPost, Path: "/operators/:id/sso", Roles: adminOnly, handle: h.handleOperatorSSOLink},
	}
}

// ssoFlow is one trip to the provider.
type ssoFlow struct {
	state, nonce, verifier string
	started                time.Time
	next                   string
	stepUpPath, stepUpForm string
}

// handleSSOStart sends the browser to the provider with a fresh state, nonce and PKCE
// verifier kept in the (server-side) session.
func (h *Handler) handleSSOStart(c echo.Context) error {
	if h.SSO == nil {
		return errNotFound
	}
	if currentOperator(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return h.toProvider(c, ssoFlow{next: safeNext(c.QueryParam("next"))}, -1)
}

// toProvider keeps the flow in the session and sends the browser to the provider.
func (h *Handler) toProvider(c echo.Context, f ssoFlow, maxAge time.Duration) error {
	f.state, f.nonce, f.verifier = sso.NewState(), sso.NewState(), sso.NewVerifier()
	target, err := h.SSO.AuthURL(c.Request().Context(), f.state, f.nonce, f.verifier, maxAge)
	if err != nil {
		return h.ssoRefuse(c, ssoRefusal{reason: "provider unreachable: " + errWords(err), err: err})
	}
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	sess.Values[ssoStateKey], sess.Values[ssoNonceKey], sess.Values[ssoVerifierKey] = f.state, f.nonce, f.verifier
	sess.Values[ssoStartedKey] = h.Now().Unix()
	sess.Values[ssoNextKey] = f.next
	sess.Values[ssoStepUpPathKey], sess.Values[ssoStepUpFieldsKey] = f.stepUpPath, f.stepUpForm
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	title := "Signing in"
	if f.stepUpPath != "" {
		title = "Confirming it is you"
	}
	return render(c, http.StatusOK, templates.SSORedirectPage(title, h.SSO.Name(), target))
}

// takeFlow removes the pending flow from the session (saved at once, so a replayed
// callback finds none) and returns it; ok is false when there was none.
func (h *Handler) takeFlow(c echo.Context) (f ssoFlow, ok bool, err error) {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return f, false, err
	}
	str := func(k string) string { s, _ := sess.Values[k].(string); return s }
	f = ssoFlow{state: str(ssoStateKey), nonce: str(ssoNonceKey), verifier: str(ssoVerifierKey),
		started: session.Time(sess.Values, ssoStartedKey), next: str(ssoNextKey),
		stepUpPath: str(ssoStepUpPathKey), stepUpForm: str(ssoStepUpFieldsKey)}
	if f.state == "" {
		return f, false, nil
	}
	for _, k := range []string{ssoStateKey, ssoNonceKey, ssoVerifierKey, ssoStartedKey, ssoNextKey, ssoStepUpPathKey, ssoStepUpFieldsKey} {
		delete(sess.Values, k)
	}
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		return f, false, err
	}
	return f, true, nil
}

// handleSSOCallback takes the provider's answer: the state must be this session's pending
// one (used once), then the code is redeemed, the ID token verified, and the operator
// signed in — or, for a pending step-up, the re-authentication accepted.
func (h *Handler) handleSSOCallback(c echo.Context) error {
	if h.SSO == nil {
		return errNotFound
	}
	f, ok, err := h.takeFlow(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	switch {
	case !ok || subtle.ConstantTimeCompare([]byte(state), []byte(f.state)) != 1:
		return h.ssoRefuse(c, ssoRefusal{reason: "state mismatch or already used", status: http.StatusBadRequest,
			msg: "This answer from " + h.SSO.Name() + " does not belong to a sign-in started here, or was already used. Nothing was changed. Start again."})
	case h.Now().Sub(f.started) > ssoFlowFor:
		return h.ssoRefuse(c, ssoRefusal{reason: "sign-in took too long", status: http.StatusBadRequest,
			msg: "The sign-in at " + h.SSO.Name() + " took longer than 10 minutes. Start again."})
	case c.QueryParam("error") != "":
		return h.ssoRefuse(c, exchangeRefusal(h.SSO.Name(), sso.CallbackError(c.QueryParam("error"), c.QueryParam("error_description"))))
	}
	id, err := h.SSO.Exchange(c.Request().Context(), c.QueryParam("code"), f.verifier, f.nonce)
	if err != nil {
		return h.ssoRefuse(c, exchangeRefusal(h.SSO.Name(), err))
	}
	if f.stepUpPath != "" {
		return h.ssoSteppedUp(c, f, id)
	}
	return h.ssoSignIn(c, id, f.next)
}

// exchangeRefusal words a refused or failed sign-in at the provider: an error the provider
// answered, an ID token that failed a check, or a provider that cannot be reached.
func exchangeRefusal(provider string, err error) ssoRefusal {
	var refused *sso.RefusedError
	var invalid *sso.InvalidTokenError
	switch {
	case errors.Is(err, sso.ErrUnavailable):
		return ssoRefusal{reason: "provider unreachable: " + errWords(err), err: err}
	case errors.As(err, &refused):
		words := refused.Code
		if refused.Description != "" {
			words += ": " + refused.Description
		}
		return ssoRefusal{reason: "provider refused: " + words, status: http.StatusUnauthorized,
			msg: provider + " did not sign you in (" + words + "). Nothing was changed. Try again, or ask your identity provider's administrator."}
	case errors.As(err, &invalid):
		return ssoRefusal{reason: "invalid ID token: " + errWords(err), status: http.StatusUnauthorized,
			msg: "The answer from " + provider + " was not accepted: " + invalid.Reason + ". You are not signed in; nothing was changed."}
	}
	return ssoRefusal{reason: "sign-in failed: " + errWords(err), status: http.StatusBadGateway,
		msg: "The sign-in at " + provider + " did not complete. You are not signed in; nothing was changed. Try again."}
}

// errWords is an error's message cut to a length fit for an audit record.
func errWords(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// ssoRefusal is why a single sign-on was refused: the reason for the audit log, the words
// and status for the person.
type ssoRefusal struct {
	reason string
	status int
	msg    string
	// err set means the provider could not be reached.
	err error
	// email, groups and op say who was refused, when known.
	email  string
	groups []string
	op     operators.Operator
}

// ssoRefuse records a refused single sign-on and shows the sign-in page with why.
func (h *Handler) ssoRefuse(c echo.Context, r ssoRefusal) error {
	if r.err != nil {
		r.status = http.StatusServiceUnavailable
		r.msg = h.SSO.Name() + " cannot be reached; try again or use break-glass sign-in."
	}
	e := h.event(c, audit.ActionSSORefused, audit.Target{Type: "operator", Label: r.email})
	if currentOperator(c) == nil {
		e.Actor = audit.Actor{Email: r.email}
	}
	if r.op.ID != 0 {
		e.Actor = audit.Actor{OperatorID: r.op.ID, Email: r.op.Email, Role: string(r.op.Role)}
		e.Target.ID, e.Target.Label = idString(r.op.ID), r.op.Email
	}
	e.Outcome = audit.OutcomeFailed
	d := map[string]any{"reason": r.reason, "provider": h.SSO.Name()}
	if r.groups != nil {
		d["groups"] = r.groups
	}
	e.Detail = audit.DetailJSON(d)
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	if currentOperator(c) != nil {
		return userError(r.status, "Not confirmed", r.msg)
	}
	f := h.loginForm(c)
	f.Error = r.msg
	return render(c, r.status, templates.LoginPage(h.page(c, "Sign in"), f))
}

// ssoSignIn signs in the person the provider vouched for: their role from their groups,
// their operator found by subject, else by e-mail (a password operator only when an admin
// linked them), else created.
func (h *Handler) ssoSignIn(c echo.Context, id sso.Identity, next string) error {
	name := h.SSO.Name()
	roleName, ok := h.SSO.Role(id.Groups)
	if !ok {
		return h.ssoRefuse(c, ssoRefusal{reason: "no mapped group", status: http.StatusForbidden, email: id.Email, groups: nonNil(id.Groups),
			msg: "Your groups at " + name + " grant no console role, so you cannot sign in. Ask an admin to add you to a group the console maps to a role."})
	}
	role, err := operators.ParseRole(roleName)
	if err != nil {
		return err
	}
	op, refusal, err := h.ssoOperator(c.Request().Context(), id, role)
	if err != nil {
		return err
	}
	if refusal != nil {
		refusal.email, refusal.groups = id.Email, nonNil(id.Groups)
		return h.ssoRefuse(c, *refusal)
	}
	before := op.Role
	op, changed, err := h.Operators.SetRoleFromProvider(c.Request().Context(), op.ID, role)
	if err != nil {
		return err
	}
	if changed {
		if err := h.recordProviderRole(c, op, before, id.Groups); err != nil {
			return err
		}
	}
	return h.completeSignIn(c, op, authMethod{Kind: methodSSO, AMR: id.AMR, AuthTime: id.AuthTime, Groups: nonNil(id.Groups)}, next)
}

// ssoOperator finds or creates the operator for id; a refusal says why there is none.
func (h *Handler) ssoOperator(ctx context.Context, id sso.Identity, role operators.Role) (operators.Operator, *ssoRefusal, error) {
	store := h.Operators
	subject := id.Issuer + "|" + id.Subject
	op, err := store.BySubject(ctx, subject)
	if errors.Is(err, operators.ErrNotFound) {
		op, err = h.ssoOperatorByEmail(ctx, store, id, role, subject)
	}
	var refusal *ssoRefusal
	if errors.As(err, &refusal) {
		return operators.Operator{}, refusal, nil
	}
	if err != nil {
		return operators.Operator{}, nil, err
	}
	if op.Disabled {
		return op, &ssoRefusal{reason: "operator disabled", status: http.StatusForbidden, op: op,
			msg: "Your console account is disabled. Ask an admin."}, nil
	}
	return op, nil, nil
}

func (r *ssoRefusal) Error() string { return r.reason }

// ssoOperatorByEmail is the operator for a subject seen for the first time: the one an
// admin linked, bound now, or a new single sign-on operator. A password operator no admin
// linked is refused: the provider vouching for an e-mail must not take over an account.
func (h *Handler) ssoOperatorByEmail(ctx context.Context, store ssoOperatorStore, id sso.Identity, role operators.Role, subject string) (operators.Operator, error) {
	if id.Email == "" || !plausibleEmail(id.Email) {
		return operators.Operator{}, &ssoRefusal{reason: "no e-mail address in the ID token", status: http.StatusForbidden,
			msg: h.SSO.Name() + " did not send your e-mail address, which the console needs. Ask your identity provider's administrator."}
	}
	op, err := h.Operators.ByEmail(ctx, id.Email)
	switch {
	case errors.Is(err, operators.ErrNotFound):
		name := id.Name
		if checkText(name, 200) != "" || name == "" {
			name = id.Email
		}
		op, err = store.CreateSSO(ctx, id.Email, name, role, subject)
		if errors.Is(err, operators.ErrExists) {
			return op, &ssoRefusal{reason: "created at the same time", status: http.StatusConflict, msg: "Your sign-in crossed another one. Try again."}
		}
		return op, err
	case err != nil:
		return op, err
	case !op.SSO:
		return op, &ssoRefusal{reason: "password operator not linked to single sign-on", status: http.StatusForbidden, op: op,
			msg: "An operator with the e-mail " + op.Email + " signs in with a password here. Ask an admin to allow single sign-on for them on the Operators page, then try again."}
	}
	bound, err := store.BindSubject(ctx, op.ID, subject)
	if errors.Is(err, operators.ErrNotFound) {
		return op, &ssoRefusal{reason: "e-mail bound to another subject", status: http.StatusForbidden, op: op,
			msg: "The console account " + op.Email + " belongs to another " + h.SSO.Name() + " user. Ask an admin."}
	}
	return bound, err
}

// recordProviderRole audits a role the provider's groups changed at sign-in.
func (h *Handler) recordProviderRole(c echo.Context, op operators.Operator, before operators.Role, groups []string) error {
	e := h.event(c, audit.ActionOperatorRoleChange, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	e.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
	e.Outcome = audit.OutcomeSucceeded
	e.Before = audit.DetailJSON(map[string]any{"role": before})
	e.After = audit.DetailJSON(map[string]any{"role": op.Role})
	e.Detail = audit.DetailJSON(map[string]any{"source": "single sign-on groups", "groups": nonNil(groups)})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	return nil
}

// nonNil is groups, empty rather than nil, so the audit record says "no groups" as [].
func nonNil(groups []string) []string {
	if groups == nil {
		return []string{}
	}
	return groups
}

// requireCurrentRole ends a single sign-on session whose provider groups no longer map to
// the role it was started with (the role map changed): the person signs in again and gets
// the role the map gives now, or is refused.
func (h *Handler) requireCurrentRole(r Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := currentOperator(c)
			if r.Public || op == nil || h.sessionMethod(c) != methodSSO {
				return next(c)
			}
			sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
			if err != nil {
				return err
			}
			if h.SSO != nil {
				if role, ok := h.SSO.Role(sessionGroups(sess.Values[session.GroupsKey])); ok && role == string(op.Role) {
					return next(c)
				}
			}
			h.recordDenied(c, r, "role mapping changed")
			sess.Options.MaxAge = -1
			if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
				return err
			}
			c.Set(ctxOperator, nil)
			if isHTMX(c) {
				c.Response().Header().Set("HX-Redirect", "/login?role_changed=1")
				return c.NoContent(http.StatusUnauthorized)
			}
			return c.Redirect(http.StatusSeeOther, "/login?role_changed=1")
		}
	}
}

// sessionGroups reads the provider groups a session keeps (JSON gives []any back).
func sessionGroups(v any) []string {
	switch g := v.(type) {
	case []string:
		return g
	case []any:
		out := make([]string, 0, len(g))
		for _, s := range g {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
