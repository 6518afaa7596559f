package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// emailPayload is what the executor of an approved e-mail change needs.
type emailPayload struct {
	ClientID int64  `json:"clientId"`
	Old      string `json:"old"`
	New      string `json:"new"`
}

func emailTitle(p *synerise.Profile) string { return "Change the e-mail address of " + customerName(p) }

func (h *Handler) emailPage(c echo.Context, status int, p *synerise.Profile, v templates.CustomerEmailChange) error {
	return render(c, status, templates.CustomerEmailPage(h.page(c, emailTitle(p)), v))
}

// emailView is the change-e-mail page of p; a customer without an address has nothing to
// change.
func (h *Handler) emailView(ctx context.Context, p *synerise.Profile) templates.CustomerEmailChange {
	v := templates.CustomerEmailChange{Details: h.details(ctx, p), OldEmail: p.Email, Nonce: newToken(),
		Approval: h.underApproval(approvals.ActionCustomerEmail), Errors: templates.FieldErrors{}}
	if p.Email == "" {
		v.Result = &templates.CustomerActionResult{Kind: "error", Title: "No e-mail address to change",
			Message: "This customer has no e-mail address in Synerise, so there is none to change. Nothing was done."}
	}
	return v
}

func (h *Handler) handleCustomerEmailForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	return h.emailPage(c, http.StatusOK, p, h.emailView(c.Request().Context(), p))
}

// readEmailChange reads and checks the form against the customer as now read: the new
// address, the reason, and the address the form was loaded with.
func (h *Handler) readEmailChange(c echo.Context, p *synerise.Profile) (templates.CustomerEmailChange, bool) {
	v := h.emailView(c.Request().Context(), p)
	if v.Result != nil {
		return v, false
	}
	v.NewEmail = strings.TrimSpace(c.FormValue("email"))
	v.Reason = readReason(c, v.Errors)
	v.Nonce = c.FormValue("nonce")
	if old := c.FormValue("old"); old != p.Email {
		v.FormError = "The customer's e-mail address changed since this form was opened: it is now " + p.Email +
			". Nothing was changed; check the new address below and send the form again."
		return v, false
	}
	if msg := checkNewEmail(v.NewEmail, p.Email); msg != "" {
		v.Errors["email"] = msg
	} else if msg, err := h.emailTaken(c.Request().Context(), v.NewEmail, p.ClientID); err != nil || msg != "" {
		if err != nil {
			v.FormError = "The console could not check whether another customer uses " + v.NewEmail + ": " + inOneParagraph(h.describe(err))
		}
		v.Errors["email"] = msg
	}
	return v, len(v.Errors) == 0 && v.FormError == ""
}

// checkNewEmail explains what is wrong with a new address for a customer whose address is
// current, or returns "".
func checkNewEmail(addr, current string) string {
	if msg := checkText(addr, maxSearchLength); msg != "" {
		return "The address " + msg + "."
	}
	switch {
	case addr == "":
		return "Type the new e-mail address."
	case !bareAddress(addr):
		return "Type one e-mail address only, such as ann@example.com, without a name or angle brackets."
	case strings.EqualFold(addr, current):
		return addr + " is already this customer's address. Type the new one."
	}
	return ""
}

// emailTaken says, in words, when another customer than clientID has the address.
func (h *Handler) emailTaken(ctx context.Context, addr string, clientID int64) (string, error) {
	other, err := h.Profiles.GetByEmail(ctx, addr)
	switch {
	case synerise.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", upstream(err)
	case other.ClientID == clientID:
		return "", nil
	}
	return addr + " is already the e-mail of another customer (clientId " + idString(other.ClientID) + "). Nothing was changed.", nil
}

// handleCustomerEmailConfirm checks the new address and shows the confirmation step,
// naming the old and the new address.
func (h *Handler) handleCustomerEmailConfirm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	v, ok := h.readEmailChange(c, p)
	if !ok {
		return h.emailPage(c, http.StatusUnprocessableEntity, p, v)
	}
	v.Confirm = true
	return h.emailPage(c, http.StatusOK, p, v)
}

// handleCustomerEmailChange asks for approval of the change or, when the change is not
// under approval, makes it: everything is checked again, uniqueness included.
func (h *Handler) handleCustomerEmailChange(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerEmailChange, attemptTarget(c), c.FormValue("reason"), err)
	}
	v, ok := h.readEmailChange(c, p)
	if !ok {
		return h.emailPage(c, http.StatusUnprocessableEntity, p, v)
	}
	key, err := h.claimForm(c, v.Nonce)
	if err != nil {
		return err
	}
	if v.Approval {
		return h.requestClaimed(c, key, changeRequest{
			Action: approvals.ActionCustomerEmail, Target: customerAuditTarget(p),
			Changes:     []approvals.Change{{Field: "E-mail", Old: p.Email, New: v.NewEmail}},
			Payload:     emailPayload{ClientID: p.ClientID, Old: p.Email, New: v.NewEmail},
			Fingerprint: p.Email, Reason: v.Reason,
		})
	}
	g := h.Profiles
	intent := emailIntent(h.event(c, audit.ActionCustomerEmailChange, customerAuditTarget(p)), p.Email, v.NewEmail, v.Reason)
	outcome, err := h.claimedCall(c, key, intent, func(ctx context.Context) error { return g.ChangeEmail(ctx, p.ClientID, v.NewEmail) })
	if errors.Is(err, errAuditUnavailable) {
		return err
	}
	var status int
	v.Result, status = h.actionResult(outcome, err, emailChangedWords(p.ClientID, p.Email, v.NewEmail), emailRefusal)
	if err == nil {
		v.Result.Title = "E-mail address changed"
		h.dropDraft(c, customerPath(p.ClientID)+"/email")
	}
	return h.emailPage(c, status, p, v)
}

// requestClaimed asks for approval of a change whose form token was claimed; when the
// request could not be stored the token is released, so the form may be sent again.
func (h *Handler) requestClaimed(c echo.Context, key string, r changeRequest) error {
	err := h.requestApproval(c, r)
	if err != nil && !c.Response().Committed {
		_ = h.Forms.Release(context.WithoutCancel(c.Request().Context()), key)
	}
	return err
}

// emailIntent is the audit intent of an e-mail change, the addresses before and after.
func emailIntent(e audit.Event, old, new, reason string) audit.Event {
	e.Reason = reason
	e.Before = audit.DetailJSON(map[string]string{"email": old})
	e.After = audit.DetailJSON(map[string]string{"email": new})
	return e
}

func emailChangedWords(clientID int64, old, new string) string {
	return "Synerise accepted the change: customer " + idString(clientID) + " now has the e-mail address " + new +
		". Searching for " + new + " finds them; " + old + " answers “no such customer”."
}

// emailRefusal puts Synerise's uniqueness refusal in words.
func emailRefusal(api *synerise.APIError) string {
	if (api.StatusCode == http.StatusBadRequest || api.StatusCode == http.StatusConflict) && hasEmailFieldError(api) {
		return "The new address is already the e-mail of another customer. Nothing was changed."
	}
	return ""
}

func hasEmailFieldError(api *synerise.APIError) bool {
	for _, fe := range api.FieldErrors {
		if strings.EqualFold(fe.Field, "email") {
			return true
		}
	}
	return false
}

// executeCustomerEmail makes an approved e-mail change: the customer is read again (an
// address that is no longer the old one leaves the request pending), uniqueness is checked
// again, and the change is sent between an audit intent and outcome naming the request.
func (h *Handler) executeCustomerEmail(c echo.Context, req approvals.Request) (string, error) {
	var pl emailPayload
	if err := json.Unmarshal(req.Payload, &pl); err != nil || pl.ClientID <= 0 {
		return "", fmt.Errorf("customers: e-mail change request #%d: unreadable payload", req.ID)
	}
	g := h.Profiles
	p, err := h.currentTarget(c, pl.ClientID, audit.ActionCustomerEmailChange, req)
	if err != nil {
		return "", err
	}
	if p.Email != pl.Old {
		return "", fmt.Errorf("%w: the customer's e-mail address is now %s, not %s as when the change was asked for", errTargetMoved, orNone(p.Email), pl.Old)
	}
	target := customerAuditTarget(p)
	if msg, err := h.emailTaken(c.Request().Context(), pl.New, p.ClientID); err != nil || msg != "" {
		if err == nil {
			err = userError(http.StatusConflict, "Address already used", msg)
		}
		return "", h.recordFailedAttempt(c, audit.ActionCustomerEmailChange, target, req.Reason, err)
	}
	intent := emailIntent(h.event(c, audit.ActionCustomerEmailChange, target), pl.Old, pl.New, req.Reason)
	intent.Detail = requestDetail(req)
	if _, err := h.auditedCall(c, intent, func(ctx context.Context) error { return g.ChangeEmail(ctx, p.ClientID, pl.New) }); err != nil {
		var api *synerise.APIError
		if errors.As(err, &api) && emailRefusal(api) != "" {
			return "", userError(http.StatusConflict, "Address already used", emailRefusal(api))
		}
		return "", err
	}
	return emailChangedWords(p.ClientID, pl.Old, pl.New), nil
}

// currentTarget reads the customer an approved request is about; a customer Synerise no
// longer has fails the execution in words, and the attempt is recorded.
func (h *Handler) currentTarget(c echo.Context, clientID int64, action audit.Action, req approvals.Request) (*synerise.Profile, error) {
	p, err := h.Profiles.Get(c.Request().Context(), clientID)
	if synerise.IsNotFound(err) {
		err = &publicError{status: http.StatusNotFound, title: "No such customer",
			msg: "Synerise has no customer with clientId " + idString(clientID) + " any more (erased or deleted since the request). Nothing was sent.", cause: err}
	} else if err != nil {
		err = upstream(err)
	}
	if err != nil {
		return nil, h.recordFailedAttempt(c, action, audit.Target{Type: customerTarget, ID: idString(clientID), Label: req.TargetLabel}, req.Reason, err)
	}
	return p, nil
}

// requestDetail names the approved request an execution carries out.
func requestDetail(req approvals.Request) json.RawMessage {
	return audit.DetailJSON(approvalDetail{Request: requestRef(req.ID), Kind: req.Action})
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
