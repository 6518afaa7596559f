package simulator

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// profile is a Synerise profile exactly as it goes on the wire.
// String fields are pointers: nil is JSON null (never set or cleared).
type profile struct {
	ClientID         int64                      `json:"clientId"`
	UUID             *string                    `json:"uuid"`
	Email            *string                    `json:"email"`
	CustomID         *string                    `json:"customId"`
	Phone            *string                    `json:"phone"`
	FirstName        *string                    `json:"firstName"`
	LastName         *string                    `json:"lastName"`
	DisplayName      *string                    `json:"displayName"`
	Company          *string                    `json:"company"`
	Address          *string                    `json:"address"`
	City             *string                    `json:"city"`
	Province         *string                    `json:"province"`
	ZipCode          *string                    `json:"zipCode"`
	CountryCode      *string                    `json:"countryCode"`
	BirthDate        *string                    `json:"birthDate"`
	Sex              *string                    `json:"sex"`
	AvatarURL        *string                    `json:"avatarUrl"`
	Anonymous        bool                       `json:"anonymous"`
	LastActivityDate string                     `json:"lastActivityDate"`
	Agreements       agreements                 `json:"agreements"`
	Attributes       map[string]json.RawMessage `json:"attributes"`
	Tags             []string                   `json:"tags"`
}

type agreements struct {
	Email     bool `json:"email"`
	SMS       bool `json:"sms"`
	Push      bool `json:"push"`
	WebPush   bool `json:"webPush"`
	Bluetooth bool `json:"bluetooth"`
	RFID      bool `json:"rfid"`
	WiFi      bool `json:"wifi"`
}

// agreementFields maps each agreement's JSON name to its field.
var agreementFields = map[string]func(*agreements) *bool{
	"email":     func(a *agreements) *bool { return &a.Email },
	"sms":       func(a *agreements) *bool { return &a.SMS },
	"push":      func(a *agreements) *bool { return &a.Push },
	"webPush":   func(a *agreements) *bool { return &a.WebPush },
	"bluetooth": func(a *agreements) *bool { return &a.Bluetooth },
	"rfid":      func(a *agreements) *bool { return &a.RFID },
	"wifi":      func(a *agreements) *bool { return &a.WiFi },
}

// Attribute names with a meaning to the simulator.
const (
	AttrEmailConfirmed = "snrs_email_confirmed"
	AttrLastPINDevice  = "snrs_last_pin_device_id"
)

// customer is one profile plus the registration state Synerise keeps beside it.
type customer struct {
	p            profile
	lastActivity time.Time

	registered bool   // has a password (RaaS registration)
	automatic  bool   // registered under registrationType AUTOMATIC: nothing to activate
	password   string // sha256 hex of the password; never shown
	awaiting   string // StateAwaitingPIN or StateAwaitingEmailActivation while not activated
	pinDevice  string // device id of the last PIN request
	pin        string
	pinExpires time.Time

	cache atomic.Pointer[[]byte] // marshalled profile, cleared on every change
	keys  searchKeys             // derived from p by refreshKeys
}

// searchKeys are the normalised values lists filter and sort on.
type searchKeys struct {
	email, firstName, lastName, city, phone string
}

func (c *customer) refreshKeys() {
	c.keys = searchKeys{
		email: lowerOf(c.p.Email), firstName: lowerOf(c.p.FirstName), lastName: lowerOf(c.p.LastName),
		city: lowerOf(c.p.City), phone: phoneDigits(deref(c.p.Phone)),
	}
}

func (c *customer) activated() bool {
	switch strings.TrimSpace(string(c.p.Attributes[AttrEmailConfirmed])) {
	case `"true"`, `true`:
		return true
	}
	return false
}

// json marshals the profile; callers hold s.mu for reading at least.
func (c *customer) json() []byte {
	if b := c.cache.Load(); b != nil {
		return *b
	}
	p := c.p
	if c.pinDevice != "" {
		p.Attributes = make(map[string]json.RawMessage, len(c.p.Attributes)+1)
		for k, v := range c.p.Attributes {
			p.Attributes[k] = v
		}
		p.Attributes[AttrLastPINDevice], _ = marshal(c.pinDevice)
	}
	if p.Attributes == nil {
		p.Attributes = map[string]json.RawMessage{}
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	b, _ := marshal(p)
	c.cache.Store(&b)
	return b
}

func (c *customer) changed() { c.cache.Store(nil) }

// load installs a generated customer set; called once by New.
func (s *Simulator) load(g generated) {
	s.customers = g.customers
	s.examples = g.examples
	s.byID = make(map[int64]*customer, len(g.customers))
	s.byEmail = make(map[string]*customer, len(g.customers))
	s.byUUID = make(map[string]*customer, len(g.customers))
	s.byCustom = make(map[string]*customer, len(g.customers))
	for _, c := range g.customers {
		s.index(c)
	}
}

func (s *Simulator) index(c *customer) {
	c.refreshKeys()
	s.byID[c.p.ClientID] = c
	if c.p.Email != nil {
		s.byEmail[strings.ToLower(*c.p.Email)] = c
	}
	if c.p.UUID != nil {
		s.byUUID[strings.ToLower(*c.p.UUID)] = c
	}
	if c.p.CustomID != nil {
		s.byCustom[*c.p.CustomID] = c
	}
}

func (s *Simulator) unindex(c *customer) {
	if c.p.Email != nil {
		delete(s.byEmail, strings.ToLower(*c.p.Email))
	}
	if c.p.UUID != nil {
		delete(s.byUUID, strings.ToLower(*c.p.UUID))
	}
	if c.p.CustomID != nil {
		delete(s.byCustom, *c.p.CustomID)
	}
}

// Profile returns the profile with that clientId as Synerise would answer it.
func (s *Simulator) Profile(clientID int64) (json.RawMessage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[clientID]
	if !ok {
		return nil, false
	}
	return slices.Clone(c.json()), true
}

// ProfileByEmail returns the profile with that e-mail (case-insensitive).
func (s *Simulator) ProfileByEmail(email string) (json.RawMessage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byEmail[strings.ToLower(email)]
	if !ok {
		return nil, false
	}
	return slices.Clone(c.json()), true
}

// SetPhone stores a phone exactly as given, bypassing the update's phone rule,
// the way numbers stored before the rule (or by other systems) are kept
// ("+48 600-100-200"); "" clears it. It reports whether the customer exists.
func (s *Simulator) SetPhone(clientID int64, phone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[clientID]
	if !ok {
		return false
	}
	c.p.Phone = nil
	if phone != "" {
		c.p.Phone = &phone
	}
	c.refreshKeys()
	c.changed()
	return true
}

func lookupKind(seg string) string {
	for _, k := range []string{"by-email", "by-customId", "by-uuid"} {
		if strings.EqualFold(seg, k) {
			return k
		}
	}
	return ""
}

func (s *Simulator) handleProfileGet(req *request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var c *customer
	if len(req.segs) == 4 {
		v := req.segs[3]
		switch lookupKind(req.segs[2]) {
		case "by-email":
			c = s.byEmail[strings.ToLower(v)]
		case "by-customId":
			c = s.byCustom[v]
		case "by-uuid":
			c = s.byUUID[strings.ToLower(v)]
		}
	} else {
		id, ok := s.parseClientID(req)
		if !ok {
			return
		}
		c = s.byID[id]
	}
	if c == nil {
		s.fail(req, http.StatusNotFound, "Profile not found.", nil)
		return
	}
	writeRaw(req.w, http.StatusOK, c.json())
}

func (s *Simulator) parseClientID(req *request) (int64, bool) {
	id, err := strconv.ParseInt(req.segs[2], 10, 64)
	if err != nil || id <= 0 {
		s.fail(req, http.StatusBadRequest, "clientId must be a positive number.", []FieldError{{
			Code: CodeInvalid, Field: "clientId", Message: "must be a positive number", RejectedValue: req.segs[2],
		}})
		return 0, false
	}
	return id, true
}

// Listing rules (assumed by the contract): pages from 0, 20 per page by default, at most 100.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

var sortKeys = map[string]func(*customer) string{
	"firstName":        func(c *customer) string { return c.keys.firstName },
	"lastName":         func(c *customer) string { return c.keys.lastName },
	"email":            func(c *customer) string { return c.keys.email },
	"city":             func(c *customer) string { return c.keys.city },
	"phone":            func(c *customer) string { return c.keys.phone },
	"lastActivityDate": func(c *customer) string { return c.p.LastActivityDate },
}

var filterKeys = map[string]func(*customer) string{
	"email":     func(c *customer) string { return c.keys.email },
	"firstName": func(c *customer) string { return c.keys.firstName },
	"lastName":  func(c *customer) string { return c.keys.lastName },
	"phone":     func(c *customer) string { return c.keys.phone },
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func lowerOf(p *string) string { return strings.ToLower(deref(p)) }

// phoneDigits drops the separators people type in phone numbers.
func phoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')':
			return -1
		}
		return r
	}, s)
}

type listQuery struct {
	pageIndex, pageSize int
	sortBy              string
	desc                bool
	filters             map[string]string
	anonymous           *bool
}

func parseListQuery(q map[string][]string) (listQuery, []FieldError) {
	lq := listQuery{pageSize: defaultPageSize, filters: map[string]string{}}
	var errs []FieldError
	bad := func(field, msg, v string) {
		errs = append(errs, FieldError{Code: CodeInvalid, Field: field, Message: msg, RejectedValue: v})
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := q[k][0]
		switch {
		case k == "pageIndex":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				bad(k, "must be a whole number from 0", v)
			}
			lq.pageIndex = n
		case k == "pageSize":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPageSize {
				bad(k, "must be a whole number from 1 to 100", v)
			}
			lq.pageSize = n
		case k == "sortBy":
			if _, ok := sortKeys[v]; !ok {
				bad(k, "must be one of firstName, lastName, lastActivityDate, email, city, phone", v)
			}
			lq.sortBy = v
		case k == "sortOrder":
			if v != "ASC" && v != "DESC" {
				bad(k, "must be ASC or DESC", v)
			}
			lq.desc = v == "DESC"
		case strings.HasPrefix(k, "filters[") && strings.HasSuffix(k, "]"):
			errs = append(errs, lq.addFilter(k, v)...)
		case strings.HasPrefix(k, "filters"):
			errs = append(errs, FieldError{Code: CodeUnknown, Field: k, Message: "unknown filter", RejectedValue: v})
		}
	}
	return lq, errs
}

// addFilter reads one filters[name] parameter into lq.
func (lq *listQuery) addFilter(k, v string) []FieldError {
	name := k[len("filters[") : len(k)-1]
	if name == "anonymous" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return []FieldError{{Code: CodeInvalid, Field: k, Message: "must be true or false", RejectedValue: v}}
		}
		lq.anonymous = &b
		return nil
	}
	if _, ok := filterKeys[name]; !ok {
		return []FieldError{{Code: CodeUnknown, Field: k, Message: "unknown filter", RejectedValue: v}}
	}
	if name == "phone" {
		v = phoneDigits(v)
	}
	if v != "" {
		lq.filters[name] = strings.ToLower(v)
	}
	return nil
}

func (s *Simulator) handleProfileList(req *request) {
	lq, errs := parseListQuery(req.r.URL.Query())
	if len(errs) > 0 {
		s.fail(req, http.StatusBadRequest, "Invalid list parameters.", errs)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	matched := make([]*customer, 0, 64)
	for _, c := range s.customers {
		if lq.matches(c) {
			matched = append(matched, c)
		}
	}
	if key := sortKeys[lq.sortBy]; key != nil {
		slices.SortStableFunc(matched, func(a, b *customer) int {
			ka, kb := key(a), key(b)
			// Empty values go last whatever the order; ties keep clientId order.
			switch {
			case ka == kb:
				return 0
			case ka == "":
				return 1
			case kb == "":
				return -1
			case lq.desc:
				return cmp.Compare(kb, ka)
			}
			return cmp.Compare(ka, kb)
		})
	} else if lq.desc {
		slices.Reverse(matched)
	}
	start := lq.pageIndex * lq.pageSize
	if start > len(matched) || start < 0 {
		start = len(matched)
	}
	end := min(start+lq.pageSize, len(matched))
	buf := make([]byte, 0, 1024*(end-start)+2)
	buf = append(buf, '[')
	for i, c := range matched[start:end] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, c.json()...)
	}
	buf = append(buf, ']')
	writeRaw(req.w, http.StatusOK, buf)
}

func (lq listQuery) matches(c *customer) bool {
	if lq.anonymous != nil && c.p.Anonymous != *lq.anonymous {
		return false
	}
	for name, want := range lq.filters {
		if !strings.HasPrefix(filterKeys[name](c), want) {
			return false
		}
	}
	return true
}
