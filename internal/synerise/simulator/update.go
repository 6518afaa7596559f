package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// stringRule describes one writable string field of a profile.
type stringRule struct {
	field     func(*profile) **string
	maxLen    int
	check     func(string) string // returns a problem, or ""
	nullable  bool                // null clears it
	uniqueKey func(string) string // identifier index key; nil when not an identifier
}

var (
	// phoneWritePattern is Synerise's rule for a phone sent in an update, after
	// trimming: "can only include digits, spaces, and an optional +".
	phoneWritePattern = regexp.MustCompile(`^\+?[0-9 ]{6,20}$`)
	uuidPattern       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	minBirthDate      = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
)

var sexValues = []string{"FEMALE", "MALE", "NOT_SPECIFIED", "OTHER"}

func plain(max int) stringRule { return stringRule{maxLen: max, nullable: true} }

// stringRules are the writable string fields. Lengths are assumed limits.
var stringRules = map[string]stringRule{
	"firstName":   plain(255),
	"lastName":    plain(255),
	"displayName": plain(255),
	"company":     plain(255),
	"address":     plain(255),
	"city":        plain(255),
	"province":    plain(255),
	"zipCode":     plain(20),
	"countryCode": plain(10),
	"avatarUrl":   plain(2048),
	"phone": {maxLen: 64, nullable: true, check: func(v string) string {
		if !phoneWritePattern.MatchString(strings.TrimSpace(v)) {
			return `may only include digits, spaces and an optional leading + (6 to 20 characters, ^\+?[0-9 ]{6,20}$)`
		}
		return ""
	}},
	"birthDate": {maxLen: 10, nullable: true, check: checkBirthDate},
	"sex": {maxLen: 20, nullable: true, check: func(v string) string {
		if !slices.Contains(sexValues, v) {
			return "must be one of FEMALE, MALE, NOT_SPECIFIED, OTHER"
		}
		return ""
	}},
	"email": {maxLen: 255, check: func(v string) string {
		at := strings.IndexByte(v, '@')
		if at < 1 || at != strings.LastIndexByte(v, '@') || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n") {
			return "must be an e-mail address"
		}
		return ""
	}, uniqueKey: strings.ToLower},
	"customId": {maxLen: 255, nullable: true, uniqueKey: func(v string) string { return v }},
	"uuid": {maxLen: 36, check: func(v string) string {
		if !uuidPattern.MatchString(v) {
			return "must be a UUID"
		}
		return ""
	}, uniqueKey: strings.ToLower},
}

func init() {
	fields := map[string]func(*profile) **string{
		"firstName": func(p *profile) **string { return &p.FirstName }, "lastName": func(p *profile) **string { return &p.LastName },
		"displayName": func(p *profile) **string { return &p.DisplayName }, "company": func(p *profile) **string { return &p.Company },
		"address": func(p *profile) **string { return &p.Address }, "city": func(p *profile) **string { return &p.City },
		"province": func(p *profile) **string { return &p.Province }, "zipCode": func(p *profile) **string { return &p.ZipCode },
		"countryCode": func(p *profile) **string { return &p.CountryCode }, "avatarUrl": func(p *profile) **string { return &p.AvatarURL },
		"phone": func(p *profile) **string { return &p.Phone }, "birthDate": func(p *profile) **string { return &p.BirthDate },
		"sex": func(p *profile) **string { return &p.Sex }, "email": func(p *profile) **string { return &p.Email },
		"customId": func(p *profile) **string { return &p.CustomID }, "uuid": func(p *profile) **string { return &p.UUID },
	}
	for name, f := range fields {
		r := stringRules[name]
		r.field = f
		stringRules[name] = r
	}
}

func checkBirthDate(v string) string {
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return "must be a date YYYY-MM-DD"
	}
	if !d.After(minBirthDate) {
		return "must be after 1900-01-01"
	}
	return ""
}

// readOnlyFields are profile fields the update refuses by name.
var readOnlyFields = map[string]bool{
	"clientId": true, "anonymous": true, "lastActivityDate": true, "tags": true,
}

const (
	maxAttributeKeyLen = 128
	maxAttributes      = 500
)

// profileUpdate is a validated partial update, applied in one step.
type profileUpdate struct {
	strings    map[string]*string // nil value clears
	agreements map[string]bool
	attributes map[string]json.RawMessage // nil value deletes
}

func (s *Simulator) handleProfileUpdate(req *request) {
	id, ok := s.parseClientID(req)
	if !ok {
		return
	}
	obj, ok := s.readObject(req)
	if !ok {
		return
	}
	u, errs := parseProfileUpdate(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byID[id]
	if c == nil {
		s.fail(req, http.StatusNotFound, "Profile not found.", nil)
		return
	}
	errs = append(errs, s.checkUnique(c, u)...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		s.fail(req, http.StatusBadRequest, "Validation failed.", errs)
		return
	}
	s.unindex(c)
	u.apply(c)
	s.index(c)
	c.changed()
	req.w.WriteHeader(http.StatusAccepted)
}

func parseProfileUpdate(obj map[string]json.RawMessage) (profileUpdate, []FieldError) {
	u := profileUpdate{strings: map[string]*string{}}
	var errs []FieldError
	bad := func(code int, field, msg string, raw json.RawMessage) {
		errs = append(errs, FieldError{Code: code, Field: field, Message: msg, RejectedValue: rejected(raw)})
	}
	for name, raw := range obj {
		if rule, ok := stringRules[name]; ok {
			if isNull(raw) {
				if !rule.nullable {
					bad(CodeRequired, name, "may not be null", raw)
				}
				u.strings[name] = nil
				continue
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				bad(CodeInvalid, name, "must be a string", raw)
				continue
			}
			if msg := checkString(v, rule); msg != "" {
				code := CodeInvalid
				if strings.HasPrefix(msg, "may be at most") {
					code = CodeTooLong
				}
				bad(code, name, msg, raw)
				continue
			}
			u.strings[name] = &v
			continue
		}
		switch {
		case name == "agreements":
			u.agreements, errs = parseAgreements(raw, errs)
		case name == "attributes":
			u.attributes, errs = parseAttributes(raw, errs)
		case readOnlyFields[name]:
			bad(CodeNotWritable, name, "is not writable", raw)
		default:
			bad(CodeUnknown, name, "unknown field", raw)
		}
	}
	return u, errs
}

func checkString(v string, rule stringRule) string {
	if !utf8.ValidString(v) {
		return "must be valid UTF-8"
	}
	if strings.ContainsRune(v, 0) {
		return "may not contain NUL"
	}
	if utf8.RuneCountInString(v) > rule.maxLen {
		return fmt.Sprintf("may be at most %d characters", rule.maxLen)
	}
	if rule.check != nil {
		return rule.check(v)
	}
	return ""
}

func parseAgreements(raw json.RawMessage, errs []FieldError) (map[string]bool, []FieldError) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, append(errs, FieldError{Code: CodeInvalid, Field: "agreements", Message: "must be an object", RejectedValue: rejected(raw)})
	}
	out := make(map[string]bool, len(obj))
	for k, v := range obj {
		field := "agreements." + k
		if _, ok := agreementFields[k]; !ok {
			errs = append(errs, FieldError{Code: CodeUnknown, Field: field, Message: "unknown agreement", RejectedValue: rejected(v)})
			continue
		}
		if isNull(v) {
			out[k] = false // null clears an agreement: no consent
			continue
		}
		var b bool
		if json.Unmarshal(v, &b) != nil {
			errs = append(errs, FieldError{Code: CodeInvalid, Field: field, Message: "must be a boolean", RejectedValue: rejected(v)})
			continue
		}
		out[k] = b
	}
	return out, errs
}

func parseAttributes(raw json.RawMessage, errs []FieldError) (map[string]json.RawMessage, []FieldError) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, append(errs, FieldError{Code: CodeInvalid, Field: "attributes", Message: "must be an object", RejectedValue: rejected(raw)})
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		field := "attributes." + k
		switch {
		case k == "" || utf8.RuneCountInString(k) > maxAttributeKeyLen:
			errs = append(errs, FieldError{Code: CodeInvalid, Field: field, Message: "attribute names are 1 to 128 characters", RejectedValue: k})
		case k == AttrLastPINDevice:
			errs = append(errs, FieldError{Code: CodeNotWritable, Field: field, Message: "is maintained by Synerise", RejectedValue: rejected(v)})
		case isNull(v):
			out[k] = nil
		default:
			out[k] = compact(v)
		}
	}
	return out, errs
}

func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

// rejected turns a raw JSON value into what "rejectedValue" shows.
func rejected(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return v
}

// checkUnique refuses identifiers already used by another profile.
func (s *Simulator) checkUnique(c *customer, u profileUpdate) []FieldError {
	var errs []FieldError
	indexes := map[string]map[string]*customer{"email": s.byEmail, "uuid": s.byUUID, "customId": s.byCustom}
	for name, idx := range indexes {
		v, ok := u.strings[name]
		if !ok || v == nil {
			continue
		}
		if other := idx[stringRules[name].uniqueKey(*v)]; other != nil && other != c {
			errs = append(errs, FieldError{Code: CodeConflict, Field: name, Message: "is already used by another profile", RejectedValue: *v})
		}
	}
	if len(u.attributes) > 0 {
		n := len(c.p.Attributes)
		for k, v := range u.attributes {
			_, had := c.p.Attributes[k]
			switch {
			case v == nil && had:
				n--
			case v != nil && !had:
				n++
			}
		}
		if n > maxAttributes {
			errs = append(errs, FieldError{Code: CodeInvalid, Field: "attributes", Message: fmt.Sprintf("at most %d attributes", maxAttributes), RejectedValue: n})
		}
	}
	return errs
}

func (u profileUpdate) apply(c *customer) {
	for name, v := range u.strings {
		*stringRules[name].field(&c.p) = v
	}
	for k, v := range u.agreements {
		*agreementFields[k](&c.p.Agreements) = v
	}
	if len(u.attributes) > 0 {
		attrs := make(map[string]json.RawMessage, len(c.p.Attributes)+len(u.attributes))
		for k, v := range c.p.Attributes {
			attrs[k] = v
		}
		for k, v := range u.attributes {
			if v == nil {
				delete(attrs, k)
			} else {
				attrs[k] = v
			}
		}
		c.p.Attributes = attrs
	}
}
