package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

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
		{Method: http.MethodPost, Path: "/settings", Roles: adminOnly, handle: h.handleSettingsSave},
		{Method: http.MethodGet, Path: "/settings/history", Roles: adminOnly, handle: h.handleSettingsHistory},
		{Method: http.MethodPost, Path: "/settings/history/:seq/restore", Roles: adminOnly, handle: h.handleSettingsRestore},
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

// handleSettingsSave writes confirmed changes: under the settings lock it re-reads the
// settings, refuses when they changed since the admin loaded them, sends the fresh object
// with only the changed keys replaced, and reads it back.
func (h *Handler) handleSettingsSave(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	loaded, changes, problems := settings.ParseConfirm(form)
	if msg, ok := problems[settings.FormProblem]; ok {
		return userError(http.StatusUnprocessableEntity, "Form out of date", msg+" Nothing was saved.")
	}
	if len(problems) > 0 {
		msgs := make([]string, 0, len(problems))
		for _, f := range settings.Fields {
			if msg, ok := problems[f.Key]; ok {
				msgs = append(msgs, msg)
			}
		}
		return userError(http.StatusUnprocessableEntity, "Changes cannot be used", strings.Join(msgs, " ")+" Nothing was saved; start again from the settings page.")
	}
	if len(changes) == 0 {
		return h.redirectWithFlash(c, "/settings", "info", "No changes: every setting already has the value you chose. Nothing was written.")
	}
	reason := strings.TrimSpace(form.Get("reason"))
	if msg := checkSettingsReason(reason); msg != "" {
		v := settingsPreviewView(loaded, changes)
		v.Reason, v.Errors = reason, templates.FieldErrors{"reason": msg}
		return render(c, http.StatusUnprocessableEntity, templates.SettingsPreviewPage(h.page(c, "Check your changes"), v))
	}
	return h.withSettingsLock(c.Request().Context(), func() error {
		return h.saveSettings(c, loaded, changes, reason)
	})
}

func checkSettingsReason(reason string) string {
	if reason == "" {
		return "Say why you are making this change, such as a ticket number. It is kept in the audit log."
	}
	if msg := checkMultiline(reason, maxSettingsReason); msg != "" {
		return "The reason " + msg + "."
	}
	return ""
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

// settingsConflictNote is the audit record's account of a save refused for a conflict.
const settingsConflictNote = "not sent: the settings had changed in Synerise since they were loaded"

// saveSettings is the write, run under the settings lock.
func (h *Handler) saveSettings(c echo.Context, loaded settings.Loaded, changes []settings.Change, reason string) error {
	ctx := c.Request().Context()
	fresh, err := h.Settings.Get(ctx)
	if err != nil {
		return h.settingsUpstreamError(c, err)
	}
	if fresh.Fingerprint() != loaded.Fingerprint {
		// Nothing is sent, but the refused attempt is recorded: who tried to change what,
		// and the settings as they were found.
		refused := h.event(c, audit.ActionSettingsUpdate, settingsTarget)
		refused.Outcome, refused.Reason = audit.OutcomeFailed, reason
		refused.Before = settingsJSON(fresh)
		refused.UpstreamError = settingsConflictNote
		refused.Detail = audit.DetailJSON(settingsDetail{ChangedKeys: settings.Keys(changes), Changes: changes,
			Fingerprint: loaded.Fingerprint, ErrorKind: "conflict"})
		if _, err := h.Audit.Append(ctx, refused); err != nil {
			return errAuditUnavailable
		}
		return h.renderSettingsConflict(c, loaded, fresh, changes, reason)
	}
	// The fingerprints match, so fresh is what the admin loaded; take the old values from it
	// rather than from the form.
	changes = settings.Rebase(fresh, changes)
	if len(changes) == 0 {
		return h.redirectWithFlash(c, "/settings", "info", "No changes: every setting already has the value you chose. Nothing was written.")
	}
	send, err := settings.Apply(fresh, changes)
	if err != nil {
		return err
	}
	intent := h.event(c, audit.ActionSettingsUpdate, settingsTarget)
	intent.Reason = reason
	intent.Before, intent.After = settingsJSON(fresh), settingsJSON(send)
	intent.Detail = audit.DetailJSON(settingsDetail{ChangedKeys: settings.Keys(changes), Changes: changes, Fingerprint: fresh.Fingerprint()})
	if intent, err = h.Audit.Intent(ctx, intent); err != nil {
		return errAuditUnavailable
	}
	// The write is Synerise's from here on: awaited and recorded even if the browser goes away.
	ctx = context.WithoutCancel(ctx)
	_, err = h.Settings.Set(ctx, send)
	h.forgetRegistration()
	if err != nil {
		return h.settingsWriteFailed(c, intent, fresh, send, changes, reason, err)
	}
	readBack, readErr := h.Settings.Get(ctx)
	detail := settingsDetail{ChangedKeys: settings.Keys(changes), Changes: changes, ReadBack: "matches what was sent"}
	var diffs []settings.Change
	if readErr != nil {
		detail.ReadBack = "could not read back: " + readErr.Error()
	} else if diffs = settings.Diff(send, readBack); len(diffs) > 0 {
		detail.ReadBack = "differs from what was sent"
		detail.ReadBackDifferences = auditableChanges(diffs)
	}
	h.settingsOutcome(c, intent, audit.OutcomeSucceeded, func(e *audit.Event) {
		e.Before = settingsJSON(fresh)
		if readBack != nil {
			e.After = settingsJSON(readBack)
		}
		e.Detail = audit.DetailJSON(detail)
	})
	summary := changeSentences(changes)
	switch {
	case readErr != nil:
		return render(c, http.StatusOK, templates.SettingsResultPage(h.page(c, "Settings saved"), templates.SettingsResult{
			Heading: "Settings saved, not yet checked",
			Message: "Synerise accepted the change, but reading the settings back failed, so the console could not check them. Reload the settings page to see the current values.",
			Changes: changeViews(changes),
		}))
	case len(diffs) > 0:
		return render(c, http.StatusOK, templates.SettingsResultPage(h.page(c, "Settings saved with differences"), templates.SettingsResult{
			Heading:     "Settings saved, but Synerise holds other values",
			Message:     "Synerise accepted the change but, read back, holds values other than the console sent (it may have normalised or ignored some). The differences are below and in the audit log.",
			Changes:     changeViews(changes),
			Differences: changeViews(diffs),
		}))
	}
	return h.redirectWithFlash(c, "/settings", "success", "Settings saved. "+summary)
}

// settingsDetail is the Detail of settings.update events. Changes carries the old and new
// values under neutral names, so history can show and restore them.
type settingsDetail struct {
	ChangedKeys         []string          `json:"changedKeys"`
	Changes             []settings.Change `json:"changes,omitempty"`
	Fingerprint         string            `json:"fingerprint,omitempty"`
	ReadBack            string            `json:"readBack,omitempty"`
	ReadBackDifferences []settings.Change `json:"readBackDifferences,omitempty"`
	ErrorKind           string            `json:"errorKind,omitempty"`
	AfterFailure        string            `json:"afterFailure,omitempty"`
}

// auditableChanges keeps the values of modelled keys only: a key the console does not
// know could hold anything, so only its name is recorded.
func auditableChanges(changes []settings.Change) []settings.Change {
	out := make([]settings.Change, len(changes))
	for i, ch := range changes {
		out[i] = settings.Change{Key: ch.Key}
		if settings.Modelled(ch.Key) {
			out[i] = ch
		}
	}
	return out
}

func settingsJSON(s *synerise.Settings) json.RawMessage {
	b, _ := s.MarshalJSON() // never fails
	return b
}

func (h *Handler) settingsOutcome(c echo.Context, intent audit.Event, o audit.Outcome, change func(*audit.Event)) {
	if _, err := h.Audit.Outcome(context.WithoutCancel(c.Request().Context()), intent, o, change); err != nil {
		h.Logger.Error("audit outcome", "err", err, "action", intent.Action, "request_id", requestID(c))
	}
}

// settingsWriteFailed records and explains a failed write. Synerise is never asked again
// to write; it is only read, to show the admin what is there now.
func (h *Handler) settingsWriteFailed(c echo.Context, intent audit.Event, fresh, sent *synerise.Settings,
	changes []settings.Change, reason string, err error,
) error {
	ctx := c.Request().Context()
	var apiErr *synerise.APIError
	isAPI := errors.As(err, &apiErr)
	// An answer from Synerise (or the breaker refusing to call) says the write did not
	// happen; a timeout, a lost connection or a gateway's 502/504 says nothing either way.
	outcome, kind := upstreamOutcome(err), "no answer"
	switch {
	case synerise.IsCircuitOpen(err):
		kind = "circuit open"
	case synerise.IsRateLimited(err):
		kind = "busy"
	case isAPI:
		kind = fmt.Sprintf("status %d", apiErr.StatusCode)
	case synerise.IsTimeout(err):
		kind = "timeout"
	}
	detail := settingsDetail{ChangedKeys: settings.Keys(changes), Changes: changes, ErrorKind: kind}
	var now *synerise.Settings
	if outcome == audit.OutcomeUnknown || (isAPI && apiErr.StatusCode >= 500 && !synerise.IsRateLimited(err)) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		var rerr error
		now, rerr = h.Settings.Get(rctx)
		cancel()
		switch {
		case rerr != nil:
			detail.AfterFailure = "could not read the settings: " + upstreamRecord(rerr)
		case now.Fingerprint() == fresh.Fingerprint():
			detail.AfterFailure = "unchanged"
		case now.Fingerprint() == sent.Fingerprint():
			detail.AfterFailure = "as sent"
		default:
			detail.AfterFailure = "changed otherwise"
		}
	}
	h.settingsOutcome(c, intent, outcome, func(e *audit.Event) {
		recordUpstream(e, err)
		if now != nil {
			e.After = settingsJSON(now)
		}
		e.Detail = audit.DetailJSON(detail)
	})
	h.Logger.Warn("synerise settings write failed", "err", err, "outcome", outcome, "request_id", requestID(c))

	loaded := settings.LoadedFrom(fresh)
	retry := func(status int, problem string) error {
		v := settingsPreviewView(loaded, changes)
		v.Reason, v.Problem = reason, problem
		return render(c, status, templates.SettingsPreviewPage(h.page(c, "Check your changes"), v))
	}
	switch {
	case synerise.IsRateLimited(err), synerise.IsCircuitOpen(err), synerise.IsCredentialsRefused(err):
		v := h.describe(upstream(err))
		return retry(v.Status, v.Message+" Nothing was changed.")
	case isAPI && synerise.IsBadRequest(err):
		input := map[string]string{}
		for _, ch := range changes {
			f, _ := ch.Field()
			input[ch.Key] = f.FormValue(ch.New)
		}
		errs, rest := settingsFieldErrors(apiErr.FieldErrors)
		v := settingsEditView(loaded, input, errs, fresh)
		v.Problem = strings.TrimSpace("Synerise refused the change; nothing was changed. " + rest)
		return render(c, http.StatusUnprocessableEntity, templates.SettingsEditPage(h.page(c, "RaaS settings"), v))
	}
	described := h.describe(upstream(err))
	status, problem := described.Status, described.Message+" "
	if outcome == audit.OutcomeUnknown {
		problem = "Synerise did not confirm the save (" + described.Title + "), so the change may or may not have been applied. "
	}
	if now == nil {
		return userError(status, "Save not confirmed", problem+"Reload the settings page and check the current values before retrying.")
	}
	problem += "The settings read right after show " + afterFailureWords(detail.AfterFailure) + "."
	v := settingsEditView(settings.LoadedFrom(now), nil, nil, now)
	v.Problem = problem + " Check the current values below before retrying."
	return render(c, status, templates.SettingsEditPage(h.page(c, "RaaS settings"), v))
}

// afterFailureWords says what the settings read right after a write of unknown outcome
// held, from the AfterFailure note of its audit record.
func afterFailureWords(note string) string {
	switch {
	case note == "unchanged":
		return "the values from before the change: it was not applied"
	case note == "as sent":
		return "your change: it was applied"
	case note == "changed otherwise":
		return "values that differ from both what was loaded and what was sent"
	case strings.HasPrefix(note, "could not read the settings"):
		return "nothing: " + note
	}
	return "nothing recorded"
}

// settingsFieldErrors puts Synerise's field errors next to the modelled settings; the rest
// come back as one sentence.
func settingsFieldErrors(fes []synerise.FieldError) (templates.FieldErrors, string) {
	errs := templates.FieldErrors{}
	var rest []string
	for _, fe := range fes {
		msg := "Synerise: " + fe.Message + "."
		if settings.Modelled(fe.Field) {
			errs[fe.Field] = msg
		} else {
			rest = append(rest, fe.Field+": "+fe.Message+".")
		}
	}
	return errs, strings.Join(rest, " ")
}

// settingsUpstreamError turns a failed read from Synerise into a message for the admin,
// in the words of the error funnel.
func (h *Handler) settingsUpstreamError(c echo.Context, err error) error {
	h.Logger.Warn("synerise settings read failed", "err", err, "request_id", requestID(c))
	v := h.describe(upstream(err))
	return &publicError{status: v.Status, title: v.Title, msg: v.Message + " The settings could not be read; nothing was changed.", cause: err}
}

// renderSettingsConflict shows what the admin loaded, what is there now and their change,
// with a form that previews their change again on the current values.
func (h *Handler) renderSettingsConflict(c echo.Context, loaded settings.Loaded, fresh *synerise.Settings,
	changes []settings.Change, reason string,
) error {
	now := settings.Values(fresh)
	v := templates.SettingsConflict{}
	mine := map[string]bool{}
	knownDiffer := false
	for _, ch := range changes {
		f, _ := ch.Field()
		mine[ch.Key] = true
		v.Rows = append(v.Rows, templates.ConflictRow{Label: f.Label, Loaded: f.Words(ch.Old), Now: f.Words(now[ch.Key]), Yours: f.Words(ch.New)})
		knownDiffer = knownDiffer || !settings.Equal(ch.Old, now[ch.Key])
	}
	for _, f := range settings.Fields {
		old, ok := loaded.Values[f.Key]
		if mine[f.Key] || !ok || settings.Equal(old, now[f.Key]) {
			continue
		}
		knownDiffer = true
		v.AlsoChanged = append(v.AlsoChanged, templates.SettingChange{Key: f.Key, Label: f.Label, Old: f.Words(old), New: f.Words(now[f.Key])})
	}
	v.UnmodelledChanged = !knownDiffer
	fresh2 := settings.LoadedFrom(fresh)
	v.Reapply = append(v.Reapply, templates.HiddenValue{Name: settings.FingerprintField, Value: fresh2.Fingerprint})
	for _, f := range settings.Fields {
		v.Reapply = append(v.Reapply, templates.HiddenValue{Name: settings.WasField(f.Key), Value: fresh2.Was(f.Key)})
	}
	for _, ch := range changes {
		f, _ := ch.Field()
		v.Reapply = append(v.Reapply, templates.HiddenValue{Name: ch.Key, Value: f.FormValue(ch.New)})
	}
	v.Reapply = append(v.Reapply, templates.HiddenValue{Name: "reason", Value: reason})
	return render(c, http.StatusConflict, templates.SettingsConflictPage(h.page(c, "Settings changed meanwhile"), v))
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
