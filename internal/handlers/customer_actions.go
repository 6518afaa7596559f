package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// The action kinds the confirm page offers.
const (
	actionPasswordReset   = "password-reset"
	actionActivationEmail = "activation-email"
	actionActivationPIN   = "activation-pin"
)

func (h *Handler) actionPage(c echo.Context, status int, title string, v templates.CustomerAction) error {
	if isHTMX(c) {
		return render(c, status, templates.CustomerActionPanel(csrfToken(c), v))
	}
	return render(c, status, templates.CustomerActionPage(h.page(c, title), v))
}

// readReason checks the required reason of a change.
func readReason(c echo.Context, errs templates.FieldErrors) string {
	reason := strings.TrimSpace(c.FormValue("reason"))
	if msg := checkReason(reason); msg != "" {
		errs["reason"] = msg
	}
	return reason
}

// checkReason explains what is wrong with the required reason of a customer change.
func checkReason(reason string) string {
	if msg := checkMultiline(reason, maxReasonLength); msg != "" {
		return "The reason " + msg + "."
	}
	if reason == "" {
		return "Give a reason: free text or a ticket reference."
	}
	return ""
}

func passwordResetTitle(p *synerise.Profile) string { return "Password reset for " + customerName(p) }

func (h *Handler) passwordResetView(ctx context.Context, p *synerise.Profile) templates.CustomerAction {
	v := templates.CustomerAction{Details: h.details(ctx, p), Email: p.Email, Kind: actionPasswordReset,
		Action: customerPath(p.ClientID) + "/password-reset", Nonce: newToken()}
	if !hasPasswordAccount(p) {
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
	call := func(ctx context.Context) error { return h.Accounts.RequestPasswordReset(ctx, p.Email) }
	var status int
	v.Result, status, err = h.sendAccountAction(c, key, intent, call,
		"Synerise accepted the request and e-mails a password reset link to "+p.Email+". The customer chooses the new password.", accountRefusal)
	if err != nil {
		return err
	}
	return h.actionPage(c, status, passwordResetTitle(p), v)
}

// sendAccountAction makes an account action's call to Synerise, audited, for the claimed
// form key, and puts its end in words for the page. When nothing reached Synerise (the
// intent could not be written, the circuit was open) the form may be sent again.
func (h *Handler) sendAccountAction(c echo.Context, key string, intent audit.Event, call func(context.Context) error,
	done string, refusal func(*synerise.APIError) string,
) (*templates.CustomerActionResult, int, error) {
	outcome, err := h.claimedCall(c, key, intent, call)
	if errors.Is(err, errAuditUnavailable) {
		return nil, 0, err
	}
	result, status := h.actionResult(outcome, err, done, refusal)
	if err == nil {
		// The action's form is on the page of the same path.
		h.dropDraft(c, c.Request().URL.Path)
	}
	return result, status, nil
}

// attemptTarget is the customer a request is about when the customer could not be read:
// the clientId from the path only, when it is one.
func attemptTarget(c echo.Context) audit.Target {
	t := audit.Target{Type: customerTarget}
	if id, err := customerID(c); err == nil {
		t.ID = idString(id)
	}
	return t
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
