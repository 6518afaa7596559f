package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/web/templates"
)

// approvalListLimit bounds the viewer's requests and the recent decisions listed.
const approvalListLimit = 50

// decisionInput is what the viewer sent with a decision the page shows again.
type decisionInput struct {
	Comment                   string
	ApproveError, RejectError string
	// Problem is why the decision could not be carried out.
	Problem string
}

func (h *Handler) handleApprovals(c echo.Context) error {
	if h.Approvals == nil {
		return errNotFound
	}
	ctx := c.Request().Context()
	h.expireApprovals(ctx)
	op := currentOperator(c)
	pending, err := h.Approvals.ListPending(ctx, h.Now())
	if err != nil {
		return err
	}
	v := templates.ApprovalsList{Policy: h.policyWords()}
	for _, r := range pending {
		switch {
		case mayDecide(op, r) == "":
			v.WaitingForYou = append(v.WaitingForYou, approvalRow(r))
		case r.RequestedBy != op.ID:
			v.WaitingForOthers = append(v.WaitingForOthers, approvalRow(r))
		}
	}
	mine, err := h.Approvals.ListRequestedBy(ctx, op.ID, approvalListLimit)
	if err != nil {
		return err
	}
	decided, err := h.Approvals.ListDecided(ctx, approvalListLimit)
	if err != nil {
		return err
	}
	for _, r := range mine {
		v.Yours = append(v.Yours, approvalRow(r))
	}
	for _, r := range decided {
		v.Decided = append(v.Decided, approvalRow(r))
	}
	return render(c, http.StatusOK, templates.ApprovalsPage(h.page(c, "Approvals"), v))
}

func (h *Handler) handleApproval(c echo.Context) error {
	req, err := h.approvalFromPath(c)
	if err != nil {
		return err
	}
	return h.renderApproval(c, http.StatusOK, req, decisionInput{})
}

// renderApproval shows a request with status, and what the viewer sent with a decision.
func (h *Handler) renderApproval(c echo.Context, status int, req approvals.Request, in decisionInput) error {
	op := currentOperator(c)
	pending := req.Pending(h.Now())
	v := templates.ApprovalView{ID: idString(req.ID), Number: "#" + idString(req.ID), What: approvals.Describe(req.Action),
		Target: targetWords(req), RequestedBy: req.RequestedByEmail, RequestedAt: approvalTime(req.RequestedAt),
		Reason: reasonWords(req.Reason), ExpiresAt: approvalTime(req.ExpiresAt), State: req.State, Pending: pending,
		DecidedBy: req.DecidedByEmail, Comment: req.Comment, Outcome: req.Outcome,
		Problem: in.Problem, Typed: in.Comment, Errors: templates.FieldErrors{}}
	v.StateWords, v.StateClass = stateWords(req, h.Now())
	if req.DecidedAt != nil {
		v.DecidedAt = approvalTime(*req.DecidedAt)
	}
	if pending && req.Outcome != "" {
		v.LastAttempt = req.Outcome
	}
	for _, ch := range req.Changes {
		v.Changes = append(v.Changes, templates.ApprovalChangeLine{Field: ch.Field, Old: ch.Old, New: ch.New})
	}
	if pending {
		v.WhyNot = mayDecide(op, req)
		v.CanDecide = v.WhyNot == ""
		if v.WhyNot != "" {
			v.WhyNot = "You cannot decide this request. " + v.WhyNot
		}
	}
	if in.ApproveError != "" {
		v.Errors["approve-comment"] = in.ApproveError
	}
	if in.RejectError != "" {
		v.Errors["reject-comment"] = in.RejectError
	}
	return render(c, status, templates.ApprovalPage(h.page(c, "Request #"+idString(req.ID)), v))
}

func approvalRow(r approvals.Request) templates.ApprovalRow {
	row := templates.ApprovalRow{Href: approvalPath(r.ID), Number: "#" + idString(r.ID), What: approvals.Describe(r.Action),
		Target: targetWords(r), RequestedBy: r.RequestedByEmail, RequestedAt: approvalTime(r.RequestedAt),
		Until: approvalTime(r.ExpiresAt), DecidedBy: r.DecidedByEmail}
	row.State, row.StateClass = stateWords(r, time.Time{})
	if r.DecidedAt != nil {
		row.Until = approvalTime(*r.DecidedAt)
	}
	return row
}

// stateWords is a request's state in words, with its badge class. A pending request past
// its expiry (not yet marked) reads as expired when now is known.
func stateWords(r approvals.Request, now time.Time) (string, string) {
	switch r.State {
	case approvals.StatePending:
		if !now.IsZero() && !r.Pending(now) {
			return "Expired without a decision", "badge-neutral"
		}
		return "Waiting for approval", "badge-warn"
	case approvals.StateApproved:
		return "Approved, being carried out", "badge-warn"
	case approvals.StateExecuted:
		return "Approved and carried out", "badge-ok"
	case approvals.StateFailed:
		return "Approved, but carrying it out failed", "badge-bad"
	case approvals.StateRejected:
		return "Rejected", "badge-bad"
	case approvals.StateExpired:
		return "Expired without a decision", "badge-neutral"
	}
	return r.State, "badge-neutral"
}

func targetWords(r approvals.Request) string {
	if r.TargetLabel != "" {
		return r.TargetLabel
	}
	return r.TargetType + " " + r.TargetID
}

func approvalTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func reasonWords(s string) string {
	if s == "" {
		return "(none given)"
	}
	return s
}

// policyWords says which changes need approval and how long a request waits.
func (h *Handler) policyWords() string {
	if len(h.ApprovalPolicy.Under) == 0 {
		return "No change needs approval in this console (CONSOLE_APPROVALS=none); earlier requests are listed here."
	}
	kinds := make([]string, len(h.ApprovalPolicy.Under))
	for i, a := range h.ApprovalPolicy.Under {
		kinds[i] = strings.ToLower(approvals.Describe(a)[:1]) + approvals.Describe(a)[1:]
	}
	return "These changes need another operator's approval: " + strings.Join(kinds, "; ") +
		". A request waits " + h.approvalTTL().String() + " for a decision, then expires and nothing is done."
}

// ExpireApprovals marks the requests left undecided past their expiry as expired and
// records each (approval.expire). The server runs it periodically; the approvals pages
// run it before they read.
func (h *Handler) ExpireApprovals(ctx context.Context) (int, error) {
	if h.Approvals == nil {
		return 0, nil
	}
	expired, err := h.Approvals.Expire(ctx, h.Now())
	if err != nil {
		return 0, err
	}
	for _, r := range expired {
		e := audit.Event{Actor: audit.Actor{Email: "console", Role: "system"}, Action: audit.ActionApprovalExpire,
			Target: requestTarget(r), Outcome: audit.OutcomeSucceeded, Reason: r.Reason,
			Detail: audit.DetailJSON(approvalDetail{Request: requestRef(r.ID), Kind: r.Action, Changes: r.Changes,
				ExpiresAt: r.ExpiresAt.UTC().Format(time.RFC3339), Outcome: r.Outcome})}
		if _, err := h.Audit.Append(ctx, e); err != nil {
			return len(expired), err
		}
	}
	return len(expired), nil
}

// expireApprovals runs ExpireApprovals for a page; a failure is logged, since the pages
// judge expiry by the time themselves.
func (h *Handler) expireApprovals(ctx context.Context) {
	if _, err := h.ExpireApprovals(ctx); err != nil {
		h.Logger.Error("approvals: expire", "err", err)
	}
}

// approvalsWaiting counts the requests the signed-in operator may decide, for the
// navigation; 0 when it cannot be counted.
func (h *Handler) approvalsWaiting(c echo.Context) int {
	op := currentOperator(c)
	if h.Approvals == nil || op == nil {
		return 0
	}
	n, err := h.Approvals.CountWaitingFor(c.Request().Context(), op.ID, string(op.Role), h.Now())
	if err != nil {
		h.Logger.Warn("approvals: count waiting", "err", err, "request_id", requestID(c))
		return 0
	}
	return n
}
