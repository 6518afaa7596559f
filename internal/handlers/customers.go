package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
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
		{Method: http.MethodPost, Path: "/customers/:id", Roles: support, handle: h.handleCustomerUpdate},
		{Method: http.MethodGet, Path: "/customers/:id/password-reset", Roles: support, handle: h.handlePasswordResetForm},
		{Method: http.MethodPost, Path: "/customers/:id/password-reset", Roles: support, handle: h.handlePasswordReset},
		{Method: http.MethodGet, Path: "/customers/:id/activation", Roles: support, handle: h.handleActivationForm},
		{Method: http.MethodPost, Path: "/customers/:id/activation", Roles: support, handle: h.handleActivationResend},
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

// The kinds of query the search box recognises, in words for the page and the audit log.
const (
	queryEmail    = "an e-mail address"
	queryUUID     = "a uuid"
	queryClientID = "a clientId"
	queryPhone    = "a phone number"
	queryText     = "a customId, name or e-mail prefix"
)

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	digitsOnly  = regexp.MustCompile(`^[0-9]+$`)
	// phonePattern recognises a pasted phone number in the search box, in any of the
	// forms stored numbers come in (Synerise's list filter ignores spaces, dashes and
	// brackets).
	phonePattern = regexp.MustCompile(`^\+?[0-9 \-()]{6,20}$`)
)

// searchPlan is what a query was taken for and the lookups it leads to.
type searchPlan struct {
	kind     string
	clientID int64 // > 0 when the query may be a clientId
	phone    bool  // also search phones by prefix
}

// classifyQuery works out what the agent pasted.
func classifyQuery(q string) searchPlan {
	switch {
	case strings.Contains(q, "@"):
		if bareAddress(q) {
			return searchPlan{kind: queryEmail}
		}
	case uuidPattern.MatchString(q):
		return searchPlan{kind: queryUUID}
	case digitsOnly.MatchString(q):
		id, err := strconv.ParseInt(q, 10, 64)
		if err != nil || id <= 0 {
			id = 0
		}
		return searchPlan{kind: queryClientID, clientID: id, phone: len(q) >= 9}
	case phonePattern.MatchString(q) && (strings.HasPrefix(q, "+") || strings.ContainsAny(q, " -()")) && countDigits(q) >= 6:
		return searchPlan{kind: queryPhone, phone: true}
	}
	return searchPlan{kind: queryText}
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// lookup is one call of a search: an exact identifier lookup or a prefix list.
type lookup struct {
	exact bool
	run   func(ctx context.Context) ([]synerise.Profile, error)
}

func (h *Handler) lookups(q string, plan searchPlan, page int) []lookup {
	one := func(get func(ctx context.Context) (*synerise.Profile, error)) lookup {
		return lookup{exact: true, run: func(ctx context.Context) ([]synerise.Profile, error) {
			p, err := get(ctx)
			// A value that cannot be an identifier in a path ("..") is looked up by the
			// prefix searches only; the client refuses it before any request.
			if synerise.IsNotFound(err) || synerise.IsInvalidInput(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []synerise.Profile{*p}, nil
		}}
	}
	list := func(f synerise.ListFilters) lookup {
		return lookup{run: func(ctx context.Context) ([]synerise.Profile, error) {
			return h.Profiles.List(ctx, synerise.ListOptions{PageIndex: page, PageSize: searchPageSize, Filters: f})
		}}
	}
	var out []lookup
	exactToo := page == 0
	switch plan.kind {
	case queryEmail:
		if exactToo {
			out = append(out, one(func(ctx context.Context) (*synerise.Profile, error) { return h.Profiles.GetByEmail(ctx, q) }))
		}
	case queryUUID:
		if exactToo {
			out = append(out, one(func(ctx context.Context) (*synerise.Profile, error) { return h.Profiles.GetByUUID(ctx, q) }))
		}
	case queryClientID:
		if exactToo && plan.clientID > 0 {
			out = append(out, one(func(ctx context.Context) (*synerise.Profile, error) { return h.Profiles.Get(ctx, plan.clientID) }))
		}
	case queryText:
		if exactToo {
			out = append(out, one(func(ctx context.Context) (*synerise.Profile, error) { return h.Profiles.GetByCustomID(ctx, q) }))
		}
		out = append(out, list(synerise.ListFilters{FirstName: q}), list(synerise.ListFilters{LastName: q}), list(synerise.ListFilters{Email: q}))
		if first, last, ok := strings.Cut(q, " "); ok && first != "" && strings.TrimSpace(last) != "" && !strings.Contains(strings.TrimSpace(last), " ") {
			out = append(out, list(synerise.ListFilters{FirstName: first, LastName: strings.TrimSpace(last)}))
		}
	}
	if plan.phone {
		out = append(out, list(synerise.ListFilters{Phone: q}))
	}
	return out
}

// searchResult is the merged answer of a search's lookups.
type searchResult struct {
	rows    []templates.CustomerRow
	hasNext bool
}

// runSearch runs the lookups side by side and merges them: exact hits first, each
// customer once. Any failure other than "not found" fails the search, so an error
// never passes for "no such customer".
func runSearch(ctx context.Context, ls []lookup, reg func() registration) (searchResult, error) {
	answers := make([][]synerise.Profile, len(ls))
	errs := make([]error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() { answers[i], errs[i] = l.run(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return searchResult{}, upstream(firstError(errs))
	}
	var res searchResult
	seen := map[int64]bool{}
	var r registration
	for _, a := range answers {
		if len(a) > 0 {
			r = reg()
			break
		}
	}
	for _, exact := range []bool{true, false} {
		for i, l := range ls {
			if l.exact != exact {
				continue
			}
			if !exact && len(answers[i]) >= searchPageSize {
				res.hasNext = true
			}
			for _, p := range answers[i] {
				if seen[p.ClientID] {
					continue
				}
				seen[p.ClientID] = true
				res.rows = append(res.rows, customerRow(&p, exact, r))
			}
		}
	}
	return res, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func customerRow(p *synerise.Profile, exact bool, reg registration) templates.CustomerRow {
	return templates.CustomerRow{
		Href: customerPath(p.ClientID), ClientID: idString(p.ClientID), Name: customerName(p),
		Email: p.Email, Phone: p.Phone, CustomID: p.CustomID, Activation: activationState(p, reg), Exact: exact,
	}
}

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

func (h *Handler) handleCustomerSearchPage(c echo.Context) error {
	return render(c, http.StatusOK, templates.CustomerSearchPage(h.page(c, "Customers"), templates.CustomerSearch{}))
}

// handleCustomerSearch takes the query from the POST body, so neither URLs nor the access
// log ever hold an e-mail or a phone number. htmx gets the results fragment; a plain
// form post the whole page.
func (h *Handler) handleCustomerSearch(c echo.Context) error {
	q := strings.TrimSpace(c.FormValue("q"))
	page, _ := strconv.Atoi(c.FormValue("page"))
	page = max(0, min(page, 1000))
	res := templates.CustomerResults{Query: q, Page: page}
	status, err := h.searchCustomers(c, q, &res)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return render(c, status, templates.CustomerResultsPanel(res, csrfToken(c)))
	}
	return render(c, status, templates.CustomerSearchPage(h.page(c, "Customers"), templates.CustomerSearch{Query: q, Results: res}))
}

// searchCustomers fills res and returns the status to answer with. Upstream problems
// are shown in place; only an unavailable audit log is returned as an error.
func (h *Handler) searchCustomers(c echo.Context, q string, res *templates.CustomerResults) (int, error) {
	if q == "" {
		return http.StatusOK, nil
	}
	if msg := checkText(q, maxSearchLength); msg != "" {
		res.InputError = "The search " + msg + ". Nothing was looked up."
		return http.StatusUnprocessableEntity, nil
	}
	ctx := c.Request().Context()
	plan := classifyQuery(q)
	res.Searched, res.Kind = true, plan.kind
	found, err := runSearch(ctx, h.lookups(q, plan, res.Page), func() registration { return h.registration(ctx) })

	ev := h.event(c, audit.ActionCustomerSearch, audit.Target{Type: customerTarget})
	ev.Outcome = audit.OutcomeSucceeded
	ev.Detail = audit.DetailJSON(map[string]any{"kind": plan.kind, "query": q, "page": res.Page, "results": len(found.rows)})
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
		recordUpstream(&ev, err)
	}
	if _, aerr := h.Audit.Append(ctx, ev); aerr != nil {
		h.Logger.Error("audit customer search", "err", aerr, "request_id", requestID(c))
		return 0, errAuditUnavailable
	}
	if err != nil {
		v := h.describe(err)
		res.Problem = &v
		return v.Status, nil
	}
	res.Rows = found.rows
	if found.hasNext {
		res.NextPage = res.Page + 1
	}
	return http.StatusOK, nil
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

// handleCustomer shows one customer. The view is recorded before the page is shown;
// an optional reason may come with the link (?reason=). The customer's earlier history is
// read from the audit log while Synerise is asked for the profile, and is shown only once
// the view itself is recorded.
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
	type history struct {
		entries []audit.TimelineEntry
		err     error
	}
	earlier := make(chan history, 1) // buffered: an early return leaves nothing blocked
	go func() {
		entries, err := h.timelineEntries(ctx, id, timelineLength-1)
		earlier <- history{entries, err}
	}()
	regc := make(chan registration, 1)
	go func() { regc <- h.registration(ctx) }()
	p, err := h.loadCustomer(c)
	if err != nil {
		// The attempt is recorded too: auditors see who tried to look at whom, and why it failed.
		return h.recordFailedAttempt(c, audit.ActionCustomerView, audit.Target{Type: customerTarget, ID: idString(id)}, reason, err)
	}
	ev := h.event(c, audit.ActionCustomerView, customerAuditTarget(p))
	ev.Outcome, ev.Reason = audit.OutcomeSucceeded, reason
	view, err := h.Audit.Append(ctx, ev)
	if err != nil {
		h.Logger.Error("audit customer view", "err", err, "request_id", requestID(c))
		return errAuditUnavailable
	}
	hist := <-earlier
	if hist.err != nil {
		return hist.err
	}
	reg := <-regc
	entries := append([]audit.TimelineEntry{{Seq: view.Seq, Time: view.Time, Actor: view.Actor,
		Action: view.Action, Reason: view.Reason, Outcome: view.Outcome}}, hist.entries...)
	_, known := p.EmailConfirmed()
	v := templates.CustomerPage{
		Details:             customerDetails(p, reg),
		CanResetPassword:    known && !p.Anonymous && p.Email != "",
		CanResendActivation: canResendActivation(p, reg),
		Timeline:            timelineView(entries),
	}
	return render(c, http.StatusOK, templates.CustomerPageView(h.page(c, customerName(p)), v))
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

// profileLabels names the basic-info fields as the pages show them, in order.
var profileLabels = []struct{ name, label string }{
	{"firstName", "First name"}, {"lastName", "Last name"}, {"displayName", "Display name"},
	{"sex", "Sex"}, {"phone", "Phone"}, {"birthDate", "Birth date"}, {"company", "Company"},
	{"address", "Address"}, {"city", "City"}, {"province", "Province"}, {"zipCode", "Zip code"},
	{"countryCode", "Country code"},
}

// agreementLabels are the agreements the console shows and edits.
var agreementLabels = []struct{ name, label string }{
	{"email", "E-mail"}, {"sms", "SMS"}, {"push", "Push"}, {"webPush", "Web push"}, {"bluetooth", "Bluetooth"}, {"rfid", "RFID"}, {"wifi", "Wi-Fi"},
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
	fields := profileFields(p)
	for _, f := range profileLabels {
		d.Basic = append(d.Basic, templates.CustomerField{Label: f.label, Value: fieldWords(f.name, fields[f.name])})
	}
	if t, ok := p.LastActivity(); ok {
		d.Basic = append(d.Basic, templates.CustomerField{Label: "Last activity (UTC)", Value: t.UTC().Format(customerTimeUTC)})
	}
	agreements := profileAgreements(p)
	for _, a := range agreementLabels {
		d.Agreements = append(d.Agreements, templates.CustomerAgreement{Label: a.label, On: agreements[a.name]})
	}
	keys := make([]string, 0, len(p.Attributes))
	for k := range p.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.Attributes = append(d.Attributes, templates.CustomerField{Label: k, Value: attributeWords(p.Attributes[k])})
	}
	return d
}

// details is the customer's header for every customer page, with the account state put in
// words by the workspace's registration type.
func (h *Handler) details(ctx context.Context, p *synerise.Profile) templates.CustomerDetails {
	return customerDetails(p, h.registration(ctx))
}

// profileFields are the basic-info text fields of a profile by their Synerise names.
func profileFields(p *synerise.Profile) map[string]string {
	return map[string]string{
		"firstName": p.FirstName, "lastName": p.LastName, "displayName": p.DisplayName, "sex": p.Sex,
		"phone": p.Phone, "birthDate": p.BirthDate, "company": p.Company, "address": p.Address,
		"city": p.City, "province": p.Province, "zipCode": p.ZipCode, "countryCode": p.CountryCode,
	}
}

func profileAgreements(p *synerise.Profile) map[string]bool {
	a := p.Agreements
	return map[string]bool{"email": a.Email, "sms": a.SMS, "push": a.Push, "webPush": a.WebPush, "bluetooth": a.Bluetooth, "rfid": a.RFID, "wifi": a.WiFi}
}

// attributeText is an attribute value as a person reads it: a string without quotes,
// anything else as compact JSON.
func attributeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return compactJSON(raw)
}

// attributeWords is an attribute value for reading: like attributeText, but a null and
// an empty text say what they are instead of showing nothing.
func attributeWords(raw json.RawMessage) string {
	switch compactJSON(raw) {
	case "null":
		return "(null)"
	case `""`:
		return "(empty text)"
	}
	return attributeText(raw)
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// csrfToken is the request's CSRF token, for fragments that carry their own forms.
func csrfToken(c echo.Context) string {
	token, _ := c.Get(ctxCSRF).(string)
	return token
}
