// Package settings is the console's model of the RaaS general settings: which keys it
// edits, how each is labelled, explained, typed in and checked, and the pure logic of a
// lossless edit — the changes an admin made, applied to a fresh read with every other key
// kept byte for byte, and the comparison of what Synerise answered with what was sent.
// It does no HTTP and no I/O.
package settings

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/raas-console/console/internal/synerise"
)

// Kind is the type of a setting's value, which decides its input and its checks.
type Kind int

// The kinds of setting.
const (
	KindChoice Kind = iota // a string from a list of known values
	KindInt                // a whole number within Min..Max
	KindURL                // an absolute URL, or null
	KindUUID               // a UUID, or null
	KindBool               // true or false
)

// Choice is one known value of a KindChoice setting.
type Choice struct {
	Value string
	Label string // short, for the select
	Means string // what it does to customers
}

// Field is one setting the console models.
type Field struct {
	Key     string
	Label   string
	Help    string // what the setting does to customers
	Kind    Kind
	Choices []Choice // KindChoice
	Min     int      // KindInt
	Max     int      // KindInt
	Unit    string   // KindInt: "seconds" or "digits"
	// effect says what a value does from now on, in one sentence; nil for none.
	effect func(raw json.RawMessage) string
}

// maxURL is the longest confirmation redirect link accepted.
const maxURL = 2048

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var registrationTypes = []Choice{
	{"AUTOMATIC", "Automatic", "new accounts can be used at once; the e-mail stays unconfirmed"},
	{"REQUIRE_EMAIL_CONFIRMATION", "E-mail confirmation", "new accounts can be used at once; the link e-mailed to the customer marks the e-mail confirmed"},
	{"REQUIRE_EMAIL_ACTIVATION", "E-mail activation", "new accounts cannot sign in until the customer clicks the activation link e-mailed to them"},
	{"REQUIRE_PIN_CONFIRMATION", "PIN confirmation", "new accounts cannot sign in until the customer enters the PIN e-mailed to them"},
}

var pinConfirmationTypes = []Choice{
	{"EVERYONE", "Every registration", "every new registration needs a PIN"},
	{"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT", "Only on conflict with an external account", "a PIN is needed only when an account with the same e-mail came from a third-party identity provider"},
}

// Fields are the settings the console edits, in the order the page shows them.
var Fields = []Field{
	{
		Key: synerise.KeyRegistrationType, Label: "Registration type", Kind: KindChoice,
		Help:    "How a newly registered customer account becomes usable. Applies to registrations from now on; existing accounts keep their state.",
		Choices: registrationTypes, effect: choiceEffect(registrationTypes),
	},
	{
		Key: synerise.KeyPinConfirmationType, Label: "When a PIN is required", Kind: KindChoice,
		Help:    "With PIN confirmation: whether every new registration needs a PIN, or only one whose e-mail already belongs to an account from a third-party identity provider (Facebook, Google, Apple, OAuth).",
		Choices: pinConfirmationTypes, effect: choiceEffect(pinConfirmationTypes),
	},
	{
		Key: synerise.KeyPinConfirmationLength, Label: "PIN length", Kind: KindInt, Min: 4, Max: 12, Unit: "digits",
		Help: "How many digits the PINs e-mailed to customers have. PINs already sent keep their length.",
		effect: func(raw json.RawMessage) string {
			if n, ok := intOf(raw); ok {
				return fmt.Sprintf("PINs issued from now on have %d digits.", n)
			}
			return ""
		},
	},
	{
		Key: synerise.KeyPinConfirmationValidInSeconds, Label: "PIN validity", Kind: KindInt, Min: 30, Max: 86400, Unit: "seconds",
		Help: "How long a PIN stays usable. PINs issued from now on expire after this many seconds; PINs already sent keep theirs.",
		effect: func(raw json.RawMessage) string {
			if n, ok := intOf(raw); ok {
				return fmt.Sprintf("PINs issued from now on expire after %s.", seconds(n))
			}
			return ""
		},
	},
	{
		Key: synerise.KeyTokenLifetimeInSeconds, Label: "Customer sign-in lifetime", Kind: KindInt, Min: 60, Max: 31536000, Unit: "seconds",
		Help: "How long a customer's sign-in token (JWT) lasts before they must sign in again. Applies to tokens issued from now on.",
		effect: func(raw json.RawMessage) string {
			if n, ok := intOf(raw); ok {
				return fmt.Sprintf("Customers who sign in from now on stay signed in for %s.", seconds(n))
			}
			return ""
		},
	},
	{
		Key: synerise.KeyConfirmationRedirectLink, Label: "Confirmation redirect link", Kind: KindURL,
		Help: "Where customers land after clicking the confirmation or activation link in their e-mail. Empty means Synerise's own page. https only (http only for localhost).",
		effect: func(raw json.RawMessage) string {
			if s, ok := stringOf(raw); ok {
				return "Confirmation links clicked from now on lead to " + s + "."
			}
			if isNull(raw) {
				return "Confirmation links clicked from now on lead to Synerise's own page."
			}
			return ""
		},
	},
	{
		Key: synerise.KeyVoucherPoolUUID, Label: "Loyalty card voucher pool", Kind: KindUUID,
		Help: "The UUID of the voucher pool from which new accounts get their loyalty card number (customId). Empty means no card number is assigned.",
		effect: func(raw json.RawMessage) string {
			if s, ok := stringOf(raw); ok {
				return "Accounts registered from now on get a card number from pool " + s + "."
			}
			if isNull(raw) {
				return "Accounts registered from now on get no card number from a voucher pool."
			}
			return ""
		},
	},
	{
		Key: synerise.KeyAllowOverwriteCustomIdentify, Label: "Allow overwriting the customId", Kind: KindBool,
		Help:   "Whether a registration or sign-in that carries another customId may replace the customId already in the customer's profile.",
		effect: boolEffect("A customId sent from now on may replace the one in the profile.", "A customId already in a profile is never replaced."),
	},
	{
		Key: synerise.KeyAllowEmailChangeFromWebForm, Label: "Allow e-mail change from web forms", Kind: KindBool,
		Help:   "Whether a customer's e-mail address may be changed by submitting a web form (such as a newsletter form) with a new address.",
		effect: boolEffect("Web forms may change a customer's e-mail address from now on.", "Web forms can no longer change a customer's e-mail address."),
	},
	{
		Key: synerise.KeyAllowPinResendFromDifferentDeviceID, Label: "Allow PIN resend from another device", Kind: KindBool,
		Help:   "Whether a customer may ask for a new PIN from a device other than the one that asked last. Confirming the PIN must still happen on the device that asked last.",
		effect: boolEffect("Customers may ask for a new PIN from any device.", "Only the device that asked last may ask for a new PIN."),
	},
}

// Lookup returns the modelled setting with key.
func Lookup(key string) (Field, bool) {
	i := slices.IndexFunc(Fields, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return Field{}, false
	}
	return Fields[i], true
}

// Modelled reports whether the console models key.
func Modelled(key string) bool {
	_, ok := Lookup(key)
	return ok
}

// FormValue is what the field's input shows for raw: the string of a choice, the digits
// of a number, the URL or UUID ("" for null), "true" or "false". raw nil (the key is
// missing) shows as "" ("false" for a switch). A value of an unexpected type shows as its
// JSON text.
func (f Field) FormValue(raw json.RawMessage) string {
	if raw == nil {
		if f.Kind == KindBool {
			return "false"
		}
		return ""
	}
	switch f.Kind {
	case KindChoice, KindURL, KindUUID:
		if s, ok := stringOf(raw); ok {
			return s
		}
		if isNull(raw) && f.Kind != KindChoice {
			return ""
		}
	case KindInt:
		if n, ok := intOf(raw); ok {
			return strconv.Itoa(n)
		}
	case KindBool:
		if b, ok := boolOf(raw); ok {
			return strconv.FormatBool(b)
		}
	}
	return compact(raw)
}

// Parse reads what an admin typed into the field's input and returns the JSON value to
// send, or a message saying what is wrong (and nil).
func (f Field) Parse(input string) (json.RawMessage, string) {
	if msg := plainText(input); msg != "" {
		return nil, msg
	}
	s := strings.TrimSpace(input)
	switch f.Kind {
	case KindChoice:
		if _, ok := f.choice(quote(s)); !ok {
			return nil, "Choose one of the listed options."
		}
		return quote(s), ""
	case KindInt:
		n, err := strconv.Atoi(s)
		if err != nil || n < f.Min || n > f.Max || strings.HasPrefix(s, "+") {
			return nil, fmt.Sprintf("Enter a whole number from %d to %d.", f.Min, f.Max)
		}
		return json.RawMessage(strconv.Itoa(n)), ""
	case KindURL:
		if s == "" {
			return json.RawMessage("null"), ""
		}
		if msg := checkURL(s); msg != "" {
			return nil, msg
		}
		return quote(s), ""
	case KindUUID:
		if s == "" {
			return json.RawMessage("null"), ""
		}
		s = strings.ToLower(s)
		if !uuidPattern.MatchString(s) {
			return nil, "Enter a UUID such as 3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b, or leave it empty."
		}
		return quote(s), ""
	case KindBool:
		switch s {
		case "true", "on":
			return json.RawMessage("true"), ""
		case "false", "":
			return json.RawMessage("false"), ""
		}
		return nil, "Tick or untick the box."
	}
	return nil, "This setting cannot be edited."
}

// Check reports what is wrong with raw as a value to send for the field, or "". It holds
// raw to the same rules as Parse; use it on values that did not come from the field's
// input (a confirmation form, a past change to restore).
func (f Field) Check(raw json.RawMessage) string {
	if !json.Valid(raw) {
		return "is not a valid value."
	}
	switch f.Kind {
	case KindBool:
		if _, ok := boolOf(raw); ok {
			return ""
		}
		return "must be on or off."
	case KindInt:
		if n, ok := intOf(raw); ok && n >= f.Min && n <= f.Max {
			return ""
		}
		return fmt.Sprintf("must be a whole number from %d to %d.", f.Min, f.Max)
	case KindChoice:
		if _, ok := f.choice(raw); ok {
			return ""
		}
		return "must be one of the listed options."
	}
	if isNull(raw) {
		return ""
	}
	s, ok := stringOf(raw)
	if !ok {
		return "must be text or empty."
	}
	if msg := plainText(s); msg != "" {
		return "is not plain text. " + msg
	}
	if f.Kind == KindUUID {
		if !uuidPattern.MatchString(strings.ToLower(s)) {
			return "must be a UUID or empty."
		}
		return ""
	}
	if msg := checkURL(s); msg != "" {
		return "is not a link that can be used. " + msg
	}
	return ""
}

// Words describes raw for a person: "Automatic", "300 seconds (5 minutes)", "none", "on".
// raw nil (the key is missing) is "not set".
func (f Field) Words(raw json.RawMessage) string {
	if raw == nil {
		return "not set"
	}
	switch f.Kind {
	case KindChoice:
		if c, ok := f.choice(raw); ok {
			return c.Label
		}
		if s, ok := stringOf(raw); ok {
			return s + " (a value this console does not know)"
		}
	case KindInt:
		if n, ok := intOf(raw); ok {
			if f.Unit == "seconds" {
				return seconds(n)
			}
			return fmt.Sprintf("%d %s", n, f.Unit)
		}
	case KindURL, KindUUID:
		if isNull(raw) {
			return "none"
		}
		if s, ok := stringOf(raw); ok {
			return s
		}
	case KindBool:
		if b, ok := boolOf(raw); ok {
			if b {
				return "on"
			}
			return "off"
		}
	}
	return compact(raw)
}

// Effect says in one sentence what raw does to customers from now on, or "".
func (f Field) Effect(raw json.RawMessage) string {
	if f.effect == nil || raw == nil {
		return ""
	}
	return f.effect(raw)
}

func (f Field) choice(raw json.RawMessage) (Choice, bool) { return findChoice(f.Choices, raw) }

func findChoice(choices []Choice, raw json.RawMessage) (Choice, bool) {
	s, ok := stringOf(raw)
	if !ok {
		return Choice{}, false
	}
	i := slices.IndexFunc(choices, func(c Choice) bool { return c.Value == s })
	if i < 0 {
		return Choice{}, false
	}
	return choices[i], true
}

func choiceEffect(choices []Choice) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		if c, ok := findChoice(choices, raw); ok {
			return "From now on " + c.Means + "."
		}
		return ""
	}
}
