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
	"github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise"
)

// executors are the ways approved requests are carried out, by kind of change.
func (h *Handler) executors() map[string]approvalExecutor {
	return map[string]approvalExecutor{
		approvals.ActionSettings:      h.executeSettings,
		approvals.ActionOperatorRole:  h.executeOperatorRole,
		approvals.ActionCustomerEmail: h.executeCustomerEmail,
		approvals.ActionCustomerErase: h.executeCustomerErase,
	}
}

// approvalRun is what happened when an approval was carried out: the request as it ended
// and the outcome in words, for the decision's audit row and the approver.
type approvalRun struct {
	req     approvals.Request
	outcome string
	failed  bool
}

// handleApprovalApprove approves a request and carries it out at once, with the approver
// as the actor: the decision (approval.approve, intent and outcome) wraps the execution,
// audited under the change's own action and naming the request.
func (h *Handler) handleApprovalApprove(c echo.Context) error {
	req, err := h.approvalFromPath(c)
	if err != nil {
		return err
	}
	if why := mayDecide(currentOperator(c), req); why != "" {
		return h.refuseDecision(c, audit.ActionApprovalApprove, req, why)
	}
	comment, problem := decisionComment(c, false)
	if problem != "" {
		return h.renderApproval(c, http.StatusUnprocessableEntity, req, decisionInput{Comment: comment, ApproveError: problem})
	}
	if !req.Pending(h.Now()) {
		return notPendingError(req)
	}
	exec, ok := h.executors()[req.Action]
	if !ok {
		return userError(http.StatusNotImplemented, "Cannot be carried out",
			"This console cannot carry out “"+approvals.Describe(req.Action)+"” changes. Nothing was done; the request still waits.")
	}
	intent := h.event(c, audit.ActionApprovalApprove, requestTarget(req))
	intent.Reason = comment
	intent.Detail = audit.DetailJSON(approvalDetail{Request: requestRef(req.ID), Kind: req.Action, Comment: comment})
	run := &approvalRun{req: req}
	res, err := h.perform(c, audit.Operation{Intent: intent,
		Call: func(ctx context.Context) error { return h.approveAndRun(c, ctx, req, exec, comment, run) },
		Record: func(e *audit.Event, err error) {
			d := approvalDetail{Request: requestRef(req.ID), Kind: req.Action, Comment: comment, Outcome: run.outcome}
			if err != nil && run.outcome == "" {
				d.Outcome = "not approved: " + err.Error()
			}
			e.Detail = audit.DetailJSON(d)
		}})
	h.linkApproval(c, req.ID, "decision", res.Intent.Seq)
	return h.approvalAnswered(c, run, err)
}

// approveAndRun records the approval (once, whoever else approves at the same moment) and
// carries the change out. A target that moved puts the request back to pending.
func (h *Handler) approveAndRun(c echo.Context, ctx context.Context, req approvals.Request, exec approvalExecutor,
	comment string, run *approvalRun,
) error {
	op := currentOperator(c)
	decided, err := h.Approvals.Decide(ctx, req.ID, approvals.Decision{State: approvals.StateApproved, By: op.ID,
		ByEmail: op.Email, Comment: comment, At: h.Now().UTC()})
	if err != nil {
		return err
	}
	run.req = decided
	outcome, err := exec(c, decided)
	switch {
	case errors.Is(err, errTargetMoved):
		run.outcome = "Not carried out: " + movedWords(err) + " Nothing was written; the request waits for a decision again."
		if reopened, rerr := h.Approvals.Reopen(ctx, req.ID, run.outcome); rerr == nil {
			run.req = reopened
		} else {
			h.Logger.Error("approvals: reopen after a conflict", "err", rerr, "request", req.ID, "request_id", requestID(c))
		}
		return err
	case err != nil:
		run.outcome, run.failed = "Approved, but carrying it out failed: "+inOneParagraph(h.describe(err)), true
		run.req, err = h.Approvals.MarkFailed(ctx, req.ID, run.outcome)
	default:
		run.outcome = outcome
		run.req, err = h.Approvals.MarkExecuted(ctx, req.ID, outcome)
	}
	return err
}

// movedWords are the words an executor gave with errTargetMoved.
func movedWords(err error) string {
	words := strings.TrimSpace(strings.TrimPrefix(err.Error(), errTargetMoved.Error()+":"))
	if words == "" || words == errTargetMoved.Error() {
		return "the target changed since the request."
	}
	return words
}

// approvalAnswered tells the approver how the approval ended.
func (h *Handler) approvalAnswered(c echo.Context, run *approvalRun, err error) error {
	id := run.req.ID
	switch {
	case errors.Is(err, approvals.ErrNotPending):
		return notPendingError(run.req)
	case errors.Is(err, errTargetMoved):
		return h.renderApproval(c, http.StatusConflict, run.req, decisionInput{Problem: run.outcome})
	case err != nil:
		return err
	case run.failed:
		return h.redirectWithFlash(c, approvalPath(id), "error", run.outcome)
	}
	return h.redirectWithFlash(c, approvalPath(id), "success", "You approved "+requestRef(id)+" and it was carried out. "+run.outcome)
}

// settingsRequest is the Payload of a settings request: the changes (raw old and new
// values) and the modelled settings as they were when asked, to say what moved since.
type settingsRequest struct {
	Changes []settings.Change          `json:"changes"`
	Values  map[string]json.RawMessage `json:"values"`
}

// requestSettingsChange asks for approval of checked settings changes, if the settings
// are still as the admin loaded them (else the conflict page, as for a direct save).
func (h *Handler) requestSettingsChange(c echo.Context, loaded settings.Loaded, changes []settings.Change, reason string) error {
	fresh, changes, answered, err := h.unchangedSettings(c, loaded, changes, reason)
	if answered || err != nil {
		return err
	}
	lines := make([]approvals.Change, len(changes))
	for i, ch := range changes {
		lines[i] = approvals.Change{Field: ch.Label(), Old: ch.OldWords(), New: ch.NewWords()}
	}
	return h.requestApproval(c, changeRequest{Action: approvals.ActionSettings, Target: settingsTarget, Changes: lines,
		Payload:     settingsRequest{Changes: changes, Values: settings.LoadedFrom(fresh).Values},
		Fingerprint: fresh.Fingerprint(), Reason: reason})
}

// executeSettings carries out an approved settings request: under the settings lock, the
// same lossless read-modify-write as a direct save, refused with errTargetMoved when the
// settings are no longer those the request was made on.
func (h *Handler) executeSettings(c echo.Context, req approvals.Request) (string, error) {
	var p settingsRequest
	if err := json.Unmarshal(req.Payload, &p); err != nil {
		return "", fmt.Errorf("handlers: settings request payload: %w", err)
	}
	ctx := c.Request().Context()
	var outcome string
	err := h.withSettingsLock(ctx, func() error {
		fresh, err := h.Settings.Get(ctx)
		if err != nil {
			return upstream(err)
		}
		if fresh.Fingerprint() != req.Fingerprint {
			return fmt.Errorf("%w: %s", errTargetMoved, settingsMovedWords(p.Values, fresh))
		}
		changes := settings.Rebase(fresh, p.Changes)
		if len(changes) == 0 {
			outcome = "Nothing was written: the settings already hold these values."
			return nil
		}
		w, err := h.writeSettings(c, fresh, changes, req.Reason, requestRef(req.ID))
		switch {
		case errors.Is(err, errAuditUnavailable), w == nil && err != nil:
			return err
		case err != nil:
			return upstream(err)
		}
		outcome = settingsOutcome(w)
		return nil
	})
	return outcome, err
}

// settingsOutcome says what an approved settings write did.
func settingsOutcome(w *settingsWrite) string {
	done := "Settings saved. " + changeSentences(w.changes)
	switch {
	case w.readErr != nil:
		return done + " Reading them back failed, so they were not checked."
	case len(w.diffs) > 0:
		return done + " Read back, Synerise holds other values: " + changeSentences(w.diffs)
	}
	return done
}

// settingsMovedWords says which shown settings changed since the request.
func settingsMovedWords(asked map[string]json.RawMessage, fresh *synerise.Settings) string {
	now := settings.Values(fresh)
	var moved []string
	for _, f := range settings.Fields {
		if old, ok := asked[f.Key]; ok && !settings.Equal(old, now[f.Key]) {
			moved = append(moved, f.Label+" was "+f.Words(old)+" when the change was asked for and is now "+f.Words(now[f.Key]))
		}
	}
	if len(moved) == 0 {
		return "the RaaS settings changed in Synerise since the request (in a setting the console does not show)."
	}
	return "the RaaS settings changed in Synerise since the request: " + strings.Join(moved, "; ") + "."
}
