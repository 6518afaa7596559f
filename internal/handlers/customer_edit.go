package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/profile"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// editForm is the edit form as typed: the basic info and what travels with it.
type editForm struct {
	profile.Form
	reason      string
	fingerprint string
	loaded      string
	nonce       string
}

func readEditForm(c echo.Context) editForm {
	return editForm{Form: profile.ReadForm(c.FormValue),
		reason: strings.TrimSpace(c.FormValue("reason")), fingerprint: c.FormValue("fingerprint"),
		loaded: c.FormValue("loaded"), nonce: c.FormValue("nonce")}
}

// loadedForm is the form as loaded from b.
func loadedForm(b profile.Info) editForm { return editForm{Form: profile.FormOf(b)} }

// profileRules are the checks of an edit made now.
func (h *Handler) profileRules() profile.Rules {
	return profile.Rules{Now: h.Now(), Text: checkText}
}

func editTitle(p *synerise.Profile) string { return "Edit " + customerName(p) }

func (h *Handler) handleCustomerEditForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	loaded := profile.InfoOf(p)
	return render(c, http.StatusOK, templates.CustomerEditPage(h.page(c, editTitle(p)), h.editView(c.Request().Context(), p, loaded, loadedForm(loaded))))
}

func (h *Handler) editPage(c echo.Context, status int, p *synerise.Profile, v templates.CustomerEdit) error {
	if isHTMX(c) {
		return render(c, status, templates.CustomerEditForm(csrfToken(c), v))
	}
	return render(c, status, templates.CustomerEditPage(h.page(c, editTitle(p)), v))
}

// handleCustomerUpdate saves basic info: validate, re-read and compare fingerprints (a
// change made meanwhile writes nothing and is shown), audit the intent, send only what
// changed, audit the outcome.
func (h *Handler) handleCustomerUpdate(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerUpdate, attemptTarget(c), c.FormValue("reason"), err)
	}
	f := readEditForm(c)
	current := profile.InfoOf(p)
	loaded, ok := profile.DecodeInfo(f.loaded, f.fingerprint)
	if !ok {
		v := h.editView(c.Request().Context(), p, current, loadedForm(current))
		v.FormError = "This form was damaged or is from an older version of the page. Nothing was saved; the form now shows the current values."
		return h.editPage(c, http.StatusUnprocessableEntity, p, v)
	}
	if current.Fingerprint() != f.fingerprint {
		return h.editConflict(c, p, loaded, current, f)
	}
	changes, problems := h.checkEdit(current, f)
	if len(problems) > 0 || len(changes) == 0 {
		v := h.editView(c.Request().Context(), p, current, f)
		v.Errors = reindexErrors(f, problems)
		v.FormError = "Nothing to save: no field differs from what Synerise has."
		if len(problems) > 0 {
			v.FormError = "Nothing was saved: correct the fields marked below."
		}
		return h.editPage(c, http.StatusUnprocessableEntity, p, v)
	}
	if err := h.saveChanges(c, p, f, changes); err != nil {
		return err
	}
	h.dropDraft(c, customerPath(p.ClientID)+"/edit")
	saved := savedView(h.details(c.Request().Context(), profile.Apply(p, changes)), changes)
	if isHTMX(c) {
		return render(c, http.StatusOK, templates.CustomerSavedSwap(saved))
	}
	return render(c, http.StatusOK, templates.CustomerSavedPage(h.page(c, "Saved: "+customerName(p)), saved))
}

// checkEdit is the changes of the form and what is wrong with it, the reason included.
func (h *Handler) checkEdit(current profile.Info, f editForm) ([]profile.Change, templates.FieldErrors) {
	changes, problems := profile.Diff(current, f.Form, h.profileRules())
	if msg := checkReason(f.reason); msg != "" {
		problems["reason"] = msg
	}
	return changes, problems
}

// saveChanges sends the changes to Synerise between an audit intent and outcome; the
// form's nonce makes a double submit harmless.
func (h *Handler) saveChanges(c echo.Context, p *synerise.Profile, f editForm, changes []profile.Change) error {
	u, err := profile.Update(changes)
	if err != nil {
		return err
	}
	key, err := h.claimForm(c, f.nonce)
	if err != nil {
		return err
	}
	before, after := profile.AuditValues(changes)
	intent := h.event(c, audit.ActionCustomerUpdate, customerAuditTarget(p))
	intent.Reason = f.reason
	intent.Before, intent.After = audit.DetailJSON(before), audit.DetailJSON(after)
	intent.Detail = audit.DetailJSON(map[string]any{"fields": u.Fields(), "fingerprint": f.fingerprint})
	outcome, err := h.claimedCall(c, key, intent, func(ctx context.Context) error {
		return h.Profiles.Update(ctx, p.ClientID, u)
	})
	if err != nil && outcome == audit.OutcomeUnknown {
		v := h.describe(err)
		return userError(v.Status, "Outcome unknown — check before retrying",
			inOneParagraph(v)+" Open the customer to see whether the change arrived before saving again.")
	}
	return err
}

// editConflict answers a save whose profile changed since the form was loaded: nothing
// is written; the form shows the current values with the operator's own changes kept,
// and a list of what changed meanwhile.
func (h *Handler) editConflict(c echo.Context, p *synerise.Profile, loaded, current profile.Info, f editForm) error {
	merged, conflicts := profile.Merge(loaded, current, f.Form)
	v := h.editView(c.Request().Context(), p, current, editForm{Form: merged, reason: f.reason, nonce: f.nonce})
	for _, cf := range conflicts {
		v.Conflict = append(v.Conflict, templates.CustomerChange{Label: cf.Label, Before: cf.Before, After: cf.After, Yours: cf.Yours})
	}
	return h.editPage(c, http.StatusConflict, p, v)
}
