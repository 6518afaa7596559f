package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/web/templates"
)

// customerGDPR is what the data-protection support actions need of Synerise's profiles:
// the e-mail change, the erasure and the profile as sent; profileAPI includes it.
type customerGDPR interface {
	ChangeEmail(ctx context.Context, clientID int64, email string) error
	Erase(ctx context.Context, clientID int64) error
	GetRaw(ctx context.Context, clientID int64) ([]byte, error)
}

func exportTitle(name string) string { return "Download the data of " + name }

// handleCustomerExportForm asks the reason of a download of the customer's data.
func (h *Handler) handleCustomerExportForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	v := templates.CustomerExport{Details: h.details(c.Request().Context(), p)}
	return render(c, http.StatusOK, templates.CustomerExportPage(h.page(c, exportTitle(customerName(p))), v))
}

// handleCustomerExport hands over the customer's data (GDPR art. 15): the profile exactly
// as Synerise returned it, as an attachment, read between an audit intent and outcome.
func (h *Handler) handleCustomerExport(c echo.Context) error {
	g := h.Profiles
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerExport, attemptTarget(c), c.FormValue("reason"), err)
	}
	v := templates.CustomerExport{Details: h.details(c.Request().Context(), p), Errors: templates.FieldErrors{}}
	v.Reason = readReason(c, v.Errors)
	if len(v.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, templates.CustomerExportPage(h.page(c, exportTitle(customerName(p))), v))
	}
	intent := h.event(c, audit.ActionCustomerExport, customerAuditTarget(p))
	intent.Reason = v.Reason
	intent.Detail = audit.DetailJSON(map[string]string{"format": "json", "source": "the profile as Synerise returned it"})
	var raw []byte
	call := func(ctx context.Context) error {
		var err error
		raw, err = g.GetRaw(ctx, p.ClientID)
		return err
	}
	// The outcome names the file handed over by size and hash, never by its content.
	record := func(e *audit.Event, err error) {
		if err == nil {
			sum := sha256.Sum256(raw)
			e.Detail = audit.DetailJSON(map[string]any{"file": exportFilename(p.ClientID), "bytes": len(raw), "sha256": hex.EncodeToString(sum[:])})
		}
	}
	if _, err := h.perform(c, syneriseOperation(intent, call, record)); err != nil {
		if errors.Is(err, errAuditUnavailable) {
			return err
		}
		return upstream(err)
	}
	h.dropDraft(c, customerPath(p.ClientID)+"/export")
	header := c.Response().Header()
	header.Set("Content-Disposition", `attachment; filename="`+exportFilename(p.ClientID)+`"`)
	header.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json", raw)
}

func exportFilename(clientID int64) string { return "customer-" + idString(clientID) + ".json" }
