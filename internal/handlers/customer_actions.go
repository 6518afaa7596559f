package handlers

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	settingsmodel "github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// outcomeUnknownWords is what the operator and the audit log are told when Synerise's
// answer never came.
const outcomeUnknownWords = "outcome unknown — check before retrying"

// The action kinds the confirm page offers.
const (
	actionPasswordReset   = "password-reset"
	actionActivationEmail = "activation-email"
	actionActivationPIN   = "activation-pin"
)

// auditedCall writes the intent, makes the call and writes the outcome. If the intent
// cannot be written the call is not made and errAuditUnavailable is returned. Otherwise
// the call's own error is returned, marked as Synerise's.
func (h *Handler) auditedCall(c echo.Context, intent audit.Event, call func(ctx context.Context) error) (audit.Outcome, error) {
	ctx := c.Request().Context()
	intent, err := h.Audit.Intent(ctx, intent)
	if err != nil {
		h.Logger.Error("audit intent", "err", err, "action", string(intent.Action), "request_id", requestID(c))
		return "", errAuditUnavailable
	}
	// From here on the write is Synerise's: it is sent, awaited (the client has its own
	// deadline) and its outcome recorded even if the operator's browser goes away.
	ctx = context.WithoutCancel(ctx)
	err = call(ctx)
	outcome := upstreamOutcome(err)
	if _, aerr := h.Audit.Outcome(ctx, intent, outcome, func(e *audit.Event) {
		if err != nil {
			recordUpstream(e, err)
		}
	}); aerr != nil {
		h.Logger.Error("audit outcome", "err", aerr, "request_id", requestID(c))
	}
	return outcome, upstream(err)
}

// upstreamOutcome is how a call to Synerise ended. Without an answer (timeout, dropped
// connection) nobody knows whether Synerise acted; a refusal or an open circuit means it
// did not.
func upstreamOutcome(err error) audit.Outcome {
	var api *synerise.APIError
	switch {
	case err == nil:
		return audit.OutcomeSucceeded
	case errors.As(err, &api) && (api.StatusCode == http.StatusBadGateway || api.StatusCode == http.StatusGatewayTimeout):
		// A gateway's 502 or 504 may come after Synerise itself has acted.
		return audit.OutcomeUnknown
	case errors.As(err, &api), synerise.IsCircuitOpen(err), synerise.IsInvalidInput(err):
		return audit.OutcomeFailed
	}
	return audit.OutcomeUnknown
}

// recordUpstream puts what Synerise answered into an audit event, in the words of the
// error funnel. A write whose answer never came is marked as of unknown outcome.
func recordUpstream(e *audit.Event, err error) {
	var api *synerise.APIError
	if errors.As(err, &api) {
		e.UpstreamStatus, e.TraceID = api.StatusCode, api.TraceID
	}
	e.UpstreamError = upstreamRecord(err)
	if e.Outcome == audit.OutcomeUnknown || (e.Outcome == "" && upstreamOutcome(err) == audit.OutcomeUnknown) {
		e.UpstreamError = outcomeUnknownWords + ": " + e.UpstreamError
	}
}

// actionResult puts the end of an account action in words.
func (h *Handler) actionResult(outcome audit.Outcome, err error, done string, refusal func(*synerise.APIError) string) (*templates.CustomerActionResult, int) {
	if err == nil {
		return &templates.CustomerActionResult{Kind: "success", Title: "Sent", Message: done}, http.StatusOK
	}
	v := h.describe(err)
	if outcome == audit.OutcomeUnknown {
		return &templates.CustomerActionResult{Kind: "unknown", Title: "Outcome unknown — check before retrying",
			Message: v.Message + " Synerise may or may not have acted: look at the sandbox outbox or ask the customer before sending again."}, v.Status
	}
	r := &templates.CustomerActionResult{Kind: "error", Title: v.Title, Message: v.Message}
	var api *synerise.APIError
	if errors.As(err, &api) {
		r.TraceID = api.TraceID
		if refusal != nil {
			if msg := refusal(api); msg != "" {
				r.Title, r.Message = "Synerise refused", msg
				return r, http.StatusUnprocessableEntity
			}
		}
	}
	return r, v.Status
}

// accountRefusal explains Synerise's refusals of the account actions in the terms of
// the contract: 400 when the action does not apply to the account's state.
func accountRefusal(api *synerise.APIError) string {
	if api.StatusCode != http.StatusBadRequest {
		return ""
	}
	msg := strings.ToLower(api.Message)
	switch {
	case strings.Contains(msg, "already activated"):
		return "The account is already activated, so there is nothing to resend. Nothing was sent."
	case strings.Contains(msg, "not registered"):
		return "This customer has no password account (they never registered with a password), so Synerise has nothing to send. Nothing was sent."
	case strings.Contains(msg, "anonymous"):
		return "This is an anonymous profile without an account. Nothing was sent."
	}
	return "Synerise refused: " + apiErrorWords(api) + " Nothing was sent."
}

func (h *Handler) actionPage(c echo.Context, status int, title string, v templates.CustomerAction) error {
	if isHTMX(c) {
		return render(c, status, templates.CustomerActionPanel(csrfToken(c), v))
	}
	return render(c, status, templates.CustomerActionPage(h.page(c, title), v))
}

// readReason checks the required reason of a change.
func readReason(c echo.Context, errs templates.FieldErrors) string {
	reason := strings.TrimSpace(c.FormValue("reason"))
	if msg := checkMultiline(reason, maxReasonLength); msg != "" {
		errs["reason"] = "The reason " + msg + "."
	} else if reason == "" {
		errs["reason"] = "Give a reason: free text or a ticket reference."
	}
	return reason
}

func passwordResetTitle(p *synerise.Profile) string { return "Password reset for " + customerName(p) }

func (h *Handler) passwordResetView(ctx context.Context, p *synerise.Profile) templates.CustomerAction {
	v := templates.CustomerAction{Details: h.details(ctx, p), Email: p.Email, Kind: actionPasswordReset,
		Action: customerPath(p.ClientID) + "/password-reset", Nonce: newFormNonce()}
	if _, known := p.EmailConfirmed(); !known || p.Anonymous || p.Email == "" {
		v.Unavailable = "This customer has no password account, so there is no password to reset."
	}
	return v
}

// handlePasswordResetForm is the confirm step: it names the e-mail the reset goes to.
func (h *Handler) handlePasswordResetForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	return h.actionPage(c, http.StatusOK, passwordResetTitle(p), h.passwordResetView(c.Request().Context(), p))
}

// handlePasswordReset asks Synerise to e-mail the customer a reset token. It is sent
// once: never retried, and a second submit of the same form is refused.
func (h *Handler) handlePasswordReset(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerPasswordReset, attemptTarget(c), c.FormValue("reason"), err)
	}
	v := h.passwordResetView(c.Request().Context(), p)
	if v.Unavailable != "" {
		return h.actionPage(c, http.StatusUnprocessableEntity, passwordResetTitle(p), v)
	}
	v.Errors = templates.FieldErrors{}
	v.Reason = readReason(c, v.Errors)
	v.Nonce = c.FormValue("nonce")
	if len(v.Errors) > 0 {
		return h.actionPage(c, http.StatusUnprocessableEntity, passwordResetTitle(p), v)
	}
	key, err := h.claimForm(c, v.Nonce)
	if err != nil {
		return err
	}
	intent := h.event(c, audit.ActionCustomerPasswordReset, customerAuditTarget(p))
	intent.Reason = v.Reason
	intent.Detail = audit.DetailJSON(map[string]string{"email": p.Email})
	outcome, err := h.auditedCall(c, intent, func(ctx context.Context) error {
		return h.Accounts.RequestPasswordReset(ctx, p.Email)
	})
	if errors.Is(err, errAuditUnavailable) || synerise.IsCircuitOpen(err) {
		h.forms.release(c.Request().Context(), key)
	}
	if errors.Is(err, errAuditUnavailable) {
		return err
	}
	var status int
	v.Result, status = h.actionResult(outcome, err,
		"Synerise accepted the request and e-mails a password reset link to "+p.Email+". The customer chooses the new password.", accountRefusal)
	return h.actionPage(c, status, passwordResetTitle(p), v)
}

func activationTitle(p *synerise.Profile) string { return "Resend activation for " + customerName(p) }

// activationView reads the workspace's registration type and offers the matching resend.
func (h *Handler) activationView(ctx context.Context, p *synerise.Profile) (templates.CustomerAction, error) {
	v := templates.CustomerAction{Details: h.details(ctx, p), Email: p.Email,
		Action: customerPath(p.ClientID) + "/activation", Nonce: newFormNonce()}
	confirmed, known := p.EmailConfirmed()
	switch {
	case p.Anonymous || p.Email == "" || !known:
		v.Kind, v.Unavailable = "none", "This customer has no password account, so there is no activation to resend."
		return v, nil
	case confirmed:
		v.Kind, v.Unavailable = "none", "The account is already activated; there is nothing to resend."
		return v, nil
	}
	settings, err := h.Settings.Get(ctx)
	if err != nil {
		return v, upstream(err)
	}
	reg := registrationOf(settings)
	v.Details = customerDetails(p, reg)
	v.RegistrationType = reg.kind
	switch reg.kind {
	case registrationAutomatic:
		v.Kind, v.Unavailable = "none", "This workspace registers accounts automatically (registration type AUTOMATIC): accounts are usable at once and need no activation, so there is nothing to resend."
		return v, nil
	case registrationEmailConfirmation, registrationEmailActivation:
		v.Kind = actionActivationEmail
		return v, nil
	case registrationPIN:
	default:
		v.Kind, v.Unavailable = "none", "This workspace uses registration type "+reg.kind+", which this console does not know, so it offers no activation action. Nothing can be sent from here."
		return v, nil
	}
	v.Kind = actionActivationPIN
	v.AllowDifferentDevice = "unknown"
	v.DeviceRuleSetting = deviceRuleSetting()
	if allow, ok := settings.AllowPinResendFromDifferentDeviceID(); ok {
		v.AllowDifferentDevice = map[bool]string{true: "on", false: "off"}[allow]
	}
	if raw, ok := p.Attributes["snrs_last_pin_device_id"]; ok {
		v.KnownDeviceID = attributeText(raw)
	}
	v.DeviceID = v.KnownDeviceID
	return v, nil
}

func (h *Handler) handleActivationForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	v, err := h.activationView(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return h.actionPage(c, http.StatusOK, activationTitle(p), v)
}

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// handleActivationResend resends the activation e-mail or PIN. Which one is decided
// here from the workspace's settings, not by the form.
func (h *Handler) handleActivationResend(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerActivationResend, attemptTarget(c), c.FormValue("reason"), err)
	}
	title := activationTitle(p)
	v, err := h.activationView(c.Request().Context(), p)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerActivationResend, customerAuditTarget(p), c.FormValue("reason"), err)
	}
	if v.Unavailable != "" {
		return h.actionPage(c, http.StatusUnprocessableEntity, title, v)
	}
	v.Errors = templates.FieldErrors{}
	v.Reason = readReason(c, v.Errors)
	v.Nonce = c.FormValue("nonce")
	if v.Kind == actionActivationPIN {
		v.DeviceID = strings.TrimSpace(c.FormValue("deviceId"))
		switch msg := checkText(v.DeviceID, 128); {
		case msg != "":
			v.Errors["deviceId"] = "The device id " + msg + "."
		case v.DeviceID == "":
			v.Errors["deviceId"] = "Type the device id the customer reads from their app."
		case !deviceIDPattern.MatchString(v.DeviceID):
			v.Errors["deviceId"] = "A device id has only letters, digits and . _ : - (no spaces)."
		}
	}
	if len(v.Errors) > 0 {
		return h.actionPage(c, http.StatusUnprocessableEntity, title, v)
	}
	key, err := h.claimForm(c, v.Nonce)
	if err != nil {
		return err
	}
	action, done := audit.ActionCustomerActivationResend, "Synerise accepted the request and e-mails a new activation link to "+p.Email+"."
	detail := map[string]string{"email": p.Email, "registrationType": v.RegistrationType}
	call := func(ctx context.Context) error { return h.Accounts.ResendActivationEmail(ctx, p.Email) }
	if v.Kind == actionActivationPIN {
		action, done = audit.ActionCustomerPINResend, "Synerise accepted the request and e-mails a new PIN to "+p.Email+
			". The customer must type it on device "+v.DeviceID+"."
		detail["deviceId"] = v.DeviceID
		detail["knownDeviceId"] = v.KnownDeviceID
		call = func(ctx context.Context) error {
			return h.Accounts.RequestActivationPIN(ctx, synerise.PINRequest{Email: p.Email, UUID: p.UUID, DeviceID: v.DeviceID})
		}
	}
	intent := h.event(c, action, customerAuditTarget(p))
	intent.Reason = v.Reason
	intent.Detail = audit.DetailJSON(detail)
	outcome, err := h.auditedCall(c, intent, call)
	if errors.Is(err, errAuditUnavailable) || synerise.IsCircuitOpen(err) {
		h.forms.release(c.Request().Context(), key)
	}
	if errors.Is(err, errAuditUnavailable) {
		return err
	}
	var status int
	v.Result, status = h.actionResult(outcome, err, done, func(api *synerise.APIError) string {
		if api.StatusCode == http.StatusForbidden && v.Kind == actionActivationPIN {
			return pinDeviceRefusal(v)
		}
		return accountRefusal(api)
	})
	return h.actionPage(c, status, title, v)
}

// attemptTarget is the customer a request is about when the customer could not be read:
// the clientId from the path only.
func attemptTarget(c echo.Context) audit.Target {
	return audit.Target{Type: customerTarget, ID: c.Param("id")}
}

// pinDeviceRefusal explains a 403 on a PIN resend by the PIN device rule.
func pinDeviceRefusal(v templates.CustomerAction) string {
	msg := "Synerise refused to send a PIN for device " + v.DeviceID + " because of the PIN device rule: a PIN may be re-sent only for the device that last requested one"
	if v.KnownDeviceID != "" && v.KnownDeviceID != v.DeviceID {
		msg += " (here " + v.KnownDeviceID + ")"
	}
	name := v.DeviceRuleSetting
	msg += ", and the setting “" + name + "” is off in this workspace. Nothing was sent. " +
		"Check the device id with the customer: it must be the one their app shows on the device they registered with. " +
		"If they changed phones, an admin can turn “" + name + "” on in the RaaS settings — the new device then takes over the PIN."
	return msg
}

// deviceRuleSetting names the PIN device rule's setting as the settings page labels it,
// with its Synerise key.
func deviceRuleSetting() string {
	key := synerise.KeyAllowPinResendFromDifferentDeviceID
	if f, ok := settingsmodel.Lookup(key); ok {
		return f.Label + " (" + key + ")"
	}
	return key
}

// handleSandboxOutbox shows what the simulator would have e-mailed. It exists only in
// sandbox mode.
func (h *Handler) handleSandboxOutbox(c echo.Context) error {
	if h.Outbox == nil {
		return errNotFound
	}
	msgs := h.Outbox.Outbox()
	v := templates.SandboxOutbox{Rows: make([]templates.OutboxRow, 0, len(msgs))}
	for _, m := range slices.Backward(msgs) {
		row := templates.OutboxRow{Kind: outboxKindWords(string(m.Kind)), Email: m.Email, Secret: m.Secret,
			Link: m.Link, DeviceID: m.DeviceID, Time: m.Time.UTC().Format(customerTimeUTC)}
		if m.ClientID > 0 {
			row.Href = customerPath(m.ClientID)
		}
		v.Rows = append(v.Rows, row)
	}
	return render(c, http.StatusOK, templates.SandboxOutboxPage(h.page(c, "Sandbox outbox"), v))
}

func outboxKindWords(kind string) string {
	switch kind {
	case "password_reset":
		return "Password reset"
	case "activation":
		return "Activation e-mail"
	case "pin":
		return "Activation PIN"
	}
	return kind
}
