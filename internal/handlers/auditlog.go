package handlers

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/web/templates"
)

// auditRoutes are the auditor workspace. Everything here reads; reads are audited too.
func (h *Handler) auditRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/audit", Roles: auditReads, handle: h.handleAuditLog},
		{Method: http.MethodGet, Path: "/audit/export.csv", Roles: auditReads, handle: h.handleAuditExport(audit.FormatCSV)},
		{Method: http.MethodGet, Path: "/audit/export.ndjson", Roles: auditReads, handle: h.handleAuditExport(audit.FormatNDJSON)},
		{Method: http.MethodGet, Path: "/audit/integrity", Roles: auditReads, handle: h.handleAuditIntegrity},
		{Method: http.MethodPost, Path: "/audit/checkpoints", Roles: auditReads, handle: h.handleAuditCheckpoint},
		{Method: http.MethodGet, Path: "/audit/checkpoints/:id", Roles: auditReads, handle: h.handleAuditCheckpointFile},
		{Method: http.MethodGet, Path: "/audit/:seq", Roles: auditReads, handle: h.handleAuditEvent},
	}
}

// Time formats the filter accepts, all in UTC: what datetime-local inputs send, a date,
// and RFC 3339.
var filterTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02", time.RFC3339Nano}

// parseAuditFilter reads the filter from the query: as typed, as a filter, and what is
// wrong with it.
func parseAuditFilter(q url.Values) (templates.AuditFilter, audit.Filter, templates.FieldErrors) {
	typed := templates.AuditFilter{
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("target")), Outcome: strings.TrimSpace(q.Get("outcome")),
		RequestID: strings.TrimSpace(q.Get("request")), Text: strings.TrimSpace(q.Get("q")),
	}
	errs := templates.FieldErrors{}
	f := audit.Filter{Actor: typed.Actor, Action: typed.Action, Target: typed.Target,
		Outcome: audit.Outcome(typed.Outcome), RequestID: typed.RequestID, Text: typed.Text}
	for _, field := range []struct {
		name, label, value string
		max                int
	}{
		{"from", "From", typed.From, 40}, {"to", "Until", typed.To, 40},
		{"actor", "Operator e-mail", typed.Actor, 254}, {"action", "Action", typed.Action, 64},
		{"target", "Target", typed.Target, 254}, {"outcome", "Outcome", typed.Outcome, 20},
		{"request", "Request id", typed.RequestID, 128}, {"q", "Words in the reason", typed.Text, 200},
	} {
		if msg := checkText(field.value, field.max); msg != "" {
			errs[field.name] = field.label + " " + msg + "."
		}
	}
	parseTime := func(name, s string) time.Time {
		if s == "" || errs[name] != "" {
			return time.Time{}
		}
		for _, layout := range filterTimeLayouts {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return t.UTC()
			}
		}
		errs[name] = "Enter a date and time such as 2026-11-01T09:30 (UTC)."
		return time.Time{}
	}
	f.From, f.To = parseTime("from", typed.From), parseTime("to", typed.To)
	if errs["action"] == "" && f.Action != "" && (audit.Filter{Action: f.Action}).Validate() != nil {
		errs["action"] = "Choose an action from the list."
	}
	if errs["outcome"] == "" && f.Outcome != "" && !f.Outcome.Valid() {
		errs["outcome"] = "Choose an outcome from the list."
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		errs["to"] = "The end of the range must be after its start."
	}
	return typed, f, errs
}

// query is the filter as typed, for links: only what the auditor entered.
func filterQuery(typed templates.AuditFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": typed.From, "to": typed.To, "actor": typed.Actor, "action": typed.Action,
		"target": typed.Target, "outcome": typed.Outcome, "request": typed.RequestID, "q": typed.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func auditURL(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// filterDetail is the filter as an audit event records it.
func filterDetail(typed templates.AuditFilter) map[string]string {
	d := map[string]string{}
	for k, v := range filterQuery(typed) {
		d[k] = v[0]
	}
	return d
}

// setParams is q without its empty parameters, and whether any were dropped.
func setParams(q url.Values) (url.Values, bool) {
	out := url.Values{}
	dropped := false
	for k, vs := range q {
		for _, v := range vs {
			if strings.TrimSpace(v) == "" {
				dropped = true
				continue
			}
			out.Add(k, v)
		}
	}
	return out, dropped
}

func (h *Handler) handleAuditLog(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	// A filter form sent as it is (without the page's script) names every field, the empty
	// ones too; the address to keep and share names only the filters that are set.
	if set, dropped := setParams(q); dropped {
		return c.Redirect(http.StatusSeeOther, auditURL("/audit", set))
	}
	typed, filter, errs := parseAuditFilter(q)
	v := templates.AuditLog{Filter: typed, Errors: errs, Actions: actionOptions(), Outcomes: outcomeOptions(),
		Filtered: len(filterQuery(typed)) > 0}
	if len(errs) > 0 {
		return h.renderAuditLog(c, http.StatusUnprocessableEntity, v)
	}
	cur := audit.Cursor{}
	cur.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	cur.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)

	detail := map[string]any{"filter": filterDetail(typed)}
	if cur.Before > 0 {
		detail["before"] = cur.Before
	}
	if cur.After > 0 {
		detail["after"] = cur.After
	}
	e := h.event(c, audit.ActionAuditSearch, audit.Target{Type: "audit_log"})
	e.Outcome, e.Detail = audit.OutcomeSucceeded, audit.DetailJSON(detail)
	if _, err := h.Audit.Append(ctx, e); err != nil {
		return errAuditUnavailable
	}
	res, err := h.Audit.Search(ctx, filter, cur, audit.DefaultPageSize)
	if err != nil {
		return err
	}
	for _, ev := range res.Events {
		v.Rows = append(v.Rows, auditRow(ev))
	}
	base := filterQuery(typed)
	page := func(key string, seq int64) string {
		q := filterQuery(typed)
		q.Set(key, strconv.FormatInt(seq, 10))
		return auditURL("/audit", q)
	}
	if res.Newer > 0 {
		v.NewerURL = page("after", res.Newer)
	}
	if res.Older > 0 {
		v.OlderURL = page("before", res.Older)
	}
	if cur.Before > 0 || cur.After > 0 {
		v.NewestURL = auditURL("/audit", base)
	}
	v.ExportCSV = auditURL("/audit/export.csv", base)
	v.ExportNDJSON = auditURL("/audit/export.ndjson", base)
	return h.renderAuditLog(c, http.StatusOK, v)
}

func (h *Handler) renderAuditLog(c echo.Context, status int, v templates.AuditLog) error {
	if isHTMX(c) {
		return render(c, status, templates.AuditWorkspace(v))
	}
	return render(c, status, templates.AuditLogPage(h.page(c, "Audit log"), v))
}

func actionOptions() []templates.AuditOption {
	var out []templates.AuditOption
	for _, g := range audit.ActionGroups() {
		out = append(out, templates.AuditOption{Value: g + ".*", Label: "All " + g + " actions (" + g + ".*)"})
	}
	for _, a := range audit.Actions() {
		out = append(out, templates.AuditOption{Value: string(a), Label: a.Describe() + " (" + string(a) + ")"})
	}
	return out
}

func outcomeOptions() []templates.AuditOption {
	var out []templates.AuditOption
	for _, o := range []audit.Outcome{audit.OutcomeSucceeded, audit.OutcomeFailed, audit.OutcomeDenied, audit.OutcomePending, audit.OutcomeUnknown} {
		label, _ := outcomeWords(o)
		out = append(out, templates.AuditOption{Value: string(o), Label: label})
	}
	return out
}

// outcomeWords is the outcome as a person reads it, with its badge class.
func outcomeWords(o audit.Outcome) (string, string) {
	switch o {
	case audit.OutcomeSucceeded:
		return "Succeeded", "badge-ok"
	case audit.OutcomeFailed:
		return "Failed", "badge-bad"
	case audit.OutcomeDenied:
		return "Denied", "badge-bad"
	case audit.OutcomePending:
		return "Intent (about to act)", "badge-warn"
	case audit.OutcomeUnknown:
		return "Outcome unknown", "badge-warn"
	}
	return string(o), "badge-neutral"
}

const auditTimeLayout = "2006-01-02 15:04:05 UTC"

func auditRow(e audit.Event) templates.AuditRow {
	outcome, class := outcomeWords(e.Outcome)
	seq := strconv.FormatInt(e.Seq, 10)
	return templates.AuditRow{
		Seq: seq, Href: "/audit/" + seq, Time: e.Time.UTC().Format(auditTimeLayout),
		ActorEmail: e.Actor.Email, ActorRole: e.Actor.Role,
		Action: e.Action.Describe(), ActionName: string(e.Action),
		TargetType: e.Target.Type, TargetLabel: e.Target.Label, TargetID: e.Target.ID,
		Outcome: outcome, OutcomeClass: class, Reason: e.Reason,
	}
}

func (h *Handler) handleAuditEvent(c echo.Context) error {
	ctx := c.Request().Context()
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil || seq <= 0 {
		return errNotFound
	}
	view := h.event(c, audit.ActionAuditView, audit.Target{Type: "audit_event", ID: strconv.FormatInt(seq, 10)})
	view.Outcome = audit.OutcomeSucceeded
	if _, err := h.Audit.Append(ctx, view); err != nil {
		return errAuditUnavailable
	}
	e, err := h.Audit.Get(ctx, seq)
	if errors.Is(err, audit.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	v := templates.AuditEvent{Row: auditRow(e), Fields: eventFields(e), Detail: indentJSON(e.Detail)}
	before, after := e.Before, e.After
	switch {
	case e.IntentSeq > 0:
		intent, err := h.Audit.Get(ctx, e.IntentSeq)
		if err != nil && !errors.Is(err, audit.ErrNotFound) {
			return err
		}
		if err == nil {
			row := auditRow(intent)
			v.Intent = &row
			before, after = firstJSON(intent.Before, e.Before), firstJSON(e.After, intent.After)
		}
	case e.Outcome == audit.OutcomePending:
		outcomes, err := h.Audit.Outcomes(ctx, e.Seq)
		if err != nil {
			return err
		}
		for _, o := range outcomes {
			v.Outcomes = append(v.Outcomes, auditRow(o))
			after = firstJSON(o.After, after)
		}
		v.Pending = len(outcomes) == 0
	}
	for _, ch := range audit.Diff(before, after) {
		v.Changes = append(v.Changes, templates.AuditChange{Path: ch.Path, Kind: ch.Kind, KindClass: changeClass(ch.Kind),
			Before: ch.Before, After: ch.After})
	}
	v.ActorURL = auditURL("/audit", url.Values{"actor": {e.Actor.Email}})
	// A customer's timeline is linked by id, never by e-mail: no customer PII in URLs.
	if e.Target.ID != "" {
		v.TargetURL = auditURL("/audit", url.Values{"target": {e.Target.ID}})
	} else if e.Target.Label != "" && e.Target.Type == "operator" {
		v.TargetURL = auditURL("/audit", url.Values{"target": {e.Target.Label}})
	}
	return render(c, http.StatusOK, templates.AuditEventPage(h.page(c, "Audit event "+v.Row.Seq), v))
}

func firstJSON(a, b json.RawMessage) json.RawMessage {
	if a != nil {
		return a
	}
	return b
}

func changeClass(kind string) string {
	switch kind {
	case audit.ChangeAdded:
		return "badge-ok"
	case audit.ChangeRemoved:
		return "badge-bad"
	case audit.ChangeChanged:
		return "badge-warn"
	}
	return "badge-neutral"
}

func indentJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// eventFields are every stored field of e, labelled.
func eventFields(e audit.Event) []templates.AuditField {
	outcome, _ := outcomeWords(e.Outcome)
	orNone := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	num := func(n int64) string {
		if n == 0 {
			return "—"
		}
		return strconv.FormatInt(n, 10)
	}
	jsonOrNone := func(raw json.RawMessage) string {
		if raw == nil {
			return "—"
		}
		return string(raw)
	}
	return []templates.AuditField{
		{Label: "Sequence", Value: strconv.FormatInt(e.Seq, 10)},
		{Label: "Time (UTC)", Value: e.Time.UTC().Format("2006-01-02 15:04:05.000000 UTC")},
		{Label: "Operator", Value: orNone(e.Actor.Email)},
		{Label: "Operator id", Value: num(e.Actor.OperatorID)},
		{Label: "Role", Value: orNone(e.Actor.Role)},
		{Label: "Action", Value: e.Action.Describe() + " (" + string(e.Action) + ")"},
		{Label: "Target type", Value: orNone(e.Target.Type)},
		{Label: "Target id", Value: orNone(e.Target.ID), Code: e.Target.ID != ""},
		{Label: "Target", Value: orNone(e.Target.Label)},
		{Label: "Reason", Value: orNone(e.Reason)},
		{Label: "Outcome", Value: outcome},
		{Label: "Upstream status", Value: num(int64(e.UpstreamStatus))},
		{Label: "Upstream error", Value: orNone(e.UpstreamError)},
		{Label: "Trace id", Value: orNone(e.TraceID), Code: e.TraceID != ""},
		{Label: "Request id", Value: orNone(e.RequestID), Code: e.RequestID != ""},
		{Label: "Client IP", Value: orNone(e.ClientIP)},
		{Label: "User agent", Value: orNone(e.UserAgent)},
		{Label: "Intent seq", Value: num(e.IntentSeq)},
		{Label: "Detail", Value: string(e.Detail), Code: true},
		{Label: "Before", Value: jsonOrNone(e.Before), Code: e.Before != nil},
		{Label: "After", Value: jsonOrNone(e.After), Code: e.After != nil},
		{Label: "Previous hash", Value: hex.EncodeToString(e.PrevHash), Code: true},
		{Label: "Hash", Value: hex.EncodeToString(e.Hash), Code: true},
	}
}
