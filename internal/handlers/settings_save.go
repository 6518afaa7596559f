package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/approvals"
	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

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
	if h.underApproval(approvals.ActionSettings) {
		return h.requestSettingsChange(c, loaded, changes, reason)
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

// settingsConflictNote is the audit record's account of a save refused for a conflict.
const settingsConflictNote = "not sent: the settings had changed in Synerise since they were loaded"

// unchangedSettings reads the settings again and, when they are still those the admin
// loaded, returns them with changes rebased on them (the old values taken from Synerise,
// not from the form). Otherwise it has answered — the conflict page, or the upstream
// error — and reports answered.
func (h *Handler) unchangedSettings(c echo.Context, loaded settings.Loaded, changes []settings.Change, reason string) (*synerise.Settings, []settings.Change, bool, error) {
	fresh, err := h.Settings.Get(c.Request().Context())
	if err != nil {
		return nil, nil, true, h.settingsUpstreamError(c, err)
	}
	if fresh.Fingerprint() != loaded.Fingerprint {
		return nil, nil, true, h.refuseSettingsConflict(c, loaded, fresh, changes, reason)
	}
	return fresh, settings.Rebase(fresh, changes), false, nil
}

// saveSettings is the write, run under the settings lock.
func (h *Handler) saveSettings(c echo.Context, loaded settings.Loaded, changes []settings.Change, reason string) error {
	fresh, changes, answered, err := h.unchangedSettings(c, loaded, changes, reason)
	if answered || err != nil {
		return err
	}
	if len(changes) == 0 {
		return h.redirectWithFlash(c, "/settings", "info", "No changes: every setting already has the value you chose. Nothing was written.")
	}
	w, err := h.writeSettings(c, fresh, changes, reason, "")
	switch {
	case errors.Is(err, errAuditUnavailable), w == nil && err != nil:
		return err
	case err != nil:
		return h.settingsWriteFailed(c, w, w.outcome, reason, err)
	}
	h.dropDraft(c, "/settings")
	return h.settingsSaved(c, w)
}

// writeSettings sends fresh with changes applied, between the intent and the outcome of
// settings.update, and reads the settings back. request names the approval request it
// carries out ("request #N"), empty for a direct save. A nil write means nothing was sent.
func (h *Handler) writeSettings(c echo.Context, fresh *synerise.Settings, changes []settings.Change, reason, request string) (*settingsWrite, error) {
	send, err := settings.Apply(fresh, changes)
	if err != nil {
		return nil, err
	}
	w := &settingsWrite{api: h.Settings, forget: h.forgetRegistration, fresh: fresh, sent: send, changes: changes, request: request}
	intent := h.event(c, audit.ActionSettingsUpdate, settingsTarget)
	intent.Reason = reason
	intent.Before, intent.After = settingsJSON(fresh), settingsJSON(send)
	intent.Detail = audit.DetailJSON(settingsDetail{Request: request, ChangedKeys: settings.Keys(changes), Changes: changes,
		Fingerprint: fresh.Fingerprint()})
	res, err := h.perform(c, syneriseOperation(intent, w.run, w.record))
	w.outcome = res.Outcome
	return w, err
}

// refuseSettingsConflict records a save refused because the settings changed since the
// admin loaded them: nothing is sent, but who tried to change what, and the settings as
// they were found, are kept.
func (h *Handler) refuseSettingsConflict(c echo.Context, loaded settings.Loaded, fresh *synerise.Settings,
	changes []settings.Change, reason string,
) error {
	refused := h.event(c, audit.ActionSettingsUpdate, settingsTarget)
	refused.Outcome, refused.Reason = audit.OutcomeFailed, reason
	refused.Before = settingsJSON(fresh)
	refused.UpstreamError = settingsConflictNote
	refused.Detail = audit.DetailJSON(settingsDetail{ChangedKeys: settings.Keys(changes), Changes: changes,
		Fingerprint: loaded.Fingerprint, ErrorKind: "conflict"})
	if _, err := h.Audit.Append(c.Request().Context(), refused); err != nil {
		return errAuditUnavailable
	}
	return h.renderSettingsConflict(c, loaded, fresh, changes, reason)
}

// settingsWrite is one write of the settings: what was found and sent, and what Synerise
// held when read right after.
type settingsWrite struct {
	api     settingsAPI
	forget  func() // forgets what the console remembers of the settings
	fresh   *synerise.Settings
	sent    *synerise.Settings
	changes []settings.Change
	request string // "request #N" when the write carries out an approved request

	outcome  audit.Outcome      // how the write ended
	readBack *synerise.Settings // read after a write Synerise accepted
	readErr  error              // why readBack could not be read
	diffs    []settings.Change  // where readBack differs from sent
	now      *synerise.Settings // read after a failed write whose effect is in doubt; nil when not read
	detail   settingsDetail     // the outcome row's Detail
}

// run sends the settings, then reads them back so that the outcome row says what
// Synerise holds. Synerise is never asked again to write; it is only read.
func (w *settingsWrite) run(ctx context.Context) error {
	_, err := w.api.Set(ctx, w.sent)
	w.forget()
	if err != nil {
		w.readAfterFailure(ctx, err)
		return err
	}
	w.detail = settingsDetail{ChangedKeys: settings.Keys(w.changes), Changes: w.changes, ReadBack: "matches what was sent"}
	w.readBack, w.readErr = w.api.Get(ctx)
	if w.readErr != nil {
		w.detail.ReadBack = "could not read back: " + w.readErr.Error()
	} else if w.diffs = settings.Diff(w.sent, w.readBack); len(w.diffs) > 0 {
		w.detail.ReadBack = "differs from what was sent"
		w.detail.ReadBackDifferences = auditableChanges(w.diffs)
	}
	return nil
}

// readAfterFailure reads the settings after a failed write when its effect is in doubt:
// an answer from Synerise (or the breaker refusing to call) says the write did not
// happen; a timeout, a lost connection or a gateway's 502/504 says nothing either way.
func (w *settingsWrite) readAfterFailure(ctx context.Context, err error) {
	w.detail = settingsDetail{ChangedKeys: settings.Keys(w.changes), Changes: w.changes, ErrorKind: upstreamKind(err)}
	var api *synerise.APIError
	serverError := errors.As(err, &api) && api.StatusCode >= 500 && !synerise.IsRateLimited(err)
	if upstreamOutcome(err) != audit.OutcomeUnknown && !serverError {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rerr error
	w.now, rerr = w.api.Get(rctx)
	switch {
	case rerr != nil:
		w.detail.AfterFailure = "could not read the settings: " + upstreamRecord(rerr)
	case w.now.Fingerprint() == w.fresh.Fingerprint():
		w.detail.AfterFailure = "unchanged"
	case w.now.Fingerprint() == w.sent.Fingerprint():
		w.detail.AfterFailure = "as sent"
	default:
		w.detail.AfterFailure = "changed otherwise"
	}
}

// record adds the settings to the outcome row; syneriseOperation has recorded what
// Synerise answered.
func (w *settingsWrite) record(e *audit.Event, err error) {
	if err != nil {
		if w.now != nil {
			e.After = settingsJSON(w.now)
		}
	} else {
		e.Before = settingsJSON(w.fresh)
		if w.readBack != nil {
			e.After = settingsJSON(w.readBack)
		}
	}
	w.detail.Request = w.request
	e.Detail = audit.DetailJSON(w.detail)
}

// settingsSaved tells the admin about a write Synerise accepted, and what reading it
// back showed.
func (h *Handler) settingsSaved(c echo.Context, w *settingsWrite) error {
	switch {
	case w.readErr != nil:
		return render(c, http.StatusOK, templates.SettingsResultPage(h.page(c, "Settings saved"), templates.SettingsResult{
			Heading: "Settings saved, not yet checked",
			Message: "Synerise accepted the change, but reading the settings back failed, so the console could not check them. Reload the settings page to see the current values.",
			Changes: changeViews(w.changes),
		}))
	case len(w.diffs) > 0:
		return render(c, http.StatusOK, templates.SettingsResultPage(h.page(c, "Settings saved with differences"), templates.SettingsResult{
			Heading:     "Settings saved, but Synerise holds other values",
			Message:     "Synerise accepted the change but, read back, holds values other than the console sent (it may have normalised or ignored some). The differences are below and in the audit log.",
			Changes:     changeViews(w.changes),
			Differences: changeViews(w.diffs),
		}))
	}
	return h.redirectWithFlash(c, "/settings", "success", "Settings saved. "+changeSentences(w.changes))
}

// settingsWriteFailed explains a failed write, already recorded: the admin may retry a
// write Synerise refused for a while, fix values it refused, or check what it holds.
func (h *Handler) settingsWriteFailed(c echo.Context, w *settingsWrite, outcome audit.Outcome, reason string, err error) error {
	h.Logger.Warn("synerise settings write failed", "err", err, "outcome", outcome, "request_id", requestID(c))
	loaded := settings.LoadedFrom(w.fresh)
	var apiErr *synerise.APIError
	switch {
	case synerise.IsRateLimited(err), synerise.IsCircuitOpen(err), synerise.IsCredentialsRefused(err):
		described := h.describe(upstream(err))
		v := settingsPreviewView(loaded, w.changes)
		v.Reason, v.Problem = reason, inOneParagraph(described)+" Nothing was changed."
		return render(c, described.Status, templates.SettingsPreviewPage(h.page(c, "Check your changes"), v))
	case errors.As(err, &apiErr) && synerise.IsBadRequest(err):
		input := map[string]string{}
		for _, ch := range w.changes {
			f, _ := ch.Field()
			input[ch.Key] = f.FormValue(ch.New)
		}
		errs, rest := settingsFieldErrors(apiErr.FieldErrors)
		v := settingsEditView(loaded, input, errs, w.fresh)
		v.Problem = strings.TrimSpace("Synerise refused the change; nothing was changed. " + rest)
		return render(c, http.StatusUnprocessableEntity, templates.SettingsEditPage(h.page(c, "RaaS settings"), v))
	}
	status, problem := settingsWriteProblem(err, outcome)
	if w.now == nil {
		return userError(status, "Save not confirmed", problem+"Reload the settings page and check the current values before retrying.")
	}
	problem += "The settings read right after show " + afterFailureWords(w.detail.AfterFailure) + "."
	v := settingsEditView(settings.LoadedFrom(w.now), nil, nil, w.now)
	v.Problem = problem + " Check the current values below before retrying."
	return render(c, status, templates.SettingsEditPage(h.page(c, "RaaS settings"), v))
}

// settingsDetail is the Detail of settings.update events. Changes carries the old and new
// values under neutral names, so history can show and restore them.
type settingsDetail struct {
	// Request names the approval request the write carried out, if any.
	Request             string            `json:"request,omitempty"`
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
		v.Rows = append(v.Rows, templates.ConflictRow{Key: ch.Key, Label: f.Label, Loaded: f.Words(ch.Old), Now: f.Words(now[ch.Key]), Yours: f.Words(ch.New)})
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
