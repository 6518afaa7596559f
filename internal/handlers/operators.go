package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/web/templates"
)

func (h *Handler) handleOperators(c echo.Context) error {
	return h.renderOperators(c, http.StatusOK, templates.Operators{Form: templates.NewOperator{Role: string(operators.RoleSupport)}})
}

func (h *Handler) renderOperators(c echo.Context, status int, v templates.Operators) error {
	ops, err := h.Operators.List(c.Request().Context())
	if err != nil {
		return err
	}
	self := currentOperator(c)
	now := h.Now()
	access := templates.OperatorAccess{ByID: map[int64]templates.AccessMarks{}}
	if h.SSO != nil {
		access.SSOName = h.SSO.Name()
	}
	for _, o := range ops {
		row := templates.OperatorRow{ID: o.ID, Email: o.Email, Name: o.Name, Role: string(o.Role),
			Disabled: o.Disabled, Locked: o.Locked(now), MustChange: o.MustChangePassword, LastSignin: "never", Self: o.ID == self.ID}
		if o.LastSigninAt != nil {
			row.LastSignin = o.LastSigninAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		v.Rows = append(v.Rows, row)
		access.ByID[o.ID] = accessMarks(o)
	}
	for _, r := range operators.Roles() {
		v.Roles = append(v.Roles, string(r))
	}
	return render(c, status, templates.OperatorsPage(h.page(c, "Operators"), v, access))
}

// accessMarks is how op signs in, as the operators page marks it.
func accessMarks(op operators.Operator) templates.AccessMarks {
	return templates.AccessMarks{SSO: op.SSO && op.PasswordHash == "", SSOLinked: op.SSO && op.PasswordHash != "", BreakGlass: op.BreakGlass}
}

// handleOperatorCreate adds an operator with a generated one-time password, shown once
// to the admin; the new operator must choose their own at the first sign-in.
func (h *Handler) handleOperatorCreate(c echo.Context) error {
	form, role, errs := readNewOperator(c)
	if len(errs) > 0 {
		return h.renderOperators(c, http.StatusUnprocessableEntity, templates.Operators{Form: form, Errors: errs})
	}
	oneTime, err := password.Generate()
	if err != nil {
		return err
	}
	hash, err := password.Hash(oneTime)
	if err != nil {
		return err
	}
	intent := h.event(c, audit.ActionOperatorCreate, audit.Target{Type: "operator", Label: form.Email})
	intent.After = audit.DetailJSON(map[string]string{"email": form.Email, "name": form.Name, "role": string(role)})
	var op operators.Operator
	_, err = h.perform(c, consoleOperation(intent, func(ctx context.Context) (err error) {
		op, err = h.Operators.CreateWithOneTimePassword(ctx, form.Email, form.Name, role, hash)
		return err
	}, nil))
	if errors.Is(err, operators.ErrExists) {
		errs["email"] = "An operator with this e-mail already exists."
		return h.renderOperators(c, http.StatusUnprocessableEntity, templates.Operators{Form: form, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.dropDraft(c, "/operators")
	return h.renderOperators(c, http.StatusCreated, templates.Operators{
		Form:    templates.NewOperator{Role: string(operators.RoleSupport)},
		Created: &templates.CreatedOperator{Email: op.Email, Password: oneTime},
	})
}

// readNewOperator reads and checks the new operator form.
func readNewOperator(c echo.Context) (templates.NewOperator, operators.Role, templates.FieldErrors) {
	form := templates.NewOperator{
		Email: strings.TrimSpace(c.FormValue("email")),
		Name:  strings.TrimSpace(c.FormValue("name")),
		Role:  c.FormValue("role"),
	}
	errs := templates.FieldErrors{}
	if msg := checkText(form.Email, 254); msg != "" {
		errs["email"] = "E-mail " + msg + "."
	} else if !bareAddress(form.Email) {
		errs["email"] = "Enter an e-mail address such as ann@example.com."
	}
	if msg := checkText(form.Name, 200); msg != "" {
		errs["name"] = "Name " + msg + "."
	} else if form.Name == "" {
		errs["name"] = "Enter the operator's name."
	}
	role, err := operators.ParseRole(form.Role)
	if err != nil {
		errs["role"] = "Choose support, admin or auditor."
	}
	return form, role, errs
}

func (h *Handler) handleOperatorRole(c echo.Context) error {
	role, err := operators.ParseRole(c.FormValue("role"))
	if err != nil {
		return userError(http.StatusUnprocessableEntity, "Unknown role", "Choose support, admin or auditor.")
	}
	if h.underApproval(approvals.ActionOperatorRole) {
		return h.requestRoleChange(c, role)
	}
	return h.changeOperator(c, audit.ActionOperatorRoleChange, func(ctx context.Context, before operators.Operator) (operators.Operator, error) {
		return h.Operators.SetRole(ctx, before.ID, role)
	}, "Role changed; their open sessions have ended.")
}

func (h *Handler) handleOperatorDisabled(c echo.Context) error {
	disabled := c.FormValue("disabled") == "true"
	action, msg := audit.ActionOperatorEnable, "Operator enabled."
	if disabled {
		action, msg = audit.ActionOperatorDisable, "Operator disabled; their open sessions have ended."
	}
	return h.changeOperator(c, action, func(ctx context.Context, before operators.Operator) (operators.Operator, error) {
		return h.Operators.SetDisabled(ctx, before.ID, disabled)
	}, msg)
}

// otherOperator reads the operator named by the path, refusing the signed-in operator
// themselves with notOnYourself.
func (h *Handler) otherOperator(c echo.Context, notOnYourself string) (operators.Operator, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return operators.Operator{}, errNotFound
	}
	if id == currentOperator(c).ID {
		return operators.Operator{}, userError(http.StatusUnprocessableEntity, "Not on yourself", notOnYourself)
	}
	op, err := h.Operators.ByID(c.Request().Context(), id)
	if errors.Is(err, operators.ErrNotFound) {
		return operators.Operator{}, errNotFound
	}
	return op, err
}

// operatorChange is a change an admin makes to another operator: its audit action, the
// refusal on oneself, how the audit record shows the operator before and after, the
// change, and the flash that confirms it.
type operatorChange struct {
	action        audit.Action
	notOnYourself string
	state         func(operators.Operator) []byte
	apply         func(context.Context, operators.Operator) (operators.Operator, error)
	done          string
}

// changeOther audits and applies ch to the operator named by the path.
func (h *Handler) changeOther(c echo.Context, ch operatorChange) error {
	before, err := h.otherOperator(c, ch.notOnYourself)
	if err != nil {
		return err
	}
	intent := h.event(c, ch.action, audit.Target{Type: "operator", ID: idString(before.ID), Label: before.Email})
	intent.Before = ch.state(before)
	var after operators.Operator
	if _, err := h.perform(c, consoleOperation(intent, func(ctx context.Context) (err error) {
		after, err = ch.apply(ctx, before)
		return err
	}, func() []byte { return ch.state(after) })); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/operators", "success", before.Email+": "+ch.done)
}

// changeOperator audits and applies a change to another operator's role or state.
func (h *Handler) changeOperator(c echo.Context, action audit.Action, change func(context.Context, operators.Operator) (operators.Operator, error), done string) error {
	return h.changeOther(c, operatorChange{action: action, state: operatorState, apply: change, done: done,
		notOnYourself: "You cannot change your own role or disable yourself; ask another admin."})
}

// operatorState is an operator's role and state as their audit records keep them.
func operatorState(o operators.Operator) []byte {
	return audit.DetailJSON(map[string]any{"role": o.Role, "disabled": o.Disabled})
}

// roleRequest is the Payload of an operator.role request.
type roleRequest struct {
	OperatorID int64          `json:"operatorId"`
	Old        operators.Role `json:"old"`
	New        operators.Role `json:"new"`
}

// requestRoleChange asks another admin to approve a change of an operator's role.
func (h *Handler) requestRoleChange(c echo.Context, role operators.Role) error {
	before, err := h.otherOperator(c, "You cannot change your own role; ask another admin.")
	if err != nil {
		return err
	}
	if before.Role == role {
		return h.redirectWithFlash(c, "/operators", "info", before.Email+" already has the role "+string(role)+". Nothing was asked.")
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if msg := checkMultiline(reason, maxApprovalComment); msg != "" {
		return userError(http.StatusUnprocessableEntity, "Reason cannot be used", "The reason "+msg+". Nothing was asked.")
	}
	return h.requestApproval(c, changeRequest{Action: approvals.ActionOperatorRole,
		Target:      audit.Target{Type: "operator", ID: idString(before.ID), Label: before.Email},
		Changes:     []approvals.Change{{Field: "Role", Old: string(before.Role), New: string(role)}},
		Payload:     roleRequest{OperatorID: before.ID, Old: before.Role, New: role},
		Fingerprint: string(before.Role), Reason: reason})
}

// executeOperatorRole carries out an approved role change, refused with errTargetMoved
// when the operator's role is no longer the one the request was made on.
func (h *Handler) executeOperatorRole(c echo.Context, req approvals.Request) (string, error) {
	var p roleRequest
	if err := json.Unmarshal(req.Payload, &p); err != nil {
		return "", fmt.Errorf("handlers: role request payload: %w", err)
	}
	before, err := h.Operators.ByID(c.Request().Context(), p.OperatorID)
	if err != nil {
		return "", err
	}
	if before.Role != p.Old {
		return "", fmt.Errorf("%w: %s's role is now %s; it was %s when the change was asked for", errTargetMoved, before.Email, before.Role, p.Old)
	}
	intent := h.event(c, audit.ActionOperatorRoleChange, audit.Target{Type: "operator", ID: idString(before.ID), Label: before.Email})
	intent.Reason, intent.Before = req.Reason, operatorState(before)
	var after operators.Operator
	op := approvalOperation(intent, approvalDetail{Request: requestRef(req.ID), Kind: req.Action}, func(ctx context.Context) (err error) {
		after, err = h.Operators.SetRole(ctx, before.ID, p.New)
		return err
	})
	record := op.Record
	op.Record = func(e *audit.Event, err error) {
		record(e, err)
		if err == nil {
			e.After = operatorState(after)
		}
	}
	if _, err := h.perform(c, op); err != nil {
		return "", err
	}
	return before.Email + "'s role changed from " + string(p.Old) + " to " + string(p.New) + "; their open sessions have ended.", nil
}

// handleOperatorBreakGlass marks or unmarks another operator as break-glass: they keep
// password sign-in while local sign-in is off.
func (h *Handler) handleOperatorBreakGlass(c echo.Context) error {
	on := c.FormValue("break_glass") == "true"
	msg := "break-glass removed; they cannot sign in with a password while local sign-in is off."
	if on {
		msg = "now break-glass: they can sign in with a password even while local sign-in is off."
	}
	return h.changeAccess(c, audit.ActionOperatorBreakGlass, func(ctx context.Context, before operators.Operator) (operators.Operator, error) {
		return h.Operators.SetBreakGlass(ctx, before.ID, on)
	}, msg)
}

// handleOperatorSSOLink lets a password operator sign in through single sign-on too, or
// stops it; their sessions end either way. Without the link, a single sign-on with their
// e-mail is refused (no silent takeover of a password account).
func (h *Handler) handleOperatorSSOLink(c echo.Context) error {
	if h.SSO == nil {
		return userError(http.StatusUnprocessableEntity, "Single sign-on is off", "Single sign-on is not configured on this console; there is nothing to link.")
	}
	allowed := c.FormValue("allowed") == "true"
	msg := "single sign-on stopped; they sign in with their password. Their open sessions have ended."
	if allowed {
		msg = "may now sign in through " + h.SSO.Name() + " too. Their open sessions have ended."
	}
	return h.changeAccess(c, audit.ActionOperatorSSO, func(ctx context.Context, before operators.Operator) (operators.Operator, error) {
		after, err := h.Operators.SetSSOLink(ctx, before.ID, allowed)
		if errors.Is(err, operators.ErrSSOOnly) {
			return after, userError(http.StatusUnprocessableEntity, "Single sign-on only",
				before.Email+" was created by single sign-on and has no password: single sign-on is their only way in. Disable them instead.")
		}
		return after, err
	}, msg)
}

// changeAccess audits and applies a change to how another operator signs in, with the
// state before and after.
func (h *Handler) changeAccess(c echo.Context, action audit.Action, change func(context.Context, operators.Operator) (operators.Operator, error), done string) error {
	return h.changeOther(c, operatorChange{action: action, state: accessState, apply: change, done: done,
		notOnYourself: "You cannot change how you sign in yourself; ask another admin."})
}

// accessState is how an operator signs in, as their audit records keep it.
func accessState(o operators.Operator) []byte {
	return audit.DetailJSON(map[string]any{"sso": o.SSO, "sso_bound": o.SSOSubject != nil, "break_glass": o.BreakGlass})
}
