package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
)

// approvalStore is what the approvals screens need of the store of change requests;
// *approvals.Store is one.
type approvalStore interface {
	NextID(ctx context.Context) (int64, error)
	Create(ctx context.Context, r approvals.Request) (approvals.Request, error)
	Get(ctx context.Context, id int64) (approvals.Request, error)
	ListPending(ctx context.Context, now time.Time) ([]approvals.Request, error)
	ListRequestedBy(ctx context.Context, id int64, limit int) ([]approvals.Request, error)
	ListDecided(ctx context.Context, limit int) ([]approvals.Request, error)
	CountWaitingFor(ctx context.Context, id int64, role string, now time.Time) (int, error)
	Decide(ctx context.Context, id int64, d approvals.Decision) (approvals.Request, error)
	Reopen(ctx context.Context, id int64, outcome string) (approvals.Request, error)
	MarkExecuted(ctx context.Context, id int64, outcome string) (approvals.Request, error)
	MarkFailed(ctx context.Context, id int64, outcome string) (approvals.Request, error)
	Expire(ctx context.Context, now time.Time) ([]approvals.Request, error)
	Link(ctx context.Context, id int64, kind string, seq int64) error
}

// changeRequest is a change an operator asked for that needs another operator's approval:
// what it is, on what, what will change (old and new values, shown to the approver), what
// the executor needs (Payload, stored as JSON), the target's state when asked
// (Fingerprint) and why.
type changeRequest struct {
	Action      string
	Target      audit.Target
	Changes     []approvals.Change
	Payload     any
	Fingerprint string
	Reason      string
}

// approvalExecutor runs an approved request through the same path as a direct change,
// with the approver as the actor. It returns errTargetMoved (wrapped with words saying
// what changed) when the target's state no longer matches req.Fingerprint — then nothing
// is written and the request stays pending. Any other error is a failed execution, told
// in its words; outcome says in words what was done.
type approvalExecutor func(c echo.Context, req approvals.Request) (outcome string, err error)

// errTargetMoved means the target of a request changed since it was asked for.
var errTargetMoved = errors.New("approvals: the target changed since the request")

// underApproval reports whether changes of this kind need another operator's approval
// (CONSOLE_APPROVALS).
func (h *Handler) underApproval(action string) bool {
	return h.Approvals != nil && h.ApprovalPolicy.Requires(action)
}

// approvalTTL is how long a request waits for a decision.
func (h *Handler) approvalTTL() time.Duration {
	if h.ApprovalPolicy.TTL > 0 {
		return h.ApprovalPolicy.TTL
	}
	return approvals.DefaultTTL
}

// requestRef names a request the way every audit record and message does: "request #N".
func requestRef(id int64) string { return "request #" + strconv.FormatInt(id, 10) }

func approvalPath(id int64) string { return "/approvals/" + strconv.FormatInt(id, 10) }

// approvalDetail is the Detail of the approval.* events and of an execution's events.
type approvalDetail struct {
	Request   string             `json:"request"`
	Kind      string             `json:"kind,omitempty"`
	Changes   []approvals.Change `json:"changes,omitempty"`
	ExpiresAt string             `json:"expiresAt,omitempty"`
	Comment   string             `json:"comment,omitempty"`
	Outcome   string             `json:"outcome,omitempty"`
}

// requestApproval stores r as a request waiting for approval — its audit record written
// first, naming the request — and sends the operator to the request's page.
func (h *Handler) requestApproval(c echo.Context, r changeRequest) error {
	if h.Approvals == nil {
		return errors.New("handlers: request approval: no store of change requests")
	}
	payload, err := json.Marshal(r.Payload)
	if err != nil {
		return fmt.Errorf("handlers: request approval: payload: %w", err)
	}
	id, err := h.Approvals.NextID(c.Request().Context())
	if err != nil {
		return err
	}
	op := currentOperator(c)
	now := h.Now().UTC()
	req := approvals.Request{ID: id, Action: r.Action, TargetType: r.Target.Type, TargetID: r.Target.ID,
		TargetLabel: r.Target.Label, Changes: r.Changes, Payload: payload, Fingerprint: r.Fingerprint,
		Reason: r.Reason, RequestedBy: op.ID, RequestedByEmail: op.Email, RequestedAt: now, ExpiresAt: now.Add(h.approvalTTL())}
	intent := h.event(c, audit.ActionApprovalRequest, r.Target)
	intent.Reason = r.Reason
	create := func(ctx context.Context) error {
		_, err := h.Approvals.Create(ctx, req)
		return err
	}
	res, err := h.perform(c, approvalOperation(intent, approvalDetail{Request: requestRef(id), Kind: r.Action,
		Changes: r.Changes, ExpiresAt: req.ExpiresAt.Format(time.RFC3339)}, create))
	if err != nil {
		return err
	}
	h.linkApproval(c, id, "request", res.Event.Seq)
	return h.redirectWithFlash(c, approvalPath(id), "success", "Your change is "+requestRef(id)+": nothing was done yet. "+
		approverNoun(r.Action)+" must approve it before "+req.ExpiresAt.Format("2006-01-02 15:04 UTC")+"; then the console makes the change.")
}

// approvalOperation is a change the console makes for a request (or for its execution)
// between intent and outcome; both rows carry detail, which names the request, and a
// failed outcome says why in its Outcome words.
func approvalOperation(intent audit.Event, detail approvalDetail, call func(ctx context.Context) error) audit.Operation {
	intent.Detail = audit.DetailJSON(detail)
	return audit.Operation{Intent: intent, Call: call, Record: func(e *audit.Event, err error) {
		d := detail
		if err != nil {
			d.Outcome = "failed: " + err.Error()
		}
		e.Detail = audit.DetailJSON(d)
	}}
}

// approverNoun says who may approve a kind of change, as the start of a sentence.
func approverNoun(action string) string {
	if approvals.RoleMayApprove(action, "support") {
		return "Another support operator or admin"
	}
	return "Another admin"
}

// linkApproval records the audit seq of one of a request's events on the request; a
// failure is logged only, since the audit records name the request themselves.
func (h *Handler) linkApproval(c echo.Context, id int64, kind string, seq int64) {
	if seq == 0 {
		return
	}
	if err := h.Approvals.Link(context.WithoutCancel(c.Request().Context()), id, kind, seq); err != nil {
		h.Logger.Warn("approvals: link audit event", "err", err, "request", id, "request_id", requestID(c))
	}
}

// maxApprovalComment is the longest comment accepted with a decision.
const maxApprovalComment = 500

// approvalRoutes are the approvals screens: anyone who may do support work may see them;
// whether they may decide a request is the request's kind's business (approvals.kinds).
func (h *Handler) approvalRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/approvals", Roles: support, handle: h.handleApprovals},
		{Method: http.MethodGet, Path: "/approvals/:id", Roles: support, handle: h.handleApproval},
		{Method: http.MethodPost, Path: "/approvals/:id/approve", Roles: support, StepUp: true, handle: h.handleApprovalApprove},
		{Method: http.MethodPost, Path: "/approvals/:id/reject", Roles: support, handle: h.handleApprovalReject},
	}
}

// approvalFromPath reads the request named by the path, after expiring the overdue ones.
func (h *Handler) approvalFromPath(c echo.Context) (approvals.Request, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || h.Approvals == nil {
		return approvals.Request{}, errNotFound
	}
	h.expireApprovals(c.Request().Context())
	req, err := h.Approvals.Get(c.Request().Context(), id)
	if errors.Is(err, approvals.ErrNotFound) {
		return req, errNotFound
	}
	return req, err
}

// mayDecide says why the signed-in operator may not decide req, or "" when they may:
// never their own request, never a change to themselves, only with a role the kind allows.
func mayDecide(op *operators.Operator, req approvals.Request) string {
	if why := req.MayBeDecidedBy(op.ID, string(op.Role)); why != "" {
		return why
	}
	if req.TargetType == "operator" && req.TargetID == idString(op.ID) {
		return "This change is to your own account, so another admin must approve or reject it."
	}
	return ""
}

// refuseDecision records a refused decision (denied, naming the request) and answers 403.
func (h *Handler) refuseDecision(c echo.Context, action audit.Action, req approvals.Request, why string) error {
	e := h.event(c, action, requestTarget(req))
	e.Outcome = audit.OutcomeDenied
	e.Detail = audit.DetailJSON(approvalDetail{Request: requestRef(req.ID), Kind: req.Action, Outcome: why})
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		return errAuditUnavailable
	}
	return userError(http.StatusForbidden, "Not allowed", why+" Nothing was done. The attempt was recorded in the audit log.")
}

func requestTarget(req approvals.Request) audit.Target {
	return audit.Target{Type: req.TargetType, ID: req.TargetID, Label: req.TargetLabel}
}

// decisionComment reads the decision's comment: required to reject, optional to approve.
func decisionComment(c echo.Context, required bool) (string, string) {
	comment := strings.TrimSpace(c.FormValue("comment"))
	switch {
	case comment == "" && required:
		return "", "Say why you reject this change; the requester and the audit log will see it."
	case comment == "":
		return "", ""
	}
	if msg := checkMultiline(comment, maxApprovalComment); msg != "" {
		return comment, "The comment " + msg + "."
	}
	return comment, ""
}

// notPendingError tells a decider that the request was decided, or expired, before them.
func notPendingError(req approvals.Request) error {
	return userError(http.StatusConflict, "Already decided",
		requestRef(req.ID)+" is no longer waiting for a decision: another operator decided it, or it expired. Nothing was done; open the request to see its state.")
}

func (h *Handler) handleApprovalReject(c echo.Context) error {
	req, err := h.approvalFromPath(c)
	if err != nil {
		return err
	}
	if why := mayDecide(currentOperator(c), req); why != "" {
		return h.refuseDecision(c, audit.ActionApprovalReject, req, why)
	}
	comment, problem := decisionComment(c, true)
	if problem != "" {
		return h.renderApproval(c, http.StatusUnprocessableEntity, req, decisionInput{Comment: comment, RejectError: problem})
	}
	if !req.Pending(h.Now()) {
		return notPendingError(req)
	}
	intent := h.event(c, audit.ActionApprovalReject, requestTarget(req))
	intent.Reason = comment
	op := currentOperator(c)
	decide := func(ctx context.Context) error {
		_, err := h.Approvals.Decide(ctx, req.ID, approvals.Decision{State: approvals.StateRejected, By: op.ID,
			ByEmail: op.Email, Comment: comment, At: h.Now().UTC()})
		return err
	}
	res, err := h.perform(c, approvalOperation(intent, approvalDetail{Request: requestRef(req.ID), Kind: req.Action, Comment: comment}, decide))
	switch {
	case errors.Is(err, approvals.ErrNotPending):
		return notPendingError(req)
	case err != nil:
		return err
	}
	h.linkApproval(c, req.ID, "decision", res.Event.Seq)
	return h.redirectWithFlash(c, approvalPath(req.ID), "success", "You rejected "+requestRef(req.ID)+". Nothing was changed.")
}
