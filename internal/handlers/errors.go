package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/web/templates"
)

// Errors the handlers return; handleError alone turns them into pages.
var (
	errForbidden        = errors.New("forbidden")
	errCrossSite        = errors.New("cross-site request refused")
	errCSRF             = errors.New("missing or invalid CSRF token")
	errAuditUnavailable = errors.New("audit log unavailable")
	errNotFound         = errors.New("not found")
)

// publicError is an error whose message is written for the operator.
type publicError struct {
	status int
	title  string
	msg    string
}

func (e *publicError) Error() string { return e.msg }

// userError returns an error shown to the operator as it is, with a status.
func userError(status int, title, msg string) error {
	return &publicError{status: status, title: title, msg: msg}
}

// handleError is the console's only HTTPErrorHandler: every error a handler returns
// becomes a status and a page, or a fragment for htmx.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	v := h.describe(err)
	v.RequestID = requestID(c)
	if v.Status >= 500 {
		h.Logger.Error("request failed", "err", err, "status", v.Status, "path", c.Path(), "request_id", v.RequestID)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(v.Status)
		return
	}
	if isHTMX(c) {
		_ = render(c, v.Status, templates.ErrorPanel(v))
		return
	}
	_ = render(c, v.Status, templates.ErrorPage(h.page(c, v.Title), v))
}

func (h *Handler) describe(err error) templates.ErrorView {
	var pe *publicError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &pe):
		return templates.ErrorView{Status: pe.status, Title: pe.title, Message: pe.msg}
	case errors.Is(err, errForbidden):
		return templates.ErrorView{Status: http.StatusForbidden, Title: "Not allowed",
			Message: "Your role does not give access to this page or action. Nothing was done. The attempt was recorded in the audit log."}
	case errors.Is(err, errCrossSite), errors.Is(err, errCSRF):
		return templates.ErrorView{Status: http.StatusForbidden, Title: "Request refused",
			Message: "This request did not come from a page of this console (its security token was missing or wrong). Nothing was done. Reload the page and try again."}
	case errors.Is(err, errAuditUnavailable):
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Audit log unavailable",
			Message: "Audit log unavailable — nothing was done. Every action must be recorded before it happens; try again in a moment."}
	case errors.Is(err, errNotFound):
		return templates.ErrorView{Status: http.StatusNotFound, Title: "Not found", Message: "There is nothing at this address."}
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return templates.ErrorView{Status: he.Code, Title: "Not found", Message: "There is nothing at this address."}
		case http.StatusMethodNotAllowed:
			return templates.ErrorView{Status: he.Code, Title: "Method not allowed", Message: "This address does not accept that kind of request."}
		case http.StatusRequestEntityTooLarge:
			return templates.ErrorView{Status: he.Code, Title: "Too large", Message: "The form sent is too large."}
		}
		if he.Code < 500 {
			return templates.ErrorView{Status: he.Code, Title: http.StatusText(he.Code), Message: http.StatusText(he.Code) + "."}
		}
	}
	return templates.ErrorView{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Message: "The console could not complete this request. If an action was under way, check the audit log before repeating it."}
}
