package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	settingsmodel "github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

func activationTitle(p *synerise.Profile) string { return "Resend activation for " + customerName(p) }

// activationView reads the workspace's registration type and offers the matching resend.
func (h *Handler) activationView(ctx context.Context, p *synerise.Profile) (templates.CustomerAction, error) {
	v := templates.CustomerAction{Email: p.Email,
		Action: customerPath(p.ClientID) + "/activation", Nonce: newToken()}
	confirmed, _ := p.EmailConfirmed()
	switch {
	case !hasPasswordAccount(p):
		v.Details = h.details(ctx, p)
		v.Kind, v.Unavailable = "none", "This customer has no password account, so there is no activation to resend."
		return v, nil
	case confirmed:
		v.Details = h.details(ctx, p)
		v.Kind, v.Unavailable = "none", "The account is already activated; there is nothing to resend."
		return v, nil
	}
	// The resend is decided on the settings as they are now, not as remembered; what is
	// read is remembered for the pages that follow.
	settings, err := h.Settings.Get(ctx)
	if err != nil {
		return v, upstream(err)
	}
	reg := h.rememberRegistration(settings)
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
		if msg := checkDeviceID(v.DeviceID); msg != "" {
			v.Errors["deviceId"] = msg
		}
	}
	if len(v.Errors) > 0 {
		return h.actionPage(c, http.StatusUnprocessableEntity, title, v)
	}
	key, err := h.claimForm(c, v.Nonce)
	if err != nil {
		return err
	}
	action, detail, call, done := h.activationResend(p, v)
	intent := h.event(c, action, customerAuditTarget(p))
	intent.Reason = v.Reason
	intent.Detail = audit.DetailJSON(detail)
	var status int
	v.Result, status, err = h.sendAccountAction(c, key, intent, call, done, func(api *synerise.APIError) string {
		if api.StatusCode == http.StatusForbidden && v.Kind == actionActivationPIN {
			return pinDeviceRefusal(v.DeviceID, v.KnownDeviceID, v.DeviceRuleSetting)
		}
		return accountRefusal(api)
	})
	if err != nil {
		return err
	}
	return h.actionPage(c, status, title, v)
}

// checkDeviceID says what is wrong with a device id typed for a PIN resend.
func checkDeviceID(id string) string {
	switch msg := checkText(id, 128); {
	case msg != "":
		return "The device id " + msg + "."
	case id == "":
		return "Type the device id the customer reads from their app."
	case !deviceIDPattern.MatchString(id):
		return "A device id has only letters, digits and . _ : - (no spaces)."
	}
	return ""
}

// activationResend is the resend the confirmed form asks for: the activation e-mail, or a
// PIN for the device the operator typed; its action, audit detail, call and success words.
func (h *Handler) activationResend(p *synerise.Profile, v templates.CustomerAction) (audit.Action, map[string]string, func(context.Context) error, string) {
	detail := map[string]string{"email": p.Email, "registrationType": v.RegistrationType}
	if v.Kind != actionActivationPIN {
		return audit.ActionCustomerActivationResend, detail,
			func(ctx context.Context) error { return h.Accounts.ResendActivationEmail(ctx, p.Email) },
			"Synerise accepted the request and e-mails a new activation link to " + p.Email + "."
	}
	detail["deviceId"] = v.DeviceID
	detail["knownDeviceId"] = v.KnownDeviceID
	return audit.ActionCustomerPINResend, detail,
		func(ctx context.Context) error {
			return h.Accounts.RequestActivationPIN(ctx, synerise.PINRequest{Email: p.Email, UUID: p.UUID, DeviceID: v.DeviceID})
		},
		"Synerise accepted the request and e-mails a new PIN to " + p.Email + ". The customer must type it on device " + v.DeviceID + "."
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
