package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/drafts"
	"github.com/raas-console/console/internal/profile"
	"github.com/raas-console/console/internal/settings"
)

// draftForms are the forms that keep a draft while the operator types, by the route they
// post to, each with the fields its draft may hold. A form not listed keeps none, and no
// list names a password, a one-time code or the form's one-time token: the hidden copies
// of what a form was loaded with (fingerprint, loaded, was.*) are kept, so that a save
// from a restored draft meets the usual conflict check.
func draftForms() map[string]drafts.Form {
	reason := drafts.Form{Names: []string{"reason"}}
	return map[string]drafts.Form{
		"/customers/:id":                {Names: customerEditDraftFields(), Prefixes: []string{"attr."}},
		"/settings/preview":             {Names: settingsDraftFields()},
		"/customers/:id/email/confirm":  {Names: []string{"email", "reason", "old"}},
		"/customers/:id/erase":          {Names: []string{"reason", "confirm"}},
		"/customers/:id/export":         reason,
		"/customers/:id/password-reset": reason,
		"/customers/:id/activation":     {Names: []string{"reason", "deviceId"}},
		"/operators":                    {Names: []string{"email", "name", "role"}},
	}
}

func customerEditDraftFields() []string {
	names := []string{"fingerprint", "loaded", "attr_rows", "reason"}
	for _, f := range profile.Fields {
		names = append(names, f.Name)
	}
	for _, a := range profile.Agreements {
		names = append(names, profile.AgreementField(a.Name))
	}
	return names
}

func settingsDraftFields() []string {
	names := []string{"fingerprint"}
	for _, f := range settings.Fields {
		names = append(names, f.Key, "was."+f.Key)
	}
	return names
}

// draftForm finds the draft allow-list of the form posting to action, when the operator
// may post there.
func (h *Handler) draftForm(c echo.Context, action string) (drafts.Form, bool) {
	op := currentOperator(c)
	if op == nil || !strings.HasPrefix(action, "/") {
		return drafts.Form{}, false
	}
	segs := strings.Split(action, "/")
	for pattern, form := range h.drafts {
		r, ok := h.routeFor(http.MethodPost, pattern)
		if ok && r.Allows(op.Role) && patternMatches(strings.Split(pattern, "/"), segs) {
			return form, true
		}
	}
	return drafts.Form{}, false
}
