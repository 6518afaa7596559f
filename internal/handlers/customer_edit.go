package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// basicInfo is the editable part of a profile: the seeds' basic-info set. Its canonical
// JSON (keys sorted, values compact) is what the lost-update fingerprint hashes.
type basicInfo struct {
	Fields     map[string]string          `json:"fields"`
	Agreements map[string]bool            `json:"agreements"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// emptyAttributeRows is how many blank rows the form offers for new attributes.
const emptyAttributeRows = 3

var (
	sexValues      = []string{"FEMALE", "MALE", "NOT_SPECIFIED", "OTHER"}
	attrKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	isoCountry     = regexp.MustCompile(`^[A-Z]{2}$`)
	diallingPrefix = regexp.MustCompile(`^\+[0-9]{1,4}$`)
	// newPhonePattern is Synerise's rule for a phone number it is sent: digits, spaces and
	// an optional leading +. Numbers stored in another form are shown and left alone.
	newPhonePattern  = regexp.MustCompile(`^\+?[0-9 ]{6,20}$`)
	reservedAttrKeys = []string{"clientid", "uuid", "email", "customid", "phone", "firstname", "lastname", "displayname",
		"company", "address", "city", "province", "zipcode", "countrycode", "birthdate", "sex", "avatarurl",
		"anonymous", "lastactivitydate", "agreements", "attributes", "tags"}
)

// reservedAttribute reports whether Synerise owns the attribute: snrs_ keys and the
// profile's own field names.
func reservedAttribute(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "snrs_") || slices.Contains(reservedAttrKeys, k)
}

func basicInfoOf(p *synerise.Profile) basicInfo {
	b := basicInfo{Fields: profileFields(p), Agreements: profileAgreements(p), Attributes: map[string]json.RawMessage{}}
	for k, raw := range p.Attributes {
		if reservedAttribute(k) {
			continue
		}
		b.Attributes[k] = json.RawMessage(compactJSON(raw))
	}
	return b
}

func (b basicInfo) canonical() []byte {
	out, _ := json.Marshal(b) // maps marshal with sorted keys; values are compact already
	return out
}

func fingerprintOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// editForm is the edit form as typed.
type editForm struct {
	fields      map[string]string
	agreements  map[string]bool
	attrs       []templates.CustomerAttributeInput
	reason      string
	fingerprint string
	loaded      string
	nonce       string
}

func readEditForm(c echo.Context) editForm {
	f := editForm{fields: map[string]string{}, agreements: map[string]bool{},
		reason: strings.TrimSpace(c.FormValue("reason")), fingerprint: c.FormValue("fingerprint"),
		loaded: c.FormValue("loaded"), nonce: c.FormValue("nonce")}
	for _, l := range profileLabels {
		f.fields[l.name] = strings.TrimSpace(c.FormValue(l.name))
	}
	for _, a := range agreementLabels {
		f.agreements[a.name] = c.FormValue("agreement_"+a.name) == "on"
	}
	rows, _ := strconv.Atoi(c.FormValue("attr_rows"))
	rows = max(0, min(rows, 500))
	for i := range rows {
		n := strconv.Itoa(i)
		row := templates.CustomerAttributeInput{Index: n, Orig: c.FormValue("attr." + n + ".orig"),
			Key: strings.TrimSpace(c.FormValue("attr." + n + ".key")), Value: c.FormValue("attr." + n + ".value"),
			Remove: c.FormValue("attr."+n+".remove") == "on"}
		if row.Orig != "" {
			row.Key = row.Orig
		}
		f.attrs = append(f.attrs, row)
	}
	return f
}

// formOf is the form as loaded from b.
func formOf(b basicInfo) editForm {
	f := editForm{fields: maps.Clone(b.Fields), agreements: maps.Clone(b.Agreements)}
	for _, k := range slices.Sorted(maps.Keys(b.Attributes)) {
		text, _, _ := attributeForm(b.Attributes[k])
		f.attrs = append(f.attrs, templates.CustomerAttributeInput{Orig: k, Key: k, Value: text})
	}
	return f
}

// attributeForm is how a stored attribute appears in the edit form: its text, whether the
// form cannot show it faithfully (a list or an object: shown read-only), and what kind of
// value it is when the text alone would not say (null and empty text both show as an
// empty box, a number and its text look alike).
func attributeForm(raw json.RawMessage) (text string, readOnly bool, kind string) {
	switch v := attributeValue(raw).(type) {
	case nil:
		return "", false, "null (no value)"
	case string:
		if v == "" {
			return "", false, "empty text"
		}
		return v, false, ""
	case float64:
		return compactJSON(raw), false, "a number"
	case bool:
		return compactJSON(raw), false, "true or false"
	case []any:
		return compactJSON(raw), true, "A list"
	}
	return compactJSON(raw), true, "An object"
}

// attributeEdited reports whether the operator changed a stored attribute's row: ticked
// Remove, or typed a value other than the one the form showed. A read-only row changes
// only by Remove.
func attributeEdited(raw json.RawMessage, row templates.CustomerAttributeInput) bool {
	if row.Remove {
		return true
	}
	text, readOnly, _ := attributeForm(raw)
	return !readOnly && row.Value != text
}

// change is one field the operator changed: its path ("city", "agreements.sms",
// "attributes.tier"), label, and values (nil = absent or cleared).
type change struct {
	path, label   string
	before, after any
	// remove deletes an attribute (sent as null); a nil after alone clears a field.
	remove bool
}

// changesFrom compares the form with the loaded values, checking every changed value.
// Unchanged values are not checked: a stored value the console would refuse must not
// block an edit of something else.
func (h *Handler) changesFrom(loaded basicInfo, f editForm, errs templates.FieldErrors) []change {
	var out []change
	for _, l := range profileLabels {
		was, now := loaded.Fields[l.name], f.fields[l.name]
		if was == now {
			continue
		}
		if msg := h.checkBasicField(l.name, now); msg != "" {
			errs[l.name] = l.label + " " + msg
			continue
		}
		ch := change{path: l.name, label: l.label, before: nilIfEmpty(was), after: nilIfEmpty(now)}
		out = append(out, ch)
	}
	for _, a := range agreementLabels {
		if was, now := loaded.Agreements[a.name], f.agreements[a.name]; was != now {
			out = append(out, change{path: "agreements." + a.name, label: "Agreement: " + a.label, before: was, after: now})
		}
	}
	seen := map[string]bool{}
	for _, row := range f.attrs {
		if row.Orig != "" {
			seen[row.Orig] = true
		}
	}
	for _, row := range f.attrs {
		keyField, valueField := "attr."+row.Index+".key", "attr."+row.Index+".value"
		if row.Orig != "" {
			raw, existed := loaded.Attributes[row.Orig]
			if !existed {
				errs[valueField] = "Attribute " + row.Orig + " is not editable here."
				continue
			}
			before := attributeValue(raw)
			switch {
			case !attributeEdited(raw, row):
				// What the form showed came back: nothing to send, whatever the value's type.
			case row.Remove:
				out = append(out, change{path: "attributes." + row.Orig, label: "Attribute " + row.Orig, before: before, remove: true})
			default:
				if msg := checkText(row.Value, 255); msg != "" {
					errs[valueField] = "The value " + msg + "."
					continue
				}
				out = append(out, change{path: "attributes." + row.Orig, label: "Attribute " + row.Orig, before: before,
					after: typedLike(raw, row.Value)})
			}
			continue
		}
		if row.Key == "" && row.Value == "" {
			continue
		}
		switch msg := checkText(row.Key, 128); {
		case msg != "":
			errs[keyField] = "The key " + msg + "."
		case row.Key == "":
			errs[keyField] = "Give the new attribute a key, or empty its value."
		case !attrKeyPattern.MatchString(row.Key):
			errs[keyField] = "A key may hold only letters, digits and _ . -"
		case reservedAttribute(row.Key):
			errs[keyField] = "Synerise reserves " + row.Key + " (snrs_ keys and profile field names)."
		case seen[row.Key]:
			errs[keyField] = "Attribute " + row.Key + " is already listed; change it in its own row."
		}
		if msg := checkText(row.Value, 255); msg != "" {
			errs[valueField] = "The value " + msg + "."
		} else if row.Value == "" {
			errs[valueField] = "Give the new attribute a value."
		}
		if errs[keyField] != "" || errs[valueField] != "" {
			continue
		}
		seen[row.Key] = true
		out = append(out, change{path: "attributes." + row.Key, label: "Attribute " + row.Key, after: row.Value})
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func attributeValue(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return v
}

// typedLike keeps a number a number and a boolean a boolean when the new text still is
// one; everything else is sent as text.
func typedLike(was json.RawMessage, text string) any {
	switch attributeValue(was).(type) {
	case float64:
		if n := json.Number(strings.TrimSpace(text)); json.Valid([]byte(n)) {
			if _, err := n.Float64(); err == nil {
				return n
			}
		}
	case bool:
		if b, err := strconv.ParseBool(strings.TrimSpace(text)); err == nil {
			return b
		}
	}
	return text
}

// checkBasicField explains what is wrong with a new value of a basic-info field.
func (h *Handler) checkBasicField(name, v string) string {
	if msg := checkText(v, 255); msg != "" {
		return msg + "."
	}
	if v == "" {
		return ""
	}
	switch name {
	case "phone":
		if !newPhonePattern.MatchString(v) {
			return "may hold only digits and spaces, with an optional leading + (6 to 20 characters), such as +48 600 100 200. Synerise does not accept dashes or brackets."
		}
	case "birthDate":
		d, err := time.Parse(time.DateOnly, v)
		switch {
		case err != nil:
			return "must be a date such as 1988-04-12."
		case !d.After(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)):
			return "must be after 1900-01-01."
		case d.After(h.Now()):
			return "cannot be in the future."
		}
	case "countryCode":
		if !isoCountry.MatchString(v) && !diallingPrefix.MatchString(v) {
			return "must be a two-letter ISO 3166 code such as PL, or a dialling prefix such as +48."
		}
	case "sex":
		if !slices.Contains(sexValues, v) {
			return "must be one of the listed choices."
		}
	}
	return ""
}

// updateOf turns the changes into the partial update Synerise expects: only what
// changed, a cleared field or removed attribute as null.
func updateOf(changes []change) (synerise.ProfileUpdate, error) {
	var u synerise.ProfileUpdate
	for _, ch := range changes {
		var err error
		switch {
		case strings.HasPrefix(ch.path, "agreements."):
			err = u.SetAgreement(strings.TrimPrefix(ch.path, "agreements."), ch.after.(bool))
		case strings.HasPrefix(ch.path, "attributes."):
			key := strings.TrimPrefix(ch.path, "attributes.")
			if ch.remove {
				u.DeleteAttribute(key)
			} else {
				err = u.SetAttribute(key, ch.after)
			}
		case ch.after == nil:
			err = u.Clear(ch.path)
		default:
			err = u.Set(ch.path, ch.after.(string))
		}
		if err != nil {
			return u, err
		}
	}
	return u, nil
}

// applyChanges is the profile as it is after the changes: what the result page shows,
// since a read right after the asynchronous update may still be stale.
func applyChanges(p *synerise.Profile, changes []change) *synerise.Profile {
	out := *p
	out.Attributes = maps.Clone(p.Attributes)
	if out.Attributes == nil {
		out.Attributes = map[string]json.RawMessage{}
	}
	fields := map[string]*string{
		"firstName": &out.FirstName, "lastName": &out.LastName, "displayName": &out.DisplayName, "sex": &out.Sex,
		"phone": &out.Phone, "birthDate": &out.BirthDate, "company": &out.Company, "address": &out.Address,
		"city": &out.City, "province": &out.Province, "zipCode": &out.ZipCode, "countryCode": &out.CountryCode,
	}
	agreements := map[string]*bool{"email": &out.Agreements.Email, "sms": &out.Agreements.SMS, "push": &out.Agreements.Push,
		"webPush": &out.Agreements.WebPush, "bluetooth": &out.Agreements.Bluetooth, "rfid": &out.Agreements.RFID, "wifi": &out.Agreements.WiFi}
	for _, ch := range changes {
		switch {
		case strings.HasPrefix(ch.path, "agreements."):
			*agreements[strings.TrimPrefix(ch.path, "agreements.")] = ch.after.(bool)
		case strings.HasPrefix(ch.path, "attributes."):
			key := strings.TrimPrefix(ch.path, "attributes.")
			if ch.remove {
				delete(out.Attributes, key)
			} else {
				out.Attributes[key], _ = json.Marshal(ch.after)
			}
		default:
			s, _ := ch.after.(string)
			*fields[ch.path] = s
		}
	}
	return &out
}

// fieldWords is valueWords for a basic-info field, with enum values such as sex in words.
func fieldWords(name string, v any) string {
	if s, ok := v.(string); ok && name == "sex" {
		return sexWords(s)
	}
	return valueWords(v)
}

// sexWords is a Synerise sex value as a person reads it; a value the console does not
// know is shown as Synerise returned it.
func sexWords(s string) string {
	switch s {
	case "FEMALE":
		return "Female"
	case "MALE":
		return "Male"
	case "NOT_SPECIFIED":
		return "Not specified"
	case "OTHER":
		return "Other"
	}
	return s
}

func valueWords(v any) string {
	switch v := v.(type) {
	case nil:
		return "(empty)"
	case bool:
		if v {
			return "given"
		}
		return "not given"
	case string:
		if v == "" {
			return "(empty text)"
		}
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// editView builds the form's view model from typed (or loaded) values.
func (h *Handler) editView(ctx context.Context, p *synerise.Profile, loaded basicInfo, f editForm) templates.CustomerEdit {
	canonical := loaded.canonical()
	v := templates.CustomerEdit{
		Details: h.details(ctx, p), Sex: f.fields["sex"], Reason: f.reason,
		Fingerprint: fingerprintOf(canonical), Loaded: base64.RawURLEncoding.EncodeToString(canonical),
		Nonce: f.nonce, Errors: templates.FieldErrors{},
	}
	if !noncePattern.MatchString(v.Nonce) {
		v.Nonce = newFormNonce()
	}
	for _, l := range profileLabels {
		if l.name == "sex" {
			continue
		}
		in := templates.CustomerInput{Name: l.name, Label: l.label, Type: "text", Value: f.fields[l.name]}
		switch l.name {
		case "phone":
			in.Type, in.Hint = "tel", "Such as +48 600 100 200."
		case "birthDate":
			in.Type, in.Hint = "date", "After 1900-01-01, not in the future."
		case "countryCode":
			in.Hint = "ISO 3166 code (PL) or dialling prefix (+48)."
		}
		v.Inputs = append(v.Inputs, in)
	}
	v.SexOptions = []templates.CustomerOption{{Value: "", Label: "(not set)"}}
	for _, s := range sexValues {
		v.SexOptions = append(v.SexOptions, templates.CustomerOption{Value: s, Label: sexWords(s)})
	}
	if v.Sex != "" && !slices.Contains(sexValues, v.Sex) {
		// A value Synerise returned that the console does not know stays selectable, so
		// saving another field does not clear it.
		v.SexOptions = append(v.SexOptions, templates.CustomerOption{Value: v.Sex, Label: v.Sex + " (as stored in Synerise)"})
	}
	for _, a := range agreementLabels {
		v.Agreements = append(v.Agreements, templates.CustomerCheckbox{Name: a.name, Label: a.label, Checked: f.agreements[a.name]})
	}
	rows := 0
	for _, a := range f.attrs {
		if a.Orig == "" && a.Key == "" && a.Value == "" {
			continue
		}
		if raw, ok := loaded.Attributes[a.Orig]; ok && a.Orig != "" {
			var text string
			text, a.ReadOnly, a.Kind = attributeForm(raw)
			if a.ReadOnly {
				a.Value = text
			}
		}
		a.Index = strconv.Itoa(rows)
		v.Attributes = append(v.Attributes, a)
		rows++
	}
	for range emptyAttributeRows {
		v.Attributes = append(v.Attributes, templates.CustomerAttributeInput{Index: strconv.Itoa(rows)})
		rows++
	}
	v.AttrRows = strconv.Itoa(rows)
	return v
}

// reindexErrors moves attribute-row errors to the rows' new positions in the view.
func reindexErrors(f editForm, errs templates.FieldErrors) templates.FieldErrors {
	out := templates.FieldErrors{}
	for k, msg := range errs {
		if !strings.HasPrefix(k, "attr.") {
			out[k] = msg
		}
	}
	rows := 0
	for _, a := range f.attrs {
		if a.Orig == "" && a.Key == "" && a.Value == "" {
			continue
		}
		for _, part := range []string{".key", ".value"} {
			if msg, ok := errs["attr."+a.Index+part]; ok {
				out["attr."+strconv.Itoa(rows)+part] = msg
			}
		}
		rows++
	}
	return out
}

func editTitle(p *synerise.Profile) string { return "Edit " + customerName(p) }

func (h *Handler) handleCustomerEditForm(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return err
	}
	loaded := basicInfoOf(p)
	return render(c, http.StatusOK, templates.CustomerEditPage(h.page(c, editTitle(p)), h.editView(c.Request().Context(), p, loaded, formOf(loaded))))
}

func (h *Handler) editPage(c echo.Context, status int, p *synerise.Profile, v templates.CustomerEdit) error {
	if isHTMX(c) {
		return render(c, status, templates.CustomerEditForm(csrfToken(c), v))
	}
	return render(c, status, templates.CustomerEditPage(h.page(c, editTitle(p)), v))
}

// loadedFromForm is the basic info as the form was loaded, if the form carries it intact.
func loadedFromForm(f editForm) (basicInfo, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(f.loaded)
	if err != nil || fingerprintOf(raw) != f.fingerprint {
		return basicInfo{}, false
	}
	var b basicInfo
	if json.Unmarshal(raw, &b) != nil || b.Fields == nil {
		return basicInfo{}, false
	}
	if b.Agreements == nil {
		b.Agreements = map[string]bool{}
	}
	if b.Attributes == nil {
		b.Attributes = map[string]json.RawMessage{}
	}
	return b, true
}

// handleCustomerUpdate saves basic info: validate, re-read and compare fingerprints (a
// change made meanwhile writes nothing and is shown), audit the intent, send only what
// changed, audit the outcome.
func (h *Handler) handleCustomerUpdate(c echo.Context) error {
	p, err := h.loadCustomer(c)
	if err != nil {
		return h.recordFailedAttempt(c, audit.ActionCustomerUpdate, attemptTarget(c), c.FormValue("reason"), err)
	}
	f := readEditForm(c)
	loaded, ok := loadedFromForm(f)
	if !ok {
		v := h.editView(c.Request().Context(), p, basicInfoOf(p), formOf(basicInfoOf(p)))
		v.FormError = "This form was damaged or is from an older version of the page. Nothing was saved; the form now shows the current values."
		return h.editPage(c, http.StatusUnprocessableEntity, p, v)
	}
	current := basicInfoOf(p)
	if fingerprintOf(current.canonical()) != f.fingerprint {
		return h.editConflict(c, p, loaded, current, f)
	}
	errs := templates.FieldErrors{}
	changes := h.changesFrom(current, f, errs)
	if msg := checkMultiline(f.reason, maxReasonLength); msg != "" {
		errs["reason"] = "The reason " + msg + "."
	} else if f.reason == "" {
		errs["reason"] = "Give a reason: free text or a ticket reference."
	}
	if len(errs) > 0 || len(changes) == 0 {
		v := h.editView(c.Request().Context(), p, current, f)
		v.Errors = reindexErrors(f, errs)
		if len(errs) > 0 {
			v.FormError = "Nothing was saved: correct the fields marked below."
		} else {
			v.FormError = "Nothing to save: no field differs from what Synerise has."
		}
		return h.editPage(c, http.StatusUnprocessableEntity, p, v)
	}
	u, err := updateOf(changes)
	if err != nil {
		return err
	}
	key, err := h.claimForm(c, f.nonce)
	if err != nil {
		return err
	}
	before, after := map[string]any{}, map[string]any{}
	for _, ch := range changes {
		before[ch.path], after[ch.path] = ch.before, ch.after
	}
	intent := h.event(c, audit.ActionCustomerUpdate, customerAuditTarget(p))
	intent.Reason = f.reason
	intent.Before, intent.After = audit.DetailJSON(before), audit.DetailJSON(after)
	intent.Detail = audit.DetailJSON(map[string]any{"fields": u.Fields(), "fingerprint": f.fingerprint})
	outcome, err := h.auditedCall(c, intent, func(ctx context.Context) error {
		return h.Profiles.Update(ctx, p.ClientID, u)
	})
	if errors.Is(err, errAuditUnavailable) || synerise.IsCircuitOpen(err) {
		h.forms.release(c.Request().Context(), key)
	}
	if err != nil {
		if outcome == audit.OutcomeUnknown {
			v := h.describe(err)
			return userError(v.Status, "Outcome unknown — check before retrying",
				v.Message+" Open the customer to see whether the change arrived before saving again.")
		}
		return err
	}
	saved := templates.CustomerSaved{Details: h.details(c.Request().Context(), applyChanges(p, changes))}
	for _, ch := range changes {
		after := fieldWords(ch.path, ch.after)
		if ch.remove {
			after = "(removed)"
		}
		saved.Changes = append(saved.Changes, templates.CustomerChange{Label: ch.label,
			Before: fieldWords(ch.path, ch.before), After: after})
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, templates.CustomerSavedSwap(saved))
	}
	return render(c, http.StatusOK, templates.CustomerSavedPage(h.page(c, "Saved: "+customerName(p)), saved))
}

// editConflict answers a save whose profile changed since the form was loaded: nothing
// is written; the form shows the current values with the operator's own changes kept,
// and a list of what changed meanwhile.
func (h *Handler) editConflict(c echo.Context, p *synerise.Profile, loaded, current basicInfo, f editForm) error {
	merged := formOf(current)
	merged.reason, merged.nonce = f.reason, f.nonce
	var conflict []templates.CustomerChange
	for _, l := range profileLabels {
		yours := f.fields[l.name] != loaded.Fields[l.name]
		if yours {
			merged.fields[l.name] = f.fields[l.name]
		}
		if loaded.Fields[l.name] != current.Fields[l.name] {
			conflict = append(conflict, templates.CustomerChange{Label: l.label, Before: fieldWords(l.name, nilIfEmpty(loaded.Fields[l.name])),
				After: fieldWords(l.name, nilIfEmpty(current.Fields[l.name])), Yours: yours})
		}
	}
	for _, a := range agreementLabels {
		yours := f.agreements[a.name] != loaded.Agreements[a.name]
		if yours {
			merged.agreements[a.name] = f.agreements[a.name]
		}
		if loaded.Agreements[a.name] != current.Agreements[a.name] {
			conflict = append(conflict, templates.CustomerChange{Label: "Agreement: " + a.label,
				Before: valueWords(loaded.Agreements[a.name]), After: valueWords(current.Agreements[a.name]), Yours: yours})
		}
	}
	typed := map[string]templates.CustomerAttributeInput{}
	for _, row := range f.attrs {
		if row.Orig != "" {
			typed[row.Orig] = row
		} else if row.Key != "" || row.Value != "" {
			merged.attrs = append(merged.attrs, row)
		}
	}
	for i, row := range merged.attrs {
		t, ok := typed[row.Orig]
		if row.Orig == "" || !ok {
			continue
		}
		if raw, was := loaded.Attributes[row.Orig]; was && attributeEdited(raw, t) {
			merged.attrs[i].Value, merged.attrs[i].Remove = t.Value, t.Remove
		}
	}
	keys := map[string]bool{}
	for k := range loaded.Attributes {
		keys[k] = true
	}
	for k := range current.Attributes {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		was, inLoaded := loaded.Attributes[k]
		now, inCurrent := current.Attributes[k]
		if inLoaded == inCurrent && bytes.Equal(was, now) {
			continue
		}
		t, typedRow := typed[k]
		yours := typedRow && inLoaded && attributeEdited(was, t)
		conflict = append(conflict, templates.CustomerChange{Label: "Attribute " + k,
			Before: attrWords(was, inLoaded), After: attrWords(now, inCurrent), Yours: yours})
	}
	v := h.editView(c.Request().Context(), p, current, merged)
	v.Conflict = conflict
	return h.editPage(c, http.StatusConflict, p, v)
}

func attrWords(raw json.RawMessage, present bool) string {
	if !present {
		return "(absent)"
	}
	return attributeWords(raw)
}
