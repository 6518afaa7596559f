package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/profile"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// customerRoutes are the support workflows.
func (h *Handler) customerRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/customers", Roles: support, handle: h.handleCustomerSearchPage},
		{Method: http.MethodPost, Path: "/customers/search", Roles: support, handle: h.handleCustomerSearch},
		{Method: http.MethodGet, Path: "/customers/:id", Roles: support, handle: h.handleCustomer},
		{Method: http.MethodGet, Path: "/customers/:id/edit", Roles: support, handle: h.handleCustomerEditForm},
		{Method: http.MethodPost, Path: "/customers/:id", Roles: support, StepUp: true, handle: h.handleCustomerUpdate},
		{Method: http.MethodGet, Path: "/customers/:id/password-reset", Roles: support, handle: h.handlePasswordResetForm},
		{Method: http.MethodPost, Path: "/customers/:id/password-reset", Roles: support, handle: h.handlePasswordReset},
		{Method: http.MethodGet, Path: "/customers/:id/activation", Roles: support, handle: h.handleActivationForm},
		{Method: http.MethodPost, Path: "/customers/:id/activation", Roles: support, handle: h.handleActivationResend},
		{Method: http.MethodGet, Path: "/customers/:id/email", Roles: support, handle: h.handleCustomerEmailForm},
		{Method: http.MethodPost, Path: "/customers/:id/email/confirm", Roles: support, handle: h.handleCustomerEmailConfirm},
		{Method: http.MethodPost, Path: "/customers/:id/email", Roles: support, StepUp: true, handle: h.handleCustomerEmailChange},
		{Method: http.MethodGet, Path: "/customers/:id/erase", Roles: support, handle: h.handleCustomerEraseForm},
		{Method: http.MethodPost, Path: "/customers/:id/erase", Roles: support, StepUp: true, handle: h.handleCustomerErase},
		{Method: http.MethodGet, Path: "/customers/:id/export", Roles: support, handle: h.handleCustomerExportForm},
		{Method: http.MethodPost, Path: "/customers/:id/export", Roles: support, handle: h.handleCustomerExport},
		{Method: http.MethodGet, Path: "/sandbox/outbox", Roles: support, handle: h.handleSandboxOutbox},
	}
}

const (
	customerTarget  = "customer"
	searchPageSize  = 20
	maxSearchLength = 254
	timelineLength  = 50
	maxReasonLength = 500
	customerTimeUTC = "2006-01-02 15:04:05"
)

func customerPath(id int64) string { return "/customers/" + idString(id) }

// customerName is how the console names a customer: display name, full name, e-mail,
// or the clientId for anonymous profiles.
func customerName(p *synerise.Profile) string {
	if n := strings.TrimSpace(p.FirstName + " " + p.LastName); n != "" {
		return n
	}
	if p.DisplayName != "" {
		return p.DisplayName
	}
	if p.Email != "" {
		return p.Email
	}
	if p.Anonymous {
		return "Anonymous customer " + idString(p.ClientID)
	}
	return "Customer " + idString(p.ClientID)
}

// customerID reads the :id parameter, a positive clientId.
func customerID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// loadCustomer reads one customer from Synerise; a missing one is a clear 404.
func (h *Handler) loadCustomer(c echo.Context) (*synerise.Profile, error) {
	id, err := customerID(c)
	if err != nil {
		return nil, err
	}
	p, err := h.Profiles.Get(c.Request().Context(), id)
	if synerise.IsNotFound(err) {
		return nil, &publicError{status: http.StatusNotFound, title: "No such customer",
			msg: "Synerise has no customer with clientId " + idString(id) + ". It may have been deleted; search again.", cause: err}
	}
	if err != nil {
		return nil, upstream(err)
	}
	return p, nil
}

func customerAuditTarget(p *synerise.Profile) audit.Target {
	return audit.Target{Type: customerTarget, ID: idString(p.ClientID), Label: p.Email}
}

// handleCustomer shows one customer. The view is recorded while Synerise is asked for the
// profile (and the customer's earlier history is read from the audit log): first as an
// intent, "operator X opens customer N", which names the customer by its clientId only,
// since nothing Synerise has not confirmed goes into the record. The page is sent only once
// both the record and the profile are there; nothing is sent when the record fails. The
// intent is then closed by its outcome: failed, with what Synerise said, before the error
// page; succeeded once the page is on its way, off the page's path, so the record does not
// add to Synerise's latency. An optional reason may come with the link (?reason=).
func (h *Handler) handleCustomer(c echo.Context) error {
	reason := ""
	if sameOriginNavigation(c.Request()) {
		reason = strings.TrimSpace(c.QueryParam("reason"))
	}
	if msg := checkText(reason, maxReasonLength); msg != "" {
		return userError(http.StatusBadRequest, "Reason not accepted", "The reason "+msg+".")
	}
	id, err := customerID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	earlier := h.history(ctx, id)
	regc := h.registrationAside(ctx)
	recorded := h.recordView(ctx, h.viewIntent(c, id, reason))
	p, readErr := h.loadCustomer(c)
	rec := <-recorded
	if rec.err != nil {
		h.Logger.Error("audit customer view", "err", rec.err, "request_id", requestID(c))
		return errAuditUnavailable
	}
	if readErr != nil {
		return h.closeFailedView(c, rec.intent, readErr)
	}
	hist := <-earlier
	if hist.err != nil {
		return hist.err
	}
	reg := <-regc
	v := templates.CustomerPage{
		Details:             customerDetails(p, reg),
		CanResetPassword:    hasPasswordAccount(p),
		CanResendActivation: canResendActivation(p, reg),
		Timeline:            timelineView(withView(rec.intent, hist.entries)),
	}
	h.closeShownView(rec.intent, p.Email)
	return render(c, http.StatusOK, templates.CustomerPageView(h.page(c, customerName(p)), v))
}

// viewIntent is the record of a customer view before Synerise has answered: who opens which
// clientId, and why. The target's label stays empty: the e-mail is not known yet, and a
// label taken from the request (a search result, a link) would be unconfirmed.
func (h *Handler) viewIntent(c echo.Context, id int64, reason string) audit.Event {
	ev := h.event(c, audit.ActionCustomerView, audit.Target{Type: customerTarget, ID: idString(id)})
	ev.Reason = reason
	return ev
}

// viewRecord is a view's intent as stored, or why it could not be.
type viewRecord struct {
	intent audit.Event
	err    error
}

// recordView writes a view's intent while the caller reads the customer.
func (h *Handler) recordView(ctx context.Context, ev audit.Event) <-chan viewRecord {
	out := make(chan viewRecord, 1) // buffered: an early return leaves nothing blocked
	go func() {
		intent, err := h.Audit.Intent(ctx, ev)
		out <- viewRecord{intent, err}
	}()
	return out
}

// closeFailedView records that a view ended without the customer shown (Synerise failed or
// has no such customer) and returns err for the error funnel; a record that cannot be
// written makes the answer "audit log unavailable" (the intent is then closed as unknown).
func (h *Handler) closeFailedView(c echo.Context, intent audit.Event, err error) error {
	_, aerr := h.Audit.Outcome(c.Request().Context(), intent, audit.OutcomeFailed, func(e *audit.Event) { recordUpstream(e, err) })
	if aerr != nil {
		h.Logger.Error("audit failed customer view", "err", aerr, "request_id", requestID(c))
		return errAuditUnavailable
	}
	return err
}

// closeShownView records, beside the page being sent, that the view succeeded, labelled with
// the e-mail Synerise gave (so that a search of the log by e-mail finds the view). The row is
// queued and written within moments together with the other views' outcomes (see
// audit.Store.OutcomeLater). Should that write fail, the intent stays open and is closed as
// "outcome unknown" with the other intents left without an outcome.
func (h *Handler) closeShownView(intent audit.Event, email string) {
	label := func(e *audit.Event) { e.Target.Label = email }
	logFailure := func(_ audit.Event, err error) {
		if err != nil {
			h.Logger.Error("audit customer view outcome", "err", err, "seq", intent.Seq)
		}
	}
	if err := h.Audit.OutcomeLater(intent, audit.OutcomeSucceeded, label, logFailure); err != nil {
		h.Logger.Error("audit customer view outcome", "err", err, "seq", intent.Seq)
	}
}

// withView is the customer's history with the view being shown in front, as succeeded. Its
// intent may already be in the history read beside it, and is then left out there.
func withView(intent audit.Event, earlier []audit.TimelineEntry) []audit.TimelineEntry {
	entries := make([]audit.TimelineEntry, 0, len(earlier)+1)
	entries = append(entries, audit.TimelineEntry{Seq: intent.Seq, Time: intent.Time, Actor: intent.Actor,
		Action: intent.Action, Reason: intent.Reason, Outcome: audit.OutcomeSucceeded})
	for _, e := range earlier {
		if e.Seq != intent.Seq {
			entries = append(entries, e)
		}
	}
	return entries
}

// customerHistory is the customer's earlier history, or why it could not be read.
type customerHistory struct {
	entries []audit.TimelineEntry
	err     error
}

// history reads the customer's newest events from the audit log while the caller goes on.
func (h *Handler) history(ctx context.Context, id int64) <-chan customerHistory {
	out := make(chan customerHistory, 1) // buffered: an early return leaves nothing blocked
	go func() {
		entries, err := h.timelineEntries(ctx, id, timelineLength-1)
		out <- customerHistory{entries, err}
	}()
	return out
}

// sameOriginNavigation reports whether a request came from a page of this console: the
// browser's Fetch Metadata says same-origin or, from a browser that sends none, the Referer
// is this console. A reason in a link is the operator's word only then; a link followed from
// another site must not put words in the operator's name.
func sameOriginNavigation(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	ref, err := url.Parse(r.Referer())
	return err == nil && ref.Host != "" && ref.Host == r.Host && (ref.Scheme == "http" || ref.Scheme == "https")
}

// recordFailedAttempt writes a one-row audit record of an attempt that failed before
// anything was changed (the customer could not be read, say), then returns err for the
// error funnel. A record that cannot be written makes the answer "audit log unavailable".
func (h *Handler) recordFailedAttempt(c echo.Context, action audit.Action, target audit.Target, reason string, err error) error {
	// The reason comes straight from the form: it is recorded only if it would have been
	// accepted (length, control and direction-control characters), like any other reason.
	if reason = strings.TrimSpace(reason); checkReason(reason) != "" {
		reason = ""
	}
	ev := h.event(c, action, target)
	ev.Outcome, ev.Reason = audit.OutcomeFailed, reason
	recordUpstream(&ev, err)
	if _, aerr := h.Audit.Append(context.WithoutCancel(c.Request().Context()), ev); aerr != nil {
		h.Logger.Error("audit failed attempt", "err", aerr, "action", string(action), "request_id", requestID(c))
		return errAuditUnavailable
	}
	return err
}

// timelineEntries reads the newest limit events about the customer from the audit log.
func (h *Handler) timelineEntries(ctx context.Context, clientID int64, limit int) ([]audit.TimelineEntry, error) {
	entries, err := h.Audit.Timeline(ctx, customerTarget, idString(clientID), limit)
	if err != nil {
		return nil, fmt.Errorf("customers: history: %w", err)
	}
	return entries, nil
}

// timelineView is the customer's console history as the page shows it, newest first. An
// intent whose outcome is also listed is folded into it.
func timelineView(entries []audit.TimelineEntry) []templates.CustomerEvent {
	closed := map[int64]bool{}
	for _, e := range entries {
		if e.IntentSeq != 0 {
			closed[e.IntentSeq] = true
		}
	}
	out := make([]templates.CustomerEvent, 0, len(entries))
	for _, e := range entries {
		if e.Outcome == audit.OutcomePending && closed[e.Seq] {
			continue
		}
		words, class := historyOutcome(e.Outcome)
		out = append(out, templates.CustomerEvent{
			Time: e.Time.UTC().Format(customerTimeUTC), Actor: e.Actor.Email, Role: e.Actor.Role,
			Action: e.Action.Describe(), Outcome: words, OutcomeClass: class, Reason: e.Reason,
		})
	}
	return out
}

// historyOutcome is outcomeWords for a customer's timeline, where a pending intent that
// is shown is one still in progress.
func historyOutcome(o audit.Outcome) (string, string) {
	if o == audit.OutcomePending {
		return "In progress (no outcome yet)", "badge-warn"
	}
	return outcomeWords(o)
}

func customerDetails(p *synerise.Profile, reg registration) templates.CustomerDetails {
	d := templates.CustomerDetails{
		Base: customerPath(p.ClientID), ClientID: idString(p.ClientID), Title: customerName(p),
		Identifiers: []templates.CustomerField{
			{Label: "clientId", Value: idString(p.ClientID)}, {Label: "uuid", Value: p.UUID},
			{Label: "E-mail", Value: p.Email}, {Label: "customId", Value: p.CustomID},
		},
		Activation: activationState(p, reg), Anonymous: p.Anonymous,
	}
	for _, f := range profile.Fields {
		d.Basic = append(d.Basic, templates.CustomerField{Label: f.Label, Value: f.Words(f.Get(p))})
	}
	if t, ok := p.LastActivity(); ok {
		d.Basic = append(d.Basic, templates.CustomerField{Label: "Last activity (UTC)", Value: t.UTC().Format(customerTimeUTC)})
	}
	for _, a := range profile.Agreements {
		d.Agreements = append(d.Agreements, templates.CustomerAgreement{Label: a.Label, On: a.Get(p)})
	}
	for _, k := range slices.Sorted(maps.Keys(p.Attributes)) {
		d.Attributes = append(d.Attributes, templates.CustomerField{Label: k, Value: profile.AttributeWords(p.Attributes[k])})
	}
	return d
}

// details is the customer's header for every customer page, with the account state put in
// words by the workspace's registration type.
func (h *Handler) details(ctx context.Context, p *synerise.Profile) templates.CustomerDetails {
	return customerDetails(p, h.registration(ctx))
}

// attributeText is an attribute value as a person reads it (profile.AttributeText).
func attributeText(raw json.RawMessage) string { return profile.AttributeText(raw) }

// csrfToken is the request's CSRF token, for fragments that carry their own forms.
func csrfToken(c echo.Context) string {
	token, _ := c.Get(ctxCSRF).(string)
	return token
}
