package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
)

// perform runs op between an intent and an outcome row (audit.Perform) for the
// operator's request. An intent that cannot be written makes the answer "audit log
// unavailable" (the call was not made); an outcome that cannot be written is logged, and
// its intent stays open until it is closed as unknown.
func (h *Handler) perform(c echo.Context, op audit.Operation) (audit.Result, error) {
	res, err := audit.Perform(c.Request().Context(), h.Audit, op)
	if errors.Is(err, audit.ErrIntentNotWritten) {
		h.Logger.Error("audit intent", "err", err, "action", string(op.Intent.Action), "request_id", requestID(c))
		return res, fmt.Errorf("%w: %w", errAuditUnavailable, err)
	}
	if res.OutcomeErr != nil {
		h.Logger.Error("audit outcome", "err", res.OutcomeErr, "action", string(op.Intent.Action), "request_id", requestID(c))
	}
	return res, err
}

// syneriseOperation is a call to Synerise between intent and outcome: how it ended is
// judged by upstreamOutcome, a failure is recorded in the words of the error funnel
// (recordUpstream), and record, when not nil, then adds what is specific to the action.
func syneriseOperation(intent audit.Event, call func(ctx context.Context) error, record func(*audit.Event, error)) audit.Operation {
	return audit.Operation{Intent: intent, Call: call, Classify: upstreamOutcome, Record: func(e *audit.Event, err error) {
		if err != nil {
			recordUpstream(e, err)
		}
		if record != nil {
			record(e, err)
		}
	}}
}

// auditedCall runs a call to Synerise between intent and outcome. If the intent cannot be
// written the call is not made and an errAuditUnavailable is returned; otherwise the
// call's own error, marked as Synerise's.
func (h *Handler) auditedCall(c echo.Context, intent audit.Event, call func(ctx context.Context) error) (audit.Outcome, error) {
	res, err := h.perform(c, syneriseOperation(intent, call, nil))
	if errors.Is(err, errAuditUnavailable) {
		return "", err
	}
	return res.Outcome, upstream(err)
}

// consoleOperation is a change the console makes in its own database (an operator, a
// password) between intent and outcome: any error is a failure, recorded as
// {"error": …}; after, when not nil, sets the outcome's After on success.
func consoleOperation(intent audit.Event, call func(ctx context.Context) error, after func() []byte) audit.Operation {
	return audit.Operation{Intent: intent, Call: call, Record: func(e *audit.Event, err error) {
		audit.RecordError(e, err)
		if err == nil && after != nil {
			e.After = after()
		}
	}}
}
