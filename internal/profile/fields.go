// Package profile is the console's model of a customer's basic info: which profile fields
// and agreements it shows and edits, how each is labelled, typed in and checked, the rules
// for custom attributes, and the pure logic of an edit — the changes an operator made, the
// partial update sent to Synerise, the profile as it is after them, and a conflict with a
// change made meanwhile. It does no HTTP and no I/O.
//
// Adding a basic-info field is one row of Fields.
package profile

import (
	"regexp"
	"slices"
	"time"

	"github.com/raas-console/console/internal/synerise"
)

// Input is how a field is typed in.
type Input int

// The inputs of a field.
const (
	InputText   Input = iota // a line of text
	InputTel                 // a phone number
	InputDate                // a date, YYYY-MM-DD
	InputChoice              // one of Field.Choices
)

// Choice is one known value of an InputChoice field.
type Choice struct {
	Value string // as Synerise stores it
	Label string
}

// Field is one basic-info field of a profile.
type Field struct {
	Name    string // Synerise's name: the JSON key, the update path, the form field
	Label   string
	Input   Input
	Hint    string   // shown under the input
	Choices []Choice // InputChoice: the known values
	// check explains what is wrong with a new, non-empty value beyond the rules for any
	// text; nil for none.
	check func(v string, now time.Time) string
	// ref is where the field lives in a profile: read and written through it.
	ref func(p *synerise.Profile) *string
}

// MaxLength is the longest value of a basic-info field.
const MaxLength = 255

var (
	// newPhonePattern is Synerise's rule for a phone number it is sent: digits, spaces and
	// an optional leading +. Numbers stored in another form are shown and left alone.
	newPhonePattern = regexp.MustCompile(`^\+?[0-9 ]{6,20}$`)
	isoCountry      = regexp.MustCompile(`^[A-Z]{2}$`)
	diallingPrefix  = regexp.MustCompile(`^\+[0-9]{1,4}$`)
	oldestBirthDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
)

var sexes = []Choice{{"FEMALE", "Female"}, {"MALE", "Male"}, {"NOT_SPECIFIED", "Not specified"}, {"OTHER", "Other"}}

// Fields are the basic-info fields the console shows and edits, in the order the pages
// show them.
var Fields = []Field{
	{Name: "firstName", Label: "First name", ref: func(p *synerise.Profile) *string { return &p.FirstName }},
	{Name: "lastName", Label: "Last name", ref: func(p *synerise.Profile) *string { return &p.LastName }},
	{Name: "displayName", Label: "Display name", ref: func(p *synerise.Profile) *string { return &p.DisplayName }},
	{Name: "sex", Label: "Sex", Input: InputChoice, Choices: sexes, ref: func(p *synerise.Profile) *string { return &p.Sex }},
	{Name: "phone", Label: "Phone", Input: InputTel, Hint: "Such as +48 600 100 200.", check: checkPhone,
		ref: func(p *synerise.Profile) *string { return &p.Phone }},
	{Name: "birthDate", Label: "Birth date", Input: InputDate, Hint: "After 1900-01-01, not in the future.", check: checkBirthDate,
		ref: func(p *synerise.Profile) *string { return &p.BirthDate }},
	{Name: "company", Label: "Company", ref: func(p *synerise.Profile) *string { return &p.Company }},
	{Name: "address", Label: "Address", ref: func(p *synerise.Profile) *string { return &p.Address }},
	{Name: "city", Label: "City", ref: func(p *synerise.Profile) *string { return &p.City }},
	{Name: "province", Label: "Province", ref: func(p *synerise.Profile) *string { return &p.Province }},
	{Name: "zipCode", Label: "Zip code", ref: func(p *synerise.Profile) *string { return &p.ZipCode }},
	{Name: "countryCode", Label: "Country code", Hint: "ISO 3166 code (PL) or dialling prefix (+48).", check: checkCountryCode,
		ref: func(p *synerise.Profile) *string { return &p.CountryCode }},
}

// Lookup returns the field named name.
func Lookup(name string) (Field, bool) {
	i := slices.IndexFunc(Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return Fields[i], true
}

// Get reads the field of p.
func (f Field) Get(p *synerise.Profile) string { return *f.ref(p) }

// Set writes v into the field of p.
func (f Field) Set(p *synerise.Profile, v string) { *f.ref(p) = v }

// InputType is the type of the field's HTML input: text, tel or date; "" for a choice.
func (f Field) InputType() string {
	switch f.Input {
	case InputTel:
		return "tel"
	case InputDate:
		return "date"
	case InputChoice:
		return ""
	}
	return "text"
}

// Check explains what is wrong with v as a new value of the field, or returns "". An
// empty value clears the field and is always accepted. The message follows the label:
// "Phone may hold only digits …".
func (f Field) Check(v string, r Rules) string {
	if msg := r.text(v, MaxLength); msg != "" {
		return msg + "."
	}
	if v == "" {
		return ""
	}
	if f.Input == InputChoice && !f.known(v) {
		return "must be one of the listed choices."
	}
	if f.check != nil {
		return f.check(v, r.Now)
	}
	return ""
}

// known reports whether v is one of the field's choices.
func (f Field) known(v string) bool {
	return slices.ContainsFunc(f.Choices, func(c Choice) bool { return c.Value == v })
}

// Options are the choices of an InputChoice field for a select showing current: "(not
// set)" first, then the known values. A stored value the console does not know stays
// selectable, so saving another field does not clear it.
func (f Field) Options(current string) []Choice {
	out := append([]Choice{{Value: "", Label: "(not set)"}}, f.Choices...)
	if current != "" && !f.known(current) {
		out = append(out, Choice{Value: current, Label: current + " (as stored in Synerise)"})
	}
	return out
}

// Words is a value of the field as a person reads it: a choice by its label (a value the
// console does not know as Synerise returned it), nil as "(empty)", and a field the profile
// does not hold ("") as nothing at all.
func (f Field) Words(v any) string {
	if s, ok := v.(string); ok && s == "" {
		return ""
	}
	if s, ok := v.(string); ok && f.Input == InputChoice {
		if i := slices.IndexFunc(f.Choices, func(c Choice) bool { return c.Value == s }); i >= 0 {
			return f.Choices[i].Label
		}
		return s
	}
	return valueWords(v)
}

func checkPhone(v string, _ time.Time) string {
	if !newPhonePattern.MatchString(v) {
		return "may hold only digits and spaces, with an optional leading + (6 to 20 characters), such as +48 600 100 200. Synerise does not accept dashes or brackets."
	}
	return ""
}

func checkBirthDate(v string, now time.Time) string {
	d, err := time.Parse(time.DateOnly, v)
	switch {
	case err != nil:
		return "must be a date such as 1988-04-12."
	case !d.After(oldestBirthDate):
		return "must be after 1900-01-01."
	case d.After(now):
		return "cannot be in the future."
	}
	return ""
}

func checkCountryCode(v string, _ time.Time) string {
	if !isoCountry.MatchString(v) && !diallingPrefix.MatchString(v) {
		return "must be a two-letter ISO 3166 code such as PL, or a dialling prefix such as +48."
	}
	return ""
}

// Agreement is one marketing consent of a profile.
type Agreement struct {
	Name  string // Synerise's name, under "agreements"
	Label string
	ref   func(a *synerise.Agreements) *bool
}

// Agreements are the consents the console shows and edits, in order.
var Agreements = []Agreement{
	{Name: "email", Label: "E-mail", ref: func(a *synerise.Agreements) *bool { return &a.Email }},
	{Name: "sms", Label: "SMS", ref: func(a *synerise.Agreements) *bool { return &a.SMS }},
	{Name: "push", Label: "Push", ref: func(a *synerise.Agreements) *bool { return &a.Push }},
	{Name: "webPush", Label: "Web push", ref: func(a *synerise.Agreements) *bool { return &a.WebPush }},
	{Name: "bluetooth", Label: "Bluetooth", ref: func(a *synerise.Agreements) *bool { return &a.Bluetooth }},
	{Name: "rfid", Label: "RFID", ref: func(a *synerise.Agreements) *bool { return &a.RFID }},
	{Name: "wifi", Label: "Wi-Fi", ref: func(a *synerise.Agreements) *bool { return &a.WiFi }},
}

// Get reads the consent of p.
func (a Agreement) Get(p *synerise.Profile) bool { return *a.ref(&p.Agreements) }

// Set writes the consent of p.
func (a Agreement) Set(p *synerise.Profile, on bool) { *a.ref(&p.Agreements) = on }

// Path is the agreement's path in a change list and an update: "agreements.sms".
func (a Agreement) Path() string { return agreementPrefix + a.Name }

// Rules are what checking an edit needs from outside this package.
type Rules struct {
	// Now is the time a birth date may not be after.
	Now time.Time
	// Text explains what is wrong with typed text of at most max characters, or returns
	// "": the console's one rule for any typed text (length, valid UTF-8, no control
	// characters). nil accepts any text.
	Text func(s string, max int) string
}

func (r Rules) text(s string, max int) string {
	if r.Text == nil {
		return ""
	}
	return r.Text(s, max)
}
