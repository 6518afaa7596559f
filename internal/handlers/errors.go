package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/synerise"
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
	cause  error // what led to it, for the audit record; nil when none
}

func (e *publicError) Error() string { return e.msg }
func (e *publicError) Unwrap() error { return e.cause }

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
	// An error page is never cached, whatever a handler had set before it failed.
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Context().Err() != nil {
		// The client is gone (or time ran out): no page can reach anyone; the access log
		// records the request as 499 or 504.
		h.Logger.Warn("request abandoned", "err", err, "path", c.Path(), "request_id", v.RequestID)
		return
	}
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
	if errors.As(err, &pe) {
		return templates.ErrorView{Status: pe.status, Title: pe.title, Message: pe.msg}
	}
	if v, ok := describeSynerise(err); ok {
		return v
	}
	switch {
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

// syneriseFailure marks an error from a call to Synerise, so that a timeout or a dropped
// connection is told as Synerise's trouble, not the console's.
type syneriseFailure struct{ err error }

func (e *syneriseFailure) Error() string { return e.err.Error() }
func (e *syneriseFailure) Unwrap() error { return e.err }

// upstream marks err as coming from a Synerise call; nil stays nil.
func upstream(err error) error {
	if err == nil {
		return nil
	}
	return &syneriseFailure{err: err}
}

// describeSynerise puts Synerise's errors in words: each kind (refused credentials, circuit
// open, rate limited, busy, unavailable, timeout, refused, unreachable, a value that cannot
// be looked up) gets its own status and message. It is the one place where a Synerise
// failure becomes words; pages, fragments and audit records all take them from here.
func describeSynerise(err error) (templates.ErrorView, bool) {
	var rl *synerise.RateLimitError
	var api *synerise.APIError
	var sf *syneriseFailure
	trace := func(e *synerise.APIError) string {
		if e.TraceID == "" {
			return ""
		}
		return " Synerise trace id: " + e.TraceID + "."
	}
	switch {
	case synerise.IsInvalidInput(err):
		return templates.ErrorView{Status: http.StatusUnprocessableEntity, Title: "Cannot be looked up",
			Message: "That value cannot be sent to Synerise as an identifier (it is empty, “.” or “..”). Nothing was sent."}, true
	case synerise.IsCredentialsRefused(err):
		v := templates.ErrorView{Status: http.StatusBadGateway, Title: "Synerise refused the console's credentials",
			Message: "Synerise refused the console's credentials, even after the console signed in to the workspace again. The workspace API key may have been regenerated or may lack a permission; tell an admin. Nothing was changed."}
		if errors.As(err, &api) {
			v.Message += trace(api)
		}
		return v, true
	case synerise.IsCircuitOpen(err):
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Synerise is failing",
			Message: "Synerise failed several times in a row, so the console has paused calls to it for a short while. Nothing was sent. Try again in a minute."}, true
	case errors.As(err, &rl):
		if rl.StatusCode == http.StatusTooManyRequests {
			return templates.ErrorView{Status: http.StatusTooManyRequests, Title: "Synerise is rate limiting",
				Message: "Synerise refused the request because this workspace sent too many requests (429). " + waitWords(rl.RetryAfter) + trace(&rl.APIError)}, true
		}
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Synerise is busy",
			Message: "Synerise answered that it is busy (" + strconv.Itoa(rl.StatusCode) + "). " + waitWords(rl.RetryAfter) + trace(&rl.APIError)}, true
	case synerise.IsUnavailable(err) && errors.As(err, &api):
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Synerise is unavailable",
			Message: "Synerise is unavailable (it answered " + strconv.Itoa(api.StatusCode) + " without saying for how long). Try again later; if this was a change, check the customer before repeating it." + trace(api)}, true
	case errors.As(err, &api):
		switch {
		case api.StatusCode == http.StatusNotFound:
			return templates.ErrorView{Status: http.StatusNotFound, Title: "Not found in Synerise",
				Message: "Synerise has no such customer." + trace(api)}, true
		case api.StatusCode == http.StatusUnauthorized:
			return templates.ErrorView{Status: http.StatusBadGateway, Title: "Synerise refused the console's credentials",
				Message: "Synerise refused the console's access (401). The workspace API key may be wrong or lack a permission; tell an admin." + trace(api)}, true
		case api.StatusCode >= 400 && api.StatusCode < 500:
			return templates.ErrorView{Status: http.StatusUnprocessableEntity, Title: "Synerise refused the request",
				Message: "Synerise refused the request: " + apiErrorWords(api) + trace(api)}, true
		}
		return templates.ErrorView{Status: http.StatusBadGateway, Title: "Synerise failed",
			Message: "Synerise answered with an error (" + strconv.Itoa(api.StatusCode) + "). Try again in a moment; if this was a change, check the customer before repeating it." + trace(api)}, true
	case errors.As(err, &sf) && synerise.IsTimeout(err):
		return templates.ErrorView{Status: http.StatusGatewayTimeout, Title: "Synerise did not answer in time",
			Message: "Synerise did not answer in time. Try again in a moment; if this was a change, its outcome is unknown — check before retrying."}, true
	case errors.As(err, &sf):
		return templates.ErrorView{Status: http.StatusBadGateway, Title: "Could not reach Synerise",
			Message: "The connection to Synerise failed before an answer came back. Try again in a moment; if this was a change, its outcome is unknown — check before retrying."}, true
	}
	return templates.ErrorView{}, false
}

// waitWords tells the operator how long Synerise asked them to wait.
func waitWords(d time.Duration) string {
	if d <= 0 {
		return "Try again in a moment."
	}
	secs := int((d + time.Second - 1) / time.Second)
	unit := " seconds"
	if secs == 1 {
		unit = " second"
	}
	return "Synerise asked to wait " + strconv.Itoa(secs) + unit + " before trying again."
}

// upstreamRecord is a Synerise failure as the audit log keeps it: the kind in words, then
// what Synerise said (status and message, never a secret: the client scrubs them).
func upstreamRecord(err error) string {
	var api *synerise.APIError
	v, ok := describeSynerise(upstream(err))
	if !ok {
		return "failed: " + printableCause(err)
	}
	if errors.As(err, &api) {
		said := strings.TrimSpace(strings.Trim(api.Code+": "+api.Message, ": "))
		if said != "" {
			return v.Title + " — Synerise said: " + strconv.Itoa(api.StatusCode) + " " + said
		}
		return v.Title + " — Synerise answered " + strconv.Itoa(api.StatusCode)
	}
	return v.Title + " (" + printableCause(err) + ")"
}

// printableCause is the innermost cause of a transport error ("EOF", "connection refused"),
// without the operation names wrapped around it.
func printableCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	return err.Error()
}

// apiErrorWords is Synerise's own message with its field errors.
func apiErrorWords(e *synerise.APIError) string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = strings.TrimSpace(e.Code)
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	for _, fe := range e.FieldErrors {
		msg += " " + fe.Field + ": " + fe.Message + "."
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
