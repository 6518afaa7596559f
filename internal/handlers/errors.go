package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
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
	case errors.Is(err, errAuditUnavailable), errors.Is(err, audit.ErrIntentNotWritten):
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
			Message: "They were refused even after the console signed in to the workspace again. The workspace API key may have been regenerated or may lack a permission; tell an admin. Nothing was changed."}
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
				Message: "This workspace sent it too many requests (429). " + waitWords(rl.RetryAfter) + trace(&rl.APIError)}, true
		}
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Synerise is busy",
			Message: "It answered " + strconv.Itoa(rl.StatusCode) + ". " + waitWords(rl.RetryAfter) + trace(&rl.APIError)}, true
	case synerise.IsUnavailable(err) && errors.As(err, &api):
		return templates.ErrorView{Status: http.StatusServiceUnavailable, Title: "Synerise is unavailable",
			Message: "It answered " + strconv.Itoa(api.StatusCode) + " without saying for how long. Try again later; if this was a change, check the customer before repeating it." + trace(api)}, true
	case errors.As(err, &api):
		switch {
		case api.StatusCode == http.StatusNotFound:
			return templates.ErrorView{Status: http.StatusNotFound, Title: "Not found in Synerise",
				Message: "Synerise has no such customer." + trace(api)}, true
		case api.StatusCode == http.StatusUnauthorized:
			return templates.ErrorView{Status: http.StatusBadGateway, Title: "Synerise refused the console's credentials",
				Message: "It answered 401: the workspace API key may be wrong or lack a permission; tell an admin." + trace(api)}, true
		case api.StatusCode >= 400 && api.StatusCode < 500:
			return templates.ErrorView{Status: http.StatusUnprocessableEntity, Title: "Synerise refused the request",
				Message: "Its answer: " + apiErrorWords(api) + trace(api)}, true
		}
		return templates.ErrorView{Status: http.StatusBadGateway, Title: "Synerise failed",
			Message: "Synerise answered with an error (" + strconv.Itoa(api.StatusCode) + "). Try again in a moment; if this was a change, check the customer before repeating it." + trace(api)}, true
	case errors.As(err, &sf) && synerise.IsTimeout(err):
		return templates.ErrorView{Status: http.StatusGatewayTimeout, Title: "Synerise did not answer in time",
			Message: "Try again in a moment; if this was a change, its outcome is unknown — check before retrying."}, true
	case errors.As(err, &sf):
		return templates.ErrorView{Status: http.StatusBadGateway, Title: "Could not reach Synerise",
			Message: "The connection to Synerise failed before an answer came back. Try again in a moment; if this was a change, its outcome is unknown — check before retrying."}, true
	}
	return templates.ErrorView{}, false
}

// inOneParagraph is a described failure where no heading shows it: the heading, then the
// message that goes on from it. Messages never repeat their heading, so a page that shows
// both says each thing once, and this form says both.
func inOneParagraph(v templates.ErrorView) string { return v.Title + ". " + v.Message }

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

// outcomeUnknownWords is what the operator and the audit log are told when Synerise's
// answer never came.
const outcomeUnknownWords = "outcome unknown — check before retrying"

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

// upstreamKind is the kind of a failed Synerise call as an audit record's detail names it.
func upstreamKind(err error) string {
	var api *synerise.APIError
	switch {
	case synerise.IsCircuitOpen(err):
		return "circuit open"
	case synerise.IsRateLimited(err):
		return "busy"
	case errors.As(err, &api):
		return fmt.Sprintf("status %d", api.StatusCode)
	case synerise.IsTimeout(err):
		return "timeout"
	}
	return "no answer"
}

// actionResult puts the end of an account action in words. refusal, when not nil, may
// explain a Synerise refusal in the contract's terms (accountRefusal, pinDeviceRefusal).
func (h *Handler) actionResult(outcome audit.Outcome, err error, done string, refusal func(*synerise.APIError) string) (*templates.CustomerActionResult, int) {
	if err == nil {
		return &templates.CustomerActionResult{Kind: "success", Title: "Sent", Message: done}, http.StatusOK
	}
	v := h.describe(err)
	if outcome == audit.OutcomeUnknown {
		return &templates.CustomerActionResult{Kind: "unknown", Title: "Outcome unknown — check before retrying",
			Message: inOneParagraph(v) + " Synerise may or may not have acted: look at the sandbox outbox or ask the customer before sending again."}, v.Status
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

// accountRefusals are Synerise's 400 refusals of the account actions in the terms of
// the contract: what Synerise's message says, and what the operator is told.
var accountRefusals = []struct{ says, words string }{
	{"already activated", "The account is already activated, so there is nothing to resend. Nothing was sent."},
	{"not registered", "This customer has no password account (they never registered with a password), so Synerise has nothing to send. Nothing was sent."},
	{"anonymous", "This is an anonymous profile without an account. Nothing was sent."},
}

// accountRefusal explains Synerise's refusals of the account actions: 400 when the
// action does not apply to the account's state.
func accountRefusal(api *synerise.APIError) string {
	if api.StatusCode != http.StatusBadRequest {
		return ""
	}
	msg := strings.ToLower(api.Message)
	for _, r := range accountRefusals {
		if strings.Contains(msg, r.says) {
			return r.words
		}
	}
	return "Its answer: " + apiErrorWords(api) + " Nothing was sent."
}

// pinDeviceRefusal explains a 403 on a PIN resend by the PIN device rule: deviceID is
// the device asked for, knownDeviceID the one that last requested a PIN, setting the
// rule's setting as the settings page names it.
func pinDeviceRefusal(deviceID, knownDeviceID, setting string) string {
	msg := "No PIN was sent for device " + deviceID + ", because of the PIN device rule: a PIN may be re-sent only for the device that last requested one"
	if knownDeviceID != "" && knownDeviceID != deviceID {
		msg += " (here " + knownDeviceID + ")"
	}
	msg += ", and the setting “" + setting + "” is off in this workspace. " +
		"Check the device id with the customer: it must be the one their app shows on the device they registered with. " +
		"If they changed phones, an admin can turn “" + setting + "” on in the RaaS settings — the new device then takes over the PIN."
	return msg
}

// settingsReadError is a failed read of the settings from Synerise, in the funnel's words.
func settingsReadError(err error) error {
	v, _ := describeSynerise(upstream(err))
	return &publicError{status: v.Status, title: v.Title, msg: v.Message + " The settings could not be read; nothing was changed.", cause: err}
}

// settingsWriteProblem opens the account of a settings write that failed without a
// refusal the form can show: the status and the first sentence of the problem.
func settingsWriteProblem(err error, outcome audit.Outcome) (int, string) {
	v, _ := describeSynerise(upstream(err))
	if outcome == audit.OutcomeUnknown {
		return v.Status, "Synerise did not confirm the save (" + v.Title + "), so the change may or may not have been applied. "
	}
	return v.Status, inOneParagraph(v) + " "
}

// afterFailureWords says what the settings read right after a write of unknown outcome
// held, from the AfterFailure note of its audit record.
func afterFailureWords(note string) string {
	switch {
	case note == "unchanged":
		return "the values from before the change: it was not applied"
	case note == "as sent":
		return "your change: it was applied"
	case note == "changed otherwise":
		return "values that differ from both what was loaded and what was sent"
	case strings.HasPrefix(note, "could not read the settings"):
		return "nothing: " + note
	}
	return "nothing recorded"
}
