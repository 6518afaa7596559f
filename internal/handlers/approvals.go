package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
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
	intent.Detail = audit.DetailJSON(approvalDetail{Request: requestRef(id), Kind: r.Action, Changes: r.Changes,
		ExpiresAt: req.ExpiresAt.Format(time.RFC3339)})
	create := func(ctx context.Context) error {
		_, err := h.Approvals.Create(ctx, req)
		return err
	}
	res, err := h.perform(c, consoleOperation(intent, create, nil))
	if err != nil {
		return err
	}
	h.linkApproval(c, id, "request", res.Event.Seq)
	return h.redirectWithFlash(c, approvalPath(id), "success", "Your change is "+requestRef(id)+": nothing was done yet. "+
		approverNoun(r.Action)+" must approve it before "+req.ExpiresAt.Format("2006-01-02 15:04 UTC")+"; then the console makes the change.")
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
