package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/mfa"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/web/templates"
)

// securityPage is the layout for the security pages; during a required enrolment
// without the navigation, whose pages would only send the operator back.
func (h *Handler) securityPage(c echo.Context, title string) templates.Page {
	p := h.page(c, title)
	if h.enrolmentRequired(c) {
		p.Nav = nil
	}
	return p
}

var errSSOFactor = userError(http.StatusConflict, "Handled by your provider",
	"You signed in with single sign-on: your identity provider handles your second factor. Nothing was changed.")

func (h *Handler) handleSecurity(c echo.Context) error {
	ctx := c.Request().Context()
	op := currentOperator(c)
	v := templates.Security{Enrol: h.enrolmentRequired(c), PasskeysOn: h.Passkeys != nil}
	if h.sessionMethod(c) == methodSSO {
		v.SSOName = "your identity provider"
		if h.SSO != nil {
			v.SSOName = h.SSO.Name()
		}
	}
	var err error
	if h.Passkeys != nil {
		if v.Passkeys, err = h.Passkeys.Count(ctx, op.ID); err != nil {
			return err
		}
	}
	if h.TOTP != nil && v.SSOName == "" {
		if v.TOTP, err = h.TOTP.Enrolled(ctx, op.ID); err != nil {
			return err
		}
		if v.RecoveryLeft, err = h.TOTP.RecoveryCodesLeft(ctx, op.ID); err != nil {
			return err
		}
		v.RemoveBlocked = h.removeBlocked(*op, v.Passkeys)
	}
	return render(c, http.StatusOK, templates.SecurityPage(h.securityPage(c, "Sign-in security"), v))
}

// removeBlocked says why op may not remove their authenticator app: policy requires a
// second factor and it is their only one. Empty when they may.
func (h *Handler) removeBlocked(op operators.Operator, passkeys int) string {
	if !h.mfaRequired(op) || passkeys > 0 {
		return ""
	}
	return "This console requires a second factor for your account, and the app is your only one: add a passkey or set up a different app before removing it."
}

// handleTOTPSetup shows the secret being set up, making one when there is none; a
// reload shows the same secret, so a scanned QR code stays good.
func (h *Handler) handleTOTPSetup(c echo.Context) error {
	op, err := h.mfaOperator(c)
	if err != nil {
		return err
	}
	if h.sessionMethod(c) == methodSSO {
		return errSSOFactor
	}
	ctx := c.Request().Context()
	enr, err := h.TOTP.Pending(ctx, op.ID)
	if errors.Is(err, mfa.ErrNoPending) {
		enr, err = h.TOTP.Begin(ctx, op.ID, op.Email)
	}
	if err != nil {
		return err
	}
	return h.renderTOTPSetup(c, http.StatusOK, enr, "")
}

func (h *Handler) renderTOTPSetup(c echo.Context, status int, enr mfa.Enrolment, msg string) error {
	replacing, err := h.TOTP.Enrolled(c.Request().Context(), currentOperator(c).ID)
	if err != nil {
		return err
	}
	v := templates.TOTPSetup{Secret: enr.GroupedSecret(), Replacing: replacing, Error: msg}
	return render(c, status, templates.TOTPSetupPage(h.securityPage(c, "Set up an authenticator app"), v))
}

// handleTOTPQRCode serves the secret being set up as a QR code: an image of its own,
// since the CSP refuses data: URLs.
func (h *Handler) handleTOTPQRCode(c echo.Context) error {
	op, err := h.mfaOperator(c)
	if err != nil {
		return err
	}
	enr, err := h.TOTP.Pending(c.Request().Context(), op.ID)
	if errors.Is(err, mfa.ErrNoPending) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	png, err := enr.QRCode()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

// handleTOTPConfirm makes the secret being set up the operator's when the code is right,
// and shows the ten recovery codes once.
func (h *Handler) handleTOTPConfirm(c echo.Context) error {
	op, err := h.mfaOperator(c)
	if err != nil {
		return err
	}
	if h.sessionMethod(c) == methodSSO {
		return errSSOFactor
	}
	code := strings.ReplaceAll(strings.TrimSpace(c.FormValue("code")), " ", "")
	var codes []string
	intent := h.event(c, audit.ActionTOTPEnrol, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	_, err = h.perform(c, consoleOperation(intent, func(ctx context.Context) error {
		codes, err = h.TOTP.Confirm(ctx, op.ID, code, h.Now())
		return err
	}, nil))
	switch {
	case errors.Is(err, mfa.ErrNoPending):
		return c.Redirect(http.StatusSeeOther, totpPath)
	case errors.Is(err, mfa.ErrWrongCode):
		enr, perr := h.TOTP.Pending(c.Request().Context(), op.ID)
		if perr != nil {
			return perr
		}
		return h.renderTOTPSetup(c, http.StatusUnprocessableEntity, enr,
			"That code is not right. Check that the app shows the key above and enter its current six-digit code.")
	case err != nil:
		return err
	}
	if err := h.recordRecoveryCodes(c, *op, "authenticator app set up"); err != nil {
		return err
	}
	return h.showRecoveryCodes(c, codes, true)
}

// showRecoveryCodes shows new recovery codes once, after counting the factor just proved
// (it ends a required enrolment).
func (h *Handler) showRecoveryCodes(c echo.Context, codes []string, appSetUp bool) error {
	if err := h.factorProved(c); err != nil {
		return err
	}
	v := templates.RecoveryCodes{Codes: codes, AppSetUp: appSetUp, Continue: securityPath}
	if appSetUp {
		v.Continue = "/"
	}
	return render(c, http.StatusOK, templates.RecoveryCodesPage(h.page(c, "Your recovery codes"), v))
}

// recordRecoveryCodes writes that op got new recovery codes (how many, never which).
func (h *Handler) recordRecoveryCodes(c echo.Context, op operators.Operator, why string) error {
	e := h.event(c, audit.ActionRecoveryCodes, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	e.Outcome = audit.OutcomeSucceeded
	e.Detail = audit.DetailJSON(map[string]any{"count": mfa.RecoveryCodeCount, "why": why})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	return nil
}

// handleRecoveryCodes replaces the operator's recovery codes (a step-up route).
func (h *Handler) handleRecoveryCodes(c echo.Context) error {
	op, err := h.mfaOperator(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if enrolled, err := h.TOTP.Enrolled(ctx, op.ID); err != nil || !enrolled {
		if err != nil {
			return err
		}
		return userError(http.StatusConflict, "No authenticator app", "Recovery codes come with an authenticator app; set one up first. Nothing was changed.")
	}
	var codes []string
	intent := h.event(c, audit.ActionRecoveryCodes, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	intent.Detail = audit.DetailJSON(map[string]any{"count": mfa.RecoveryCodeCount, "why": "asked for new codes"})
	if _, err = h.perform(c, consoleOperation(intent, func(ctx context.Context) error {
		codes, err = h.TOTP.RegenerateRecoveryCodes(ctx, op.ID, h.Now())
		return err
	}, nil)); err != nil {
		return err
	}
	return h.showRecoveryCodes(c, codes, false)
}

// handleTOTPRemove removes the operator's authenticator app (a step-up route), unless
// policy requires a second factor and it is their only one.
func (h *Handler) handleTOTPRemove(c echo.Context) error {
	op, err := h.mfaOperator(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	passkeys := 0
	if h.Passkeys != nil {
		if passkeys, err = h.Passkeys.Count(ctx, op.ID); err != nil {
			return err
		}
	}
	target := audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email}
	if why := h.removeBlocked(*op, passkeys); why != "" {
		e := h.event(c, audit.ActionTOTPRemove, target)
		e.Outcome, e.Detail = audit.OutcomeDenied, audit.DetailJSON(map[string]string{"reason": "only second factor, policy requires one"})
		if _, err := h.Audit.Append(ctx, e); err != nil {
			return errAuditUnavailable
		}
		return userError(http.StatusConflict, "Second factor required", why+" Nothing was changed.")
	}
	intent := h.event(c, audit.ActionTOTPRemove, target)
	if _, err := h.perform(c, consoleOperation(intent, func(ctx context.Context) error {
		return h.TOTP.Remove(ctx, op.ID)
	}, nil)); err != nil {
		return err
	}
	return h.redirectWithFlash(c, securityPath, "success", "The authenticator app and its recovery codes were removed.")
}
