package handlers

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
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
