package templates

// CustomerSearch is the customer search page: the box as typed and, after a search, its
// results.
type CustomerSearch struct {
	Query   string
	Results CustomerResults
}

// CustomerResults is the results area of the search page, also an htmx fragment.
type CustomerResults struct {
	Searched bool   // false before the first search: the area shows a hint
	Query    string // as typed, carried by the next-page form (never in a URL)
	Kind     string // what the query was taken for, in words: "an e-mail address"
	Rows     []CustomerRow
	Page     int // from 0
	NextPage int // the next page's index, 0 when there is none
	// InputError explains why the query was refused before anything was looked up.
	InputError string
	// Problem is what went wrong upstream (not found, rate limited, timeout ...).
	Problem *ErrorView
}

// CustomerRow is one customer in the results.
type CustomerRow struct {
	Href       string
	ClientID   string
	Name       string
	Email      string
	Phone      string
	CustomID   string
	Activation CustomerState
	Exact      bool // found by an exact identifier lookup
}

// CustomerState is a customer's activation state in words, with its badge class.
type CustomerState struct {
	Text  string
	Class string // badge-ok, badge-warn, badge-neutral
}

// CustomerField is one labelled value.
type CustomerField struct {
	Label, Value string
}

// CustomerAgreement is one marketing agreement and whether it is given.
type CustomerAgreement struct {
	Label string
	On    bool
}

// CustomerDetails is everything the console shows about one customer.
type CustomerDetails struct {
	Base        string // "/customers/<clientId>"
	ClientID    string
	Title       string // the customer's name or e-mail, for headings
	Identifiers []CustomerField
	Basic       []CustomerField
	Agreements  []CustomerAgreement
	Attributes  []CustomerField // key → value as text
	Activation  CustomerState
	Anonymous   bool
}

// CustomerPage is the customer page: details, actions and console history.
type CustomerPage struct {
	Details CustomerDetails
	// CanResendActivation offers the activation resend: the account is registered and
	// not yet activated.
	CanResendActivation bool
	CanResetPassword    bool
	Timeline            []CustomerEvent
}

// CustomerEvent is one entry of a customer's console history.
type CustomerEvent struct {
	Time         string
	Actor        string
	Role         string
	Action       string // in words
	Outcome      string // in words
	OutcomeClass string
	Reason       string
}

// CustomerChange is one field before and after, or loaded and now in a conflict.
type CustomerChange struct {
	Label, Before, After string
	// Yours marks a field the operator also changed in the form (in a conflict).
	Yours bool
}

// CustomerInput is one text input of the edit form.
type CustomerInput struct {
	Name  string // form field name, also the key of its error
	Label string
	Type  string // text, tel, date
	Value string
	Hint  string
}

// CustomerCheckbox is one agreement checkbox of the edit form.
type CustomerCheckbox struct {
	Name, Label string
	Checked     bool
}

// CustomerAttributeInput is one row of custom attributes in the edit form. Existing rows
// carry their key in Orig and show it read-only; new rows have an empty Orig.
type CustomerAttributeInput struct {
	Index  string
	Orig   string
	Key    string
	Value  string
	Remove bool
	// ReadOnly marks a value the form cannot show faithfully (a list or an object): it is
	// shown, not edited, and only Remove changes it.
	ReadOnly bool
	// Kind says what the stored value is when its text alone would not tell
	// ("null in Synerise", "empty text", "number", "true or false").
	Kind string
}

// CustomerOption is one choice of a select.
type CustomerOption struct {
	Value, Label string
}

// CustomerSelect is one select of the edit form: a field with a list of choices.
type CustomerSelect struct {
	Name    string // form field name, also the key of its error
	Label   string
	Value   string
	Options []CustomerOption
}

// CustomerEdit is the edit-basic-info form as loaded or as typed.
type CustomerEdit struct {
	Details     CustomerDetails // identifiers and title, shown read-only
	Inputs      []CustomerInput
	Selects     []CustomerSelect // after the inputs
	Agreements  []CustomerCheckbox
	Attributes  []CustomerAttributeInput
	AttrRows    string
	Reason      string
	Fingerprint string // SHA-256 of the editable fields as loaded
	Loaded      string // the editable fields as loaded, for showing a conflict
	Nonce       string // makes a double submit harmless
	Errors      FieldErrors
	FormError   string
	// Conflict lists what changed in Synerise since the form was loaded.
	Conflict []CustomerChange
}

// CustomerSaved is the answer to a saved edit: the values as saved, not re-read.
type CustomerSaved struct {
	Details CustomerDetails
	Changes []CustomerChange
}

// CustomerAction is an account action's confirm form and, after it was sent, its result.
type CustomerAction struct {
	Details CustomerDetails
	Email   string
	Kind    string // password-reset, activation-email, activation-pin, none
	Action  string // the form's action URL
	Reason  string
	Nonce   string
	Errors  FieldErrors
	// PIN resend only.
	DeviceID             string // as typed, or the known device
	KnownDeviceID        string // from snrs_last_pin_device_id, empty when unknown
	AllowDifferentDevice string // "on", "off" or "unknown"
	DeviceRuleSetting    string // the setting's label on the RaaS settings page
	RegistrationType     string
	// Unavailable explains why no action is offered (e.g. already activated).
	Unavailable string
	Result      *CustomerActionResult
}

// CustomerActionResult is what happened when an action was sent.
type CustomerActionResult struct {
	Kind    string // success, error, unknown
	Title   string
	Message string
	TraceID string
}

// SandboxOutbox is what the simulator would have sent, newest first.
type SandboxOutbox struct {
	Rows []OutboxRow
}

// OutboxRow is one message in the sandbox outbox.
type OutboxRow struct {
	Kind, Email, Href, Secret, Link, DeviceID, Time string
}

// describedBy joins the ids an input's aria-describedby names, skipping empty ones.
func describedBy(ids ...string) string {
	out := ""
	for _, id := range ids {
		if id == "" {
			continue
		}
		if out != "" {
			out += " "
		}
		out += id
	}
	return out
}

func resultFlash(kind string) string {
	switch kind {
	case "success":
		return "success"
	case "unknown":
		return "info"
	}
	return "error"
}

func resultRole(kind string) string {
	if kind == "success" {
		return "status"
	}
	return "alert"
}

// hintID is the id of an input's hint, empty when it has none.
func hintID(in CustomerInput) string {
	if in.Hint == "" {
		return ""
	}
	return "f-" + in.Name + "-hint"
}

// attrKindID is the id of the hint saying how an attribute is stored, "" when it has none.
func attrKindID(a CustomerAttributeInput) string {
	if a.Kind == "" {
		return ""
	}
	return "f-attr-" + a.Index + "-kind"
}
