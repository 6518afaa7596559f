package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/internal/sso"
	"github.com/raas-console/console/web/templates"
)

// handleSSOStepUp sends a single sign-on operator back to the provider to authenticate
// again for a step-up route, keeping the request they were making (path and form fields)
// to post again afterwards.
func (h *Handler) handleSSOStepUp(c echo.Context) error {
	if h.SSO == nil || h.sessionMethod(c) != methodSSO {
		return userError(http.StatusUnprocessableEntity, "Not a single sign-on session",
			"Only operators signed in through single sign-on confirm a risky action at their identity provider.")
	}
	path := c.FormValue("_step_up_path")
	if safeNext(path) != path || !h.isStepUpPath(path) {
		return userError(http.StatusUnprocessableEntity, "Nothing to confirm", "This confirmation is not for an action of this console. Nothing was done.")
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	fields := url.Values{}
	for k, v := range form {
		if k != csrfField && !strings.HasPrefix(k, "_step_up") {
			fields[k] = v
		}
	}
	return h.toProvider(c, ssoFlow{stepUpPath: path, stepUpForm: fields.Encode()}, 0)
}

// isStepUpPath reports whether a POST to path is a StepUp route of the table.
func (h *Handler) isStepUpPath(path string) bool {
	return h.routeServes(http.MethodPost, path, func(r Route) bool { return r.StepUp })
}

// ssoSteppedUp accepts a re-authentication for a step-up: the same provider subject as
// the signed-in operator's, authenticated within the step-up window, groups still
// mapping to their role. The operator then confirms the saved request, nothing lost.
func (h *Handler) ssoSteppedUp(c echo.Context, f ssoFlow, id sso.Identity) error {
	self := currentOperator(c)
	if self == nil {
		return h.ssoRefuse(c, ssoRefusal{reason: "step-up without a session", status: http.StatusUnauthorized,
			msg: "Your session has ended. Sign in again; nothing was sent."})
	}
	op, err := h.Operators.ByID(c.Request().Context(), self.ID)
	if err != nil {
		return err
	}
	reason := ""
	role, mapped := h.SSO.Role(id.Groups)
	switch {
	case op.SSOSubject == nil || *op.SSOSubject != id.Issuer+"|"+id.Subject:
		reason = "another provider user"
	case id.AuthTime.IsZero() || h.Now().Sub(id.AuthTime) > h.stepUpWindow():
		reason = "authentication not recent"
	case !mapped || role != string(op.Role):
		reason = "role mapping changed"
	}
	if reason != "" {
		return h.stepUpRefused(c, id, reason)
	}
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	sess.Values[session.AuthTimeKey] = id.AuthTime.Unix()
	sess.Values[session.GroupsKey] = nonNil(id.Groups)
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	e := h.event(c, audit.ActionStepUp, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	e.Outcome = audit.OutcomeSucceeded
	e.Detail = audit.DetailJSON(map[string]any{"method": methodSSO, "path": f.stepUpPath, "amr": id.AMR,
		"auth_time": id.AuthTime.UTC().Format(time.RFC3339)})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	fields, _ := url.ParseQuery(f.stepUpForm)
	v := templates.SSOContinue{Action: f.stepUpPath, Provider: h.SSO.Name()}
	for k, vals := range fields {
		for _, val := range vals {
			v.Fields = append(v.Fields, templates.FormField{Name: k, Value: val})
		}
	}
	return render(c, http.StatusOK, templates.SSOContinuePage(h.page(c, "Confirm and continue"), v))
}

// stepUpRefused audits a re-authentication that does not count as a step-up and says why.
func (h *Handler) stepUpRefused(c echo.Context, id sso.Identity, reason string) error {
	e := h.event(c, audit.ActionStepUp, audit.Target{Type: "operator", ID: idString(currentOperator(c).ID), Label: currentOperator(c).Email})
	e.Outcome = audit.OutcomeFailed
	e.Detail = audit.DetailJSON(map[string]any{"method": methodSSO, "reason": reason})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	msg := map[string]string{
		"another provider user":     "You authenticated at " + h.SSO.Name() + " as someone else than the operator signed in here.",
		"authentication not recent": h.SSO.Name() + " did not authenticate you again just now.",
		"role mapping changed":      "Your groups at " + h.SSO.Name() + " no longer grant your console role.",
	}[reason]
	return userError(http.StatusForbidden, "Not confirmed", msg+" Nothing was done.")
}
