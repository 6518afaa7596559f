package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/passkey"
	"github.com/raas-console/console/web/templates"
)

// passkeyIDParam is the :id of a passkey route.
func passkeyIDParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// passkeyName checks the name an operator gives a passkey; the message is empty when it
// is fine.
func passkeyName(raw string) (string, string) {
	name := strings.TrimSpace(raw)
	if name == "" {
		return "", "Give the passkey a name, such as the device it is on."
	}
	if msg := checkText(name, 100); msg != "" {
		return "", "The name " + msg + "."
	}
	return name, ""
}

// passkeyOwner is the signed-in operator as read now, with what the passkey pages need
// that the session does not carry (single sign-on).
func (h *Handler) passkeyOwner(c echo.Context) (operators.Operator, passkey.Owner, error) {
	op, err := h.Operators.ByID(c.Request().Context(), currentOperator(c).ID)
	if err != nil {
		return op, passkey.Owner{}, err
	}
	return op, passkey.Owner{ID: op.ID, Email: op.Email, Name: op.Name}, nil
}

// handlePasskeys lists the operator's passkeys and offers to add one.
func (h *Handler) handlePasskeys(c echo.Context) error {
	op, _, err := h.passkeyOwner(c)
	if err != nil {
		return err
	}
	list, err := h.Passkeys.List(c.Request().Context(), op.ID)
	if err != nil {
		return err
	}
	v := templates.Passkeys{SSO: op.SSO, Enrol: h.enrolmentRequired(c)}
	for _, pk := range list {
		row := templates.PasskeyRow{ID: pk.ID, Name: pk.Name, Added: pk.CreatedAt.UTC().Format(passkeyTime), LastUsed: "never"}
		if pk.LastUsedAt != nil {
			row.LastUsed = pk.LastUsedAt.UTC().Format(passkeyTime)
		}
		v.Rows = append(v.Rows, row)
	}
	p := h.page(c, "Passkeys")
	if v.Enrol {
		p.Nav = nil
	}
	return render(c, http.StatusOK, templates.PasskeysPage(p, v))
}

// passkeyTime is how the passkeys page shows times.
const passkeyTime = "2006-01-02 15:04 UTC"

// handlePasskeyAddOptions begins registering a passkey under the name the operator gave.
func (h *Handler) handlePasskeyAddOptions(c echo.Context) error {
	op, owner, err := h.passkeyOwner(c)
	if err != nil {
		return err
	}
	if op.SSO {
		return passkeyJSONError(c, http.StatusForbidden, "You sign in through single sign-on: your identity provider manages your second factors.")
	}
	name, msg := passkeyName(c.FormValue("name"))
	if msg != "" {
		return passkeyJSONError(c, http.StatusUnprocessableEntity, msg)
	}
	creation, cer, err := h.Passkeys.BeginRegistration(c.Request().Context(), owner, name)
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, cer); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creation)
}

// handlePasskeyAdd finishes registering a passkey: the authenticator's answer in the
// credential field. The new passkey proves a second factor, so it ends a required
// enrolment.
func (h *Handler) handlePasskeyAdd(c echo.Context) error {
	_, owner, err := h.passkeyOwner(c)
	if err != nil {
		return err
	}
	cer, err := h.takeCeremony(c, passkey.PurposeRegister, owner.ID)
	var pk passkey.Passkey
	if err == nil {
		pk, err = h.Passkeys.FinishRegistration(c.Request().Context(), owner, cer, []byte(c.FormValue("credential")))
	}
	reason, refused := refusalReason(err)
	if errors.Is(err, passkey.ErrExists) {
		reason, refused = "passkey already registered", true
	}
	if refused {
		e := h.event(c, audit.ActionPasskeyAdd, audit.Target{Type: "operator", ID: idString(owner.ID), Label: owner.Email})
		e.Outcome, e.Detail = audit.OutcomeFailed, audit.DetailJSON(map[string]string{"reason": reason, "name": cer.Name})
		if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
			return errAuditUnavailable
		}
		return h.redirectWithFlash(c, passkeysPath, "error", "The passkey was not added: the request expired, was already used, or the authenticator's answer was not accepted. Try again.")
	}
	if err != nil {
		return err
	}
	e := h.event(c, audit.ActionPasskeyAdd, audit.Target{Type: "operator", ID: idString(owner.ID), Label: owner.Email})
	e.Outcome, e.Detail = audit.OutcomeSucceeded, audit.DetailJSON(map[string]string{"name": pk.Name, "credential": pk.IDPrefix()})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	if err := h.factorProved(c); err != nil {
		return err
	}
	return h.redirectWithFlash(c, passkeysPath, "success", "Passkey “"+pk.Name+"” added. You can now sign in with it.")
}

// handlePasskeyRemove removes one of the operator's passkeys, unless it is the last second
// factor of an operator the policy requires one of.
func (h *Handler) handlePasskeyRemove(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := passkeyIDParam(c)
	if err != nil {
		return err
	}
	op, _, err := h.passkeyOwner(c)
	if err != nil {
		return err
	}
	list, err := h.Passkeys.List(ctx, op.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(pk passkey.Passkey) bool { return pk.ID == id })
	if i < 0 {
		return errNotFound
	}
	target := audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email}
	named := map[string]string{"name": list[i].Name, "credential": list[i].IDPrefix()}
	if last, err := h.lastSecondFactor(ctx, op, len(list)); err != nil {
		return err
	} else if last {
		e := h.event(c, audit.ActionPasskeyRemove, target)
		named["reason"] = "last second factor required by policy"
		e.Outcome, e.Detail = audit.OutcomeFailed, audit.DetailJSON(named)
		if _, err := h.Audit.Append(ctx, e); err != nil {
			return errAuditUnavailable
		}
		return h.redirectWithFlash(c, passkeysPath, "error", "This is your only second factor and the console requires one for your account: add another passkey or an authenticator app before removing it.")
	}
	intent := h.event(c, audit.ActionPasskeyRemove, target)
	intent.Detail = audit.DetailJSON(named)
	if _, err := h.perform(c, consoleOperation(intent, func(ctx context.Context) error {
		_, err := h.Passkeys.Remove(ctx, op.ID, id)
		return err
	}, func() []byte { return audit.DetailJSON(map[string]any{"removed": named}) })); errors.Is(err, passkey.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return h.redirectWithFlash(c, passkeysPath, "success", "Passkey “"+list[i].Name+"” removed.")
}

// lastSecondFactor reports whether removing one of op's passkeys (they have passkeys)
// would leave them without the second factor the policy requires of them.
func (h *Handler) lastSecondFactor(ctx context.Context, op operators.Operator, passkeys int) (bool, error) {
	if op.SSO || !h.mfaRequired(op) || passkeys > 1 {
		return false, nil
	}
	if h.TOTP != nil {
		totp, err := h.TOTP.Enrolled(ctx, op.ID)
		if err != nil || totp {
			return false, err
		}
	}
	return true, nil
}
