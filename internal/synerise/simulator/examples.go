package simulator

import (
	"encoding/json"
	"slices"
	"time"
)

// ExampleCustomer is a well-known customer for demos and tests. The examples
// are the first customers of every generated set and do not depend on the seed.
type ExampleCustomer struct {
	State     string `json:"state"`          // one of the State* constants
	Case      string `json:"case,omitempty"` // one of the Case* constants, for an example made for a data case
	Note      string `json:"note"`
	ClientID  int64  `json:"clientId"`
	Email     string `json:"email,omitempty"`
	UUID      string `json:"uuid"`
	CustomID  string `json:"customId,omitempty"`
	DeviceID  string `json:"deviceId,omitempty"` // device of the last PIN request, when there was one
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// Examples returns the well-known customers, in clientId order.
func (s *Simulator) Examples() []ExampleCustomer {
	return slices.Clone(s.examples)
}

// ExampleIn returns the first example customer in a state.
func (s *Simulator) ExampleIn(state string) (ExampleCustomer, bool) {
	for _, e := range s.examples {
		if e.State == state {
			return e, true
		}
	}
	return ExampleCustomer{}, false
}

// ExampleFor returns the first example customer made for a data case (a Case* constant).
func (s *Simulator) ExampleFor(dataCase string) (ExampleCustomer, bool) {
	for _, e := range s.examples {
		if e.Case == dataCase {
			return e, true
		}
	}
	return ExampleCustomer{}, false
}

// Data cases some examples are made for, as ExampleCustomer.Case names them.
const (
	// CaseAttributeTypes: custom attributes of every JSON type — "lastStore": null,
	// "nickname": "", "visits": 42, "rating": 3.5, "newsletter": true,
	// "interests": ["a","b"], "membership": {"tier":"gold","since":2020} — and a
	// phone stored as "+48 (601) 200-300", a form an update may no longer send.
	CaseAttributeTypes = "attribute-types"
)

type exampleSpec struct {
	ExampleCustomer
	p          profile
	registered bool
	confirmed  bool
	automatic  bool
	awaiting   string
}

// exampleSpecs are hand-written so that their values never change.
var exampleSpecs = []exampleSpec{
	{
		ExampleCustomer: ExampleCustomer{State: StateActivated, Note: "registered and activated; e-mail with a +tag",
			Email: "anna.kowalska+shop@example.com", UUID: "3f1c9a52-7d0e-4b6a-9c1e-2a8b5d4e6f01", CustomID: "LOY-0000001",
			FirstName: "Anna", LastName: "Kowalska"},
		p: profile{Phone: ptr("+48 600 100 200"), City: ptr("Warszawa"), Province: ptr("Mazowieckie"), ZipCode: ptr("00-001"),
			Address: ptr("Marszałkowska 10"), CountryCode: ptr("+48"), BirthDate: ptr("1988-04-12"), Sex: ptr("FEMALE"),
			DisplayName: ptr("Ania K."), Agreements: agreements{Email: true, SMS: true, Push: true}},
		registered: true, confirmed: true,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateUnconfirmed, Note: "registered (automatic), usable, e-mail not confirmed yet",
			Email: "lukasz.wisniewski@example.com", UUID: "8d2e4f60-1a3b-4c5d-8e7f-9a0b1c2d3e02", CustomID: "LOY-0000002",
			FirstName: "Łukasz", LastName: "Wiśniewski"},
		p:          profile{Phone: ptr("(22) 123 45 67"), City: ptr("Kraków"), CountryCode: ptr("PL"), Sex: ptr("MALE")},
		registered: true,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateAwaitingEmailActivation, Note: "registered, waiting for the e-mailed activation link",
			Email: "zoe.dubois@example.net", UUID: "b7a6c5d4-e3f2-4a1b-9c8d-7e6f5a4b3c03", CustomID: "LOY-0000003",
			FirstName: "Zoë", LastName: "Dubois"},
		p:          profile{Phone: ptr("+33 6 12 34 56 78"), City: ptr("Paris"), CountryCode: ptr("FR"), Sex: ptr("FEMALE")},
		registered: true, awaiting: StateAwaitingEmailActivation,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateAwaitingPIN, Note: "registered, waiting for a PIN; bound to the customer's device",
			Email: "john.doe+pin@example.com", UUID: "07243772-008a-42e1-ba37-c3807cebde8f", CustomID: "LOY-0000004",
			DeviceID: "5966145e-412d-44db-b826-7d53e6cfd300", FirstName: "John", LastName: "Doe"},
		p:          profile{Phone: ptr("+1 (415) 555-0132"), City: ptr("San Francisco"), CountryCode: ptr("US"), Sex: ptr("MALE")},
		registered: true, awaiting: StateAwaitingPIN,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateAwaitingPIN, Note: "registered, waiting for a PIN; no PIN requested yet (any device may ask first)",
			Email: "sofia.garcia@example.com", UUID: "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e05",
			FirstName: "Sofía", LastName: "García"},
		p:          profile{Phone: ptr("+34 612 345 678"), City: ptr("Sevilla"), CountryCode: ptr("+34"), Sex: ptr("FEMALE")},
		registered: true, awaiting: StateAwaitingPIN,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateNotRegistered, Note: "a profile without a password account (password reset refused)",
			Email: "juergen.mueller@example.org", UUID: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a06", CustomID: "LOY-0000006",
			FirstName: "Jürgen", LastName: "Müller"},
		p: profile{Phone: ptr("+49 30 1234567"), City: ptr("Berlin"), CountryCode: ptr("DE"), Sex: ptr("MALE")},
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateAnonymous, Note: "anonymous profile: no e-mail, uuid only",
			UUID: "f0e1d2c3-b4a5-4968-8776-655443322107"},
		p: profile{Anonymous: true},
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateActivated, Note: "markup in every text field: must render as inert text",
			Email: "markup+xss@example.com", UUID: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c08", CustomID: `LOY-<b>8</b>`,
			FirstName: "<script>alert(1)</script>", LastName: `" hx-get="/x`},
		p: profile{DisplayName: ptr("hx-on:click=alert(1)"), City: ptr("javascript:alert(1)"), Company: ptr(`<img src=x onerror=alert(1)>`),
			Address: ptr(`'><svg onload=alert(1)>`), Phone: ptr("+48 600 000 008"), CountryCode: ptr("PL"),
			Attributes: map[string]json.RawMessage{"favouriteStore": jsonString(`<iframe src="javascript:alert(1)">`)}},
		registered: true, confirmed: true,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateNotRegistered, Note: "markup in names, never registered",
			Email: "o'brien+markup@example.co.uk", UUID: "d9c8b7a6-f5e4-4d3c-9b2a-1f0e9d8c7b09",
			FirstName: `hx-on:click=alert(1)`, LastName: `<a href="javascript:alert(1)">O'Brien</a>`},
		p: profile{City: ptr(`" onmouseover="alert(1)`), DisplayName: ptr(`{{ 7*7 }} ${7*7}`)},
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateAutomatic, Note: "registered under registrationType AUTOMATIC: usable at once, " +
			"snrs_email_confirmed stays \"false\", activation and PIN requests are refused (nothing to activate)",
			Email: "ingrid.lindqvist@example.se", UUID: "6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e10", CustomID: "LOY-0000009",
			FirstName: "Ingrid", LastName: "Lindqvist"},
		p:          profile{Phone: ptr("+46 70 123 45 67"), City: ptr("Stockholm"), CountryCode: ptr("SE"), Sex: ptr("FEMALE")},
		registered: true, automatic: true,
	},
	{
		ExampleCustomer: ExampleCustomer{State: StateActivated, Case: CaseAttributeTypes,
			Note: "custom attributes of every JSON type (null, empty string, numbers, bool, array, object); " +
				"phone stored with brackets and dashes",
			Email: "marta.zielinska@example.com", UUID: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c11", CustomID: "LOY-0000010",
			FirstName: "Marta", LastName: "Zielińska"},
		p: profile{Phone: ptr("+48 (601) 200-300"), City: ptr("Gdańsk"), CountryCode: ptr("PL"), Sex: ptr("FEMALE"),
			Agreements: agreements{Email: true},
			Attributes: map[string]json.RawMessage{
				"lastStore":  json.RawMessage(`null`),
				"nickname":   json.RawMessage(`""`),
				"visits":     json.RawMessage(`42`),
				"rating":     json.RawMessage(`3.5`),
				"newsletter": json.RawMessage(`true`),
				"interests":  json.RawMessage(`["a","b"]`),
				"membership": json.RawMessage(`{"tier":"gold","since":2020}`),
			}},
		registered: true, confirmed: true,
	},
}

func (e exampleSpec) example(id int64) ExampleCustomer {
	x := e.ExampleCustomer
	x.ClientID = id
	return x
}

func (e exampleSpec) build(id int64) *customer {
	c := &customer{p: e.p, registered: e.registered, automatic: e.automatic, awaiting: e.awaiting, pinDevice: e.DeviceID}
	p := &c.p
	p.ClientID = id
	p.UUID = ptr(e.UUID)
	if e.Email != "" {
		p.Email = ptr(e.Email)
	}
	if e.CustomID != "" {
		p.CustomID = ptr(e.CustomID)
	}
	if e.FirstName != "" {
		p.FirstName = ptr(e.FirstName)
	}
	if e.LastName != "" {
		p.LastName = ptr(e.LastName)
	}
	p.Attributes = make(map[string]json.RawMessage, len(e.p.Attributes)+2)
	for k, v := range e.p.Attributes {
		p.Attributes[k] = v
	}
	if !p.Anonymous {
		p.Attributes["loyaltyTier"] = jsonString("gold")
	}
	if e.registered {
		c.password = "seeded"
		p.Attributes[AttrEmailConfirmed] = json.RawMessage(`"false"`)
		if e.confirmed {
			p.Attributes[AttrEmailConfirmed] = json.RawMessage(`"true"`)
		}
	}
	c.lastActivity = activityEpoch.Add(-time.Duration(id-firstClientID) * time.Hour)
	p.LastActivityDate = c.lastActivity.Format(timeLayout)
	return c
}
