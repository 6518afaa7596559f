package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/profile"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// erasePayload is what the executor of an approved erasure needs.
type erasePayload struct {
	ClientID    int64  `json:"clientId"`
	Email       string `json:"email"`
	Fingerprint string `json:"fingerprint"`
}

func eraseTitle(p *synerise.Profile) string { return "Erase " + customerName(p) }

func (h *Handler) erasePage(c echo.Context, status int, p *synerise.Profile, v templates.CustomerErase) error {
	return render(c, status, templates.CustomerErasePage(h.page(c, eraseTitle(p)), v))
}

// eraseView shows what an erasure deletes and asks to type the customer's e-mail or, for a
// profile without one, the clientId.
func (h *Handler) eraseView(ctx context.Context, p *synerise.Profile) templates.CustomerErase {
	v := templates.CustomerErase{Details: h.details(ctx, p), Nonce: newToken(), Errors: templates.FieldErrors{},
		Approval:     h.underApproval(approvals.ActionCustomerErase),
		ConfirmLabel: "Type the customer's e-mail address to confirm",
		ConfirmHint:  "Type " + p.Email + " (capitals do not matter).",
	}
	if p.Email == "" {
		v.ConfirmLabel = "Type the customer's clientId to confirm"
		v.ConfirmHint = "This customer has no e-mail address, so type their clientId, " + idString(p.ClientID) + "."
	}
	return v
}

// eraseConfirmed reports whether typed names the customer: the e-mail compared
// case-insensitively, or the clientId for a profile without an e-mail.
func eraseConfirmed(p *synerise.Profile, typed string) bool {
	typed = strings.TrimSpace(typed)
	if p.Email == "" {
		return typed == idString(p.ClientID)
	}
	return strings.EqualFold(typed, p.Email)
}

func (h *Handler) handleCustomerEraseForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	return h.erasePage(c, http.StatusOK, p, h.eraseView(c.Request().Context(), p))
}

// handleCustomerErase asks for approval of an erasure or, when erasure is not under
// approval, erases the customer. Nothing is sent unless the typed confirmation matches.
func (h *Handler) handleCustomerErase(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerErase, attemptTarget(c), c.FormValue("reason"), err)
	}
	v := h.eraseView(c.Request().Context(), p)
	v.Typed, v.Nonce = c.FormValue("confirm"), c.FormValue("nonce")
	v.Reason = readReason(c, v.Errors)
	if msg := checkText(v.Typed, maxSearchLength); msg != "" {
		v.Errors["confirm"] = "What you typed " + msg + "."
	} else if !eraseConfirmed(p, v.Typed) {
		v.Errors["confirm"] = "What you typed does not match. " + v.ConfirmHint + " Nothing was erased."
	}
	if len(v.Errors) > 0 {
		return h.erasePage(c, http.StatusUnprocessableEntity, p, v)
	}
	key, err := h.claimForm(c, v.Nonce)
	if err != nil {
		return err
	}
	if v.Approval {
		fp := eraseFingerprint(p)
		return h.requestClaimed(c, key, changeRequest{
			Action: approvals.ActionCustomerErase, Target: customerAuditTarget(p), Changes: eraseChanges(p),
			Payload:     erasePayload{ClientID: p.ClientID, Email: p.Email, Fingerprint: fp},
			Fingerprint: fp, Reason: v.Reason,
		})
	}
	g := h.Profiles
	intent := eraseIntent(h.event(c, audit.ActionCustomerErase, customerAuditTarget(p)), p, v.Reason)
	outcome, err := h.claimedCall(c, key, intent, func(ctx context.Context) error { return g.Erase(ctx, p.ClientID) })
	if errors.Is(err, errAuditUnavailable) {
		return err
	}
	var status int
	v.Result, status = h.actionResult(outcome, err, erasedWords(p), nil)
	if err == nil {
		v.Result.Title = "Customer erased"
		h.dropDraft(c, customerPath(p.ClientID)+"/erase")
	}
	return h.erasePage(c, status, p, v)
}

// eraseIntent is the audit intent of an erasure. It keeps only what identifies the erased
// customer (the target) and the fingerprint of the profile as read, none of its content.
func eraseIntent(e audit.Event, p *synerise.Profile, reason string) audit.Event {
	e.Reason = reason
	e.Detail = audit.DetailJSON(map[string]string{"fingerprint": eraseFingerprint(p)})
	return e
}

func erasedWords(p *synerise.Profile) string {
	return "Synerise deleted the profile of " + customerName(p) + " (clientId " + idString(p.ClientID) +
		"). Searching for the customer now answers “no such customer”. The audit log keeps who erased them, when and why."
}

// eraseFingerprint is the state of the profile an erasure was asked for: its identifiers
// and everything the console shows and edits (basic info, agreements, custom attributes).
func eraseFingerprint(p *synerise.Profile) string {
	ids, _ := json.Marshal([]string{idString(p.ClientID), p.Email, p.CustomID, p.UUID, profile.InfoOf(p).Fingerprint()})
	sum := sha256.Sum256(ids)
	return hex.EncodeToString(sum[:])
}

// eraseChanges are what an erasure deletes, for the approver: the identifiers in full, the
// rest summarised.
func eraseChanges(p *synerise.Profile) []approvals.Change {
	const gone = "erased"
	var given []string
	for _, a := range profile.Agreements {
		if a.Get(p) {
			given = append(given, a.Label)
		}
	}
	filled := 0
	for _, f := range profile.Fields {
		if f.Get(p) != "" {
			filled++
		}
	}
	account := "no password account"
	if hasPasswordAccount(p) {
		account = "password account"
	}
	return []approvals.Change{
		{Field: "Profile", Old: "clientId " + idString(p.ClientID) + ", e-mail " + orNone(p.Email) + ", customId " + orNone(p.CustomID) + ", uuid " + orNone(p.UUID), New: gone},
		{Field: "Name", Old: orNone(strings.TrimSpace(p.FirstName + " " + p.LastName)), New: gone},
		{Field: "Basic info", Old: strconv.Itoa(filled) + " fields filled in", New: gone},
		{Field: "Agreements", Old: "given: " + orNone(strings.Join(given, ", ")), New: gone},
		{Field: "Custom attributes", Old: strconv.Itoa(len(p.Attributes)) + " attributes", New: gone},
		{Field: "Account", Old: account, New: gone},
	}
}

// executeCustomerErase carries out an approved erasure: the customer is read again (a
// profile that changed since the request leaves it pending), then erased between an audit
// intent and outcome naming the request.
func (h *Handler) executeCustomerErase(c echo.Context, req approvals.Request) (string, error) {
	var pl erasePayload
	if err := json.Unmarshal(req.Payload, &pl); err != nil || pl.ClientID <= 0 {
		return "", fmt.Errorf("customers: erasure request #%d: unreadable payload", req.ID)
	}
	g := h.Profiles
	p, err := h.currentTarget(c, pl.ClientID, audit.ActionCustomerErase, req)
	if err != nil {
		return "", err
	}
	if eraseFingerprint(p) != pl.Fingerprint {
		return "", fmt.Errorf("%w: the customer's profile changed since the erasure was asked for (e-mail now %s); open the customer, check, and ask again if it should still be erased",
			errTargetMoved, orNone(p.Email))
	}
	intent := eraseIntent(h.event(c, audit.ActionCustomerErase, customerAuditTarget(p)), p, req.Reason)
	intent.Detail = audit.DetailJSON(map[string]string{"request": requestRef(req.ID), "kind": req.Action, "fingerprint": pl.Fingerprint})
	if _, err := h.auditedCall(c, intent, func(ctx context.Context) error { return g.Erase(ctx, p.ClientID) }); err != nil {
		return "", err
	}
	return "Customer erased: " + erasedWords(p), nil
}
