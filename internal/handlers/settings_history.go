package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/settings"
	"github.com/raas-console/console/web/templates"
)

// settingsHistoryEvents is how many settings.update rows (intents and outcomes) the
// history reads: about the last hundred changes.
const settingsHistoryEvents = 200

// handleSettingsHistory lists the settings changes made through the console: each outcome
// row joined with its intent, and intents still without an outcome.
func (h *Handler) handleSettingsHistory(c echo.Context) error {
	ctx := c.Request().Context()
	view := h.event(c, audit.ActionSettingsView, settingsTarget)
	view.Outcome, view.Detail = audit.OutcomeSucceeded, audit.DetailJSON(map[string]string{"page": "history"})
	if _, err := h.Audit.Append(ctx, view); err != nil {
		return errAuditUnavailable
	}
	res, err := h.Audit.Search(ctx, audit.Filter{Action: string(audit.ActionSettingsUpdate)}, audit.Cursor{}, settingsHistoryEvents)
	if err != nil {
		return err
	}
	bySeq := map[int64]audit.Event{}
	closed := map[int64]bool{}
	for _, e := range res.Events {
		bySeq[e.Seq] = e
		if e.IntentSeq != 0 {
			closed[e.IntentSeq] = true
		}
	}
	names, err := h.operatorNames(ctx)
	if err != nil {
		return err
	}
	var v templates.SettingsHistory
	for _, e := range res.Events {
		switch {
		case e.IntentSeq != 0:
			intent, ok := bySeq[e.IntentSeq]
			if !ok {
				if intent, err = h.Audit.Get(ctx, e.IntentSeq); err != nil {
					return err
				}
			}
			v.Rows = append(v.Rows, historyRow(intent, &e, names))
		case e.Outcome != audit.OutcomePending:
			// A one-phase record: an attempt refused before anything was sent.
			v.Rows = append(v.Rows, historyRow(e, &e, names))
		case !closed[e.Seq]:
			v.Rows = append(v.Rows, historyRow(e, nil, names))
		}
	}
	return render(c, http.StatusOK, templates.SettingsHistoryPage(h.page(c, "Settings history"), v))
}

// operatorNames maps each operator's id to their name, for naming who made a change.
func (h *Handler) operatorNames(ctx context.Context) (map[int64]string, error) {
	ops, err := h.Operators.List(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(ops))
	for _, op := range ops {
		names[op.ID] = op.Name
	}
	return names, nil
}

// changeTitle names a change by when it was asked for and by whom: "2 Dec 2026, 14:05 UTC
// — Ada Admin", the e-mail standing in for an operator without a name.
func changeTitle(intent audit.Event, names map[int64]string) string {
	who := names[intent.Actor.OperatorID]
	if strings.TrimSpace(who) == "" {
		who = intent.Actor.Email
	}
	return intent.Time.UTC().Format("2 Jan 2006, 15:04 UTC") + " — " + who
}

func historyRow(intent audit.Event, outcome *audit.Event, names map[int64]string) templates.SettingsHistoryRow {
	d := decodeSettingsDetail(intent.Detail)
	row := templates.SettingsHistoryRow{
		Seq: strconv.FormatInt(intent.Seq, 10), Title: changeTitle(intent, names), When: intent.Time.UTC().Format("2006-01-02 15:04:05 UTC"),
		Who: intent.Actor.Email, Reason: intent.Reason, Outcome: "in progress or interrupted", OutcomeClass: "badge-neutral",
		Changes: changeViews(d.Changes),
	}
	if outcome == nil {
		row.Notes = append(row.Notes, "No outcome has been recorded for this change yet.")
		return row
	}
	row.Seq = strconv.FormatInt(outcome.Seq, 10)
	row.Outcome = string(outcome.Outcome)
	od := decodeSettingsDetail(outcome.Detail)
	switch outcome.Outcome {
	case audit.OutcomeSucceeded:
		row.OutcomeClass = "badge-ok"
		if len(d.Changes) > 0 {
			row.RestoreURL = "/settings/history/" + row.Seq + "/restore"
		}
		if len(od.ReadBackDifferences) > 0 {
			row.Notes = append(row.Notes, "Read back, Synerise held other values than were sent: "+changeSentences(od.ReadBackDifferences))
		} else if od.ReadBack != "" && od.ReadBack != "matches what was sent" {
			row.Notes = append(row.Notes, "Read back: "+od.ReadBack+".")
		}
	case audit.OutcomeFailed:
		row.OutcomeClass = "badge-bad"
		if od.ErrorKind == "conflict" {
			row.Outcome = "not sent (conflict)"
			row.Notes = append(row.Notes, "Nothing was sent: another change had reached Synerise since the settings were loaded, and the admin was shown the conflict.")
		} else {
			row.Notes = append(row.Notes, "Nothing was changed. Synerise: "+outcome.UpstreamError)
		}
	default:
		row.OutcomeClass = "badge-warn"
		row.Outcome = "may or may not have been applied"
		row.Notes = append(row.Notes, "Synerise did not confirm this change, so it may or may not have been applied — the settings read right after show "+
			afterFailureWords(od.AfterFailure)+". "+outcome.UpstreamError)
	}
	return row
}

func decodeSettingsDetail(raw json.RawMessage) settingsDetail {
	var d settingsDetail
	_ = json.Unmarshal(raw, &d) // an unreadable detail shows as a change without details
	return d
}

// handleSettingsRestore starts a new change that puts back the values a past change
// replaced, for its keys only: the same preview and confirmation as an edit.
func (h *Handler) handleSettingsRestore(c echo.Context) error {
	ctx := c.Request().Context()
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil || seq <= 0 {
		return errNotFound
	}
	outcome, err := h.Audit.Get(ctx, seq)
	if errors.Is(err, audit.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if outcome.Action != audit.ActionSettingsUpdate || outcome.IntentSeq == 0 {
		return errNotFound
	}
	if outcome.Outcome != audit.OutcomeSucceeded {
		return userError(http.StatusUnprocessableEntity, "Nothing to restore",
			"This change was not made (or whether it was is not known), so there are no earlier values to restore.")
	}
	intent, err := h.Audit.Get(ctx, outcome.IntentSeq)
	if err != nil {
		return err
	}
	var wanted []settings.Change
	var skipped []string
	for _, ch := range decodeSettingsDetail(intent.Detail).Changes {
		f, ok := ch.Field()
		switch {
		case !ok:
			continue
		case ch.Old == nil:
			skipped = append(skipped, f.Label+" was not set before that change; the console cannot unset it, so it is left as it is.")
		case f.Check(ch.Old) != "":
			skipped = append(skipped, f.Label+" was "+f.Words(ch.Old)+" before that change, which the console cannot set; it is left as it is.")
		default:
			wanted = append(wanted, settings.Change{Key: ch.Key, New: ch.Old})
		}
	}
	fresh, err := h.Settings.Get(ctx)
	if err != nil {
		return h.settingsUpstreamError(c, err)
	}
	changes := settings.Rebase(fresh, wanted)
	names, err := h.operatorNames(ctx)
	if err != nil {
		return err
	}
	label := "the change of " + changeTitle(intent, names)
	if len(changes) == 0 {
		return h.redirectWithFlash(c, "/settings/history", "info",
			"No changes: the settings already hold the values from before "+label+". Nothing was written.")
	}
	v := settingsPreviewView(settings.LoadedFrom(fresh), changes)
	v.RestoringFrom, v.Skipped = label+" ("+intent.Actor.Email+")", skipped
	return render(c, http.StatusOK, templates.SettingsPreviewPage(h.page(c, "Check your changes"), v))
}
