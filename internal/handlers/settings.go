package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// maxSettingsReason is the longest reason accepted for a settings change.
const maxSettingsReason = 500

// settingsTarget is the audit target of every settings event.
var settingsTarget = audit.Target{Type: "settings", ID: "general", Label: "RaaS general settings"}

// settingsRoutes are the RaaS settings editor.
func (h *Handler) settingsRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/settings", Roles: adminOnly, handle: h.handleSettings},
		{Method: http.MethodPost, Path: "/settings/preview", Roles: adminOnly, handle: h.handleSettingsPreview},
		{Method: http.MethodPost, Path: "/settings", Roles: adminOnly, StepUp: true, handle: h.handleSettingsSave},
		{Method: http.MethodGet, Path: "/settings/history", Roles: adminOnly, handle: h.handleSettingsHistory},
		{Method: http.MethodPost, Path: "/settings/history/:seq/restore", Roles: adminOnly, StepUp: true, handle: h.handleSettingsRestore},
	}
}

func (h *Handler) handleSettings(c echo.Context) error {
	ctx := c.Request().Context()
	view := h.event(c, audit.ActionSettingsView, settingsTarget)
	view.Outcome = audit.OutcomeSucceeded
	if _, err := h.Audit.Append(ctx, view); err != nil {
		return errAuditUnavailable
	}
	s, err := h.Settings.Get(ctx)
	if err != nil {
		return h.settingsUpstreamError(c, err)
	}
	return render(c, http.StatusOK, templates.SettingsEditPage(h.page(c, "RaaS settings"),
		settingsEditView(settings.LoadedFrom(s), nil, nil, s)))
}

// handleSettingsPreview checks the form and shows the changes; it writes nothing.
func (h *Handler) handleSettingsPreview(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	e := settings.ParseEdit(form)
	if len(e.Problems) > 0 {
		return h.rerenderSettingsForm(c, e)
	}
	if len(e.Changes) == 0 {
		return h.redirectWithFlash(c, "/settings", "info", "No changes: every setting already has the value you chose. Nothing was written.")
	}
	v := settingsPreviewView(e.Loaded, e.Changes)
	v.Reason = strings.TrimSpace(form.Get("reason"))
	return render(c, http.StatusOK, templates.SettingsPreviewPage(h.page(c, "Check your changes"), v))
}

// rerenderSettingsForm shows the form again with the admin's input and what is wrong with
// it, with status 422. A form that does not carry what was loaded is rebuilt on a fresh read.
func (h *Handler) rerenderSettingsForm(c echo.Context, e settings.Edit) error {
	s, err := h.Settings.Get(c.Request().Context())
	if err != nil {
		return h.settingsUpstreamError(c, err)
	}
	loaded := e.Loaded
	problem := "Some values cannot be used; see the messages next to them. Nothing was saved."
	if msg, ok := e.Problems[settings.FormProblem]; ok || len(loaded.Values) < len(settings.Fields) {
		loaded, problem = settings.LoadedFrom(s), msg
		if problem == "" {
			problem = "This form was incomplete, so it was loaded again from Synerise. Check your values and preview again."
		}
	}
	v := settingsEditView(loaded, e.Input, e.Problems, s)
	v.Problem = problem
	return render(c, http.StatusUnprocessableEntity, templates.SettingsEditPage(h.page(c, "RaaS settings"), v))
}

// withSettingsLock runs fn holding the settings lock, shared by every replica; it ends
// with its transaction even if this process dies mid-way.
func (h *Handler) withSettingsLock(ctx context.Context, fn func() error) error {
	err := h.SettingsLock.Do(ctx, fn)
	if errors.Is(err, database.ErrLockBusy) {
		return userError(http.StatusServiceUnavailable, "Settings are being saved",
			"Another admin is saving the settings right now. Nothing was written; try again in a moment.")
	}
	return err
}

// settingsUpstreamError turns a failed read from Synerise into a message for the admin,
// in the words of the error funnel.
func (h *Handler) settingsUpstreamError(c echo.Context, err error) error {
	h.Logger.Warn("synerise settings read failed", "err", err, "request_id", requestID(c))
	return settingsReadError(err)
}

// settingsEditView builds the form: loaded values, what the admin typed (input, by key),
// problems (by key) and the keys the console does not model, from s.
func settingsEditView(loaded settings.Loaded, input, problems map[string]string, s *synerise.Settings) templates.SettingsEdit {
	v := templates.SettingsEdit{Fingerprint: loaded.Fingerprint, Errors: templates.FieldErrors{}}
	for k, msg := range problems {
		if k != settings.FormProblem {
			v.Errors[k] = msg
		}
	}
	for _, f := range settings.Fields {
		old := loaded.Values[f.Key]
		sf := templates.SettingField{Key: f.Key, Label: f.Label, Help: f.Help, Current: f.Words(old),
			Was: loaded.Was(f.Key), Value: f.FormValue(old), Unit: f.Unit}
		if typed, ok := input[f.Key]; ok {
			sf.Value = typed
		}
		switch f.Kind {
		case settings.KindChoice:
			sf.Kind = "select"
			if old == nil {
				sf.Options = append(sf.Options, templates.SettingOption{Value: "", Label: "Not set (Synerise's default)"})
			}
			for _, ch := range f.Choices {
				sf.Options = append(sf.Options, templates.SettingOption{Value: ch.Value, Label: ch.Label})
			}
			// A value Synerise holds that the console does not know stays a choice, so
			// leaving the select alone keeps it.
			for _, extra := range []string{f.FormValue(old), sf.Value} {
				if f.Check(mustQuote(extra)) != "" && !hasOption(sf.Options, extra) {
					sf.Options = append(sf.Options, templates.SettingOption{Value: extra, Label: extra + " (not known to this console)"})
				}
			}
		case settings.KindInt:
			sf.Kind, sf.Min, sf.Max = "number", fmt.Sprint(f.Min), fmt.Sprint(f.Max)
		case settings.KindURL:
			sf.Kind = "url"
		case settings.KindUUID:
			sf.Kind = "text"
		case settings.KindBool:
			sf.Kind = "checkbox"
			if sf.Value == "on" {
				sf.Value = "true"
			}
		}
		v.Fields = append(v.Fields, sf)
	}
	for _, k := range settings.Others(s) {
		raw, _ := s.Raw(k)
		v.Others = append(v.Others, templates.OtherSetting{Key: k, Value: string(raw)})
	}
	return v
}

func hasOption(opts []templates.SettingOption, value string) bool {
	for _, o := range opts {
		if o.Value == value {
			return true
		}
	}
	return false
}

func mustQuote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// settingsPreviewView is the confirmation form for changes made on loaded.
func settingsPreviewView(loaded settings.Loaded, changes []settings.Change) templates.SettingsPreview {
	v := templates.SettingsPreview{Fingerprint: loaded.Fingerprint, Changes: changeViews(changes)}
	for _, f := range settings.Fields {
		if _, ok := loaded.Values[f.Key]; ok {
			v.Hidden = append(v.Hidden, templates.HiddenValue{Name: settings.WasField(f.Key), Value: loaded.Was(f.Key)})
		}
	}
	for _, ch := range changes {
		v.Hidden = append(v.Hidden, templates.HiddenValue{Name: settings.NewField(ch.Key), Value: string(ch.New)})
	}
	return v
}

func changeViews(changes []settings.Change) []templates.SettingChange {
	out := make([]templates.SettingChange, 0, len(changes))
	for _, ch := range changes {
		v := templates.SettingChange{Key: ch.Key, Label: ch.Label(), Old: ch.OldWords(), New: ch.NewWords()}
		if f, ok := ch.Field(); ok {
			v.Effect = f.Effect(ch.New)
		}
		out = append(out, v)
	}
	return out
}

func changeSentences(changes []settings.Change) string {
	parts := make([]string, len(changes))
	for i, ch := range changes {
		parts[i] = ch.String()
	}
	return strings.Join(parts, "; ") + "."
}
