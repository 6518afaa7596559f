package handlers

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/drafts"
)

// draftStore keeps operators' unsaved forms; *drafts.Store is one.
type draftStore interface {
	Save(ctx context.Context, form drafts.Form, d drafts.Draft) error
	Get(ctx context.Context, operatorID int64, page string, now time.Time) (drafts.Draft, error)
	Delete(ctx context.Context, operatorID int64, page string) error
	Prune(ctx context.Context, now time.Time) (int64, error)
}

// Fields of a draft's own that travel beside the form's fields.
const (
	draftPageField   = "_draft_page"
	draftActionField = "_draft_action"
)

var errDraftRefused = userError(http.StatusUnprocessableEntity, "Draft not kept",
	"This form does not keep drafts, or its page is not one you may open. Nothing was kept.")

func (h *Handler) draftRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/drafts", Roles: anyone, handle: h.handleDraftGet},
		{Method: http.MethodPost, Path: "/drafts", Roles: anyone, handle: h.handleDraftSave},
		{Method: http.MethodPost, Path: "/drafts/discard", Roles: anyone, handle: h.handleDraftDiscard},
	}
}

// draftJSON is a draft as the page's script restores it.
type draftJSON struct {
	Page      string         `json:"page"`
	Action    string         `json:"action"`
	SavedAt   time.Time      `json:"savedAt"`
	SavedText string         `json:"savedText"`
	Fields    []drafts.Field `json:"fields"`
}

// handleDraftGet answers the operator's live draft of the page ?page= names, or 204.
func (h *Handler) handleDraftGet(c echo.Context) error {
	page := c.QueryParam("page")
	if h.Drafts == nil || !h.draftPage(c, page) {
		return c.NoContent(http.StatusNoContent)
	}
	d, err := h.Drafts.Get(c.Request().Context(), currentOperator(c).ID, page, h.Now())
	if errors.Is(err, drafts.ErrNotFound) {
		return c.NoContent(http.StatusNoContent)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, draftJSON{Page: d.Page, Action: d.Action, SavedAt: d.SavedAt.UTC(),
		SavedText: d.SavedAt.UTC().Format("15:04 UTC"), Fields: d.Fields})
}

// handleDraftSave keeps the posted form as the operator's draft of its page. Only the
// fields the form's entry in draftForms names are kept; secrets never are.
func (h *Handler) handleDraftSave(c echo.Context) error {
	if h.Drafts == nil {
		return c.NoContent(http.StatusNoContent)
	}
	page, action := c.FormValue(draftPageField), c.FormValue(draftActionField)
	form, ok := h.draftForm(c, action)
	if !ok || !h.draftPage(c, page) {
		return errDraftRefused
	}
	params, err := c.FormParams()
	if err != nil {
		return errDraftRefused
	}
	fields, err := draftFields(params, form)
	if err != nil {
		return err
	}
	now := h.Now()
	d := drafts.Draft{OperatorID: currentOperator(c).ID, Page: page, Action: action, Fields: fields,
		SavedAt: now, ExpiresAt: now.Add(h.DraftLifetime)}
	if err := h.Drafts.Save(c.Request().Context(), form, d); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// draftFields are the posted fields the form allows, by name, each name's values in the
// order sent. Text a form could
// not accept either (not UTF-8, control characters) refuses the whole draft.
func draftFields(params url.Values, form drafts.Form) ([]drafts.Field, error) {
	var fields []drafts.Field
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if !form.Allows(name) {
			continue
		}
		for _, v := range params[name] {
			if msg := checkMultiline(v, drafts.MaxValueBytes); msg != "" {
				return nil, userError(http.StatusUnprocessableEntity, "Draft not kept", "A field of this form "+msg+".")
			}
			fields = append(fields, drafts.Field{Name: name, Value: v})
		}
	}
	return fields, nil
}

// handleDraftDiscard forgets the operator's draft of a page; without script it returns
// to that page.
func (h *Handler) handleDraftDiscard(c echo.Context) error {
	page := c.FormValue(draftPageField)
	if !h.draftPage(c, page) {
		return errDraftRefused
	}
	if h.Drafts != nil {
		if err := h.Drafts.Delete(c.Request().Context(), currentOperator(c).ID, page); err != nil {
			return err
		}
	}
	if c.Request().Header.Get("X-Draft") == "1" || isHTMX(c) {
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, page)
}

// dropDraft forgets the operator's draft of page once its form was saved. It is best
// effort: a draft left behind only offers the saved values again, and expires.
func (h *Handler) dropDraft(c echo.Context, page string) {
	op := currentOperator(c)
	if h.Drafts == nil || op == nil {
		return
	}
	if err := h.Drafts.Delete(context.WithoutCancel(c.Request().Context()), op.ID, page); err != nil {
		h.Logger.Error("delete draft", "err", err, "request_id", requestID(c))
	}
}

// PruneDrafts deletes the drafts past their lifetime; the periodic job of every replica
// may run it.
func (h *Handler) PruneDrafts(ctx context.Context) (int64, error) {
	if h.Drafts == nil {
		return 0, nil
	}
	return h.Drafts.Prune(ctx, h.Now())
}

// draftPage reports whether page is a console page the operator may open: a draft is
// restored there after the next sign-in.
func (h *Handler) draftPage(c echo.Context, page string) bool {
	op := currentOperator(c)
	if op == nil || !strings.HasPrefix(page, "/") || strings.HasPrefix(page, "//") || len(page) > 512 {
		return false
	}
	return h.routeServes(http.MethodGet, page, func(r Route) bool { return !r.Public && r.Allows(op.Role) })
}
