package settings

import (
	"encoding/json"
	"net/url"
	"regexp"

	"github.com/raas-console/console/internal/synerise"
)

// Names of the form fields. A setting's input is named by its key; the value it had when
// the admin loaded the page travels in WasField(key), and a confirmed new value in
// NewField(key), both as JSON ("" for a key the settings lacked).
const (
	FingerprintField = "fingerprint"
	// FormProblem is the Problems key of a problem with the form as a whole.
	FormProblem = "form"
)

// WasField names the hidden field carrying a setting's value as loaded.
func WasField(key string) string { return "was." + key }

// NewField names the hidden field carrying a setting's confirmed new value.
func NewField(key string) string { return "new." + key }

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Loaded is the settings as the admin loaded them, as far as the form carries them: the
// fingerprint of the whole object and the values of the modelled keys.
type Loaded struct {
	Fingerprint string
	// Values maps a modelled key to its value as loaded; nil when the settings lacked it.
	// A key the form did not carry is absent.
	Values map[string]json.RawMessage
}

// LoadedFrom is what the form carries for s.
func LoadedFrom(s *synerise.Settings) Loaded {
	return Loaded{Fingerprint: s.Fingerprint(), Values: Values(s)}
}

// Was is the WasField value of key: compact JSON, or "" when the settings lacked it.
func (l Loaded) Was(key string) string {
	raw := l.Values[key]
	if raw == nil {
		return ""
	}
	return compact(raw)
}

// Edit is the settings form as submitted: what was loaded, what was typed, the changes
// and the problems, keyed by setting key (or FormProblem).
type Edit struct {
	Loaded   Loaded
	Input    map[string]string
	Changes  []Change
	Problems map[string]string
}

// ParseEdit reads the settings form. A setting whose input is absent is unchanged, so a
// form may carry only some settings. An input that still shows the loaded value is
// unchanged even when the console would not accept that value (an unknown registration
// type is kept as it is). A checkbox is paired with a hidden "false" before it, so the
// last value sent wins.
func ParseEdit(form url.Values) Edit {
	e := Edit{Loaded: parseLoaded(form), Input: map[string]string{}, Problems: map[string]string{}}
	if !fingerprintPattern.MatchString(e.Loaded.Fingerprint) {
		e.Problems[FormProblem] = "This form does not say which settings it was loaded from. Reload the page and make your change again."
	}
	for _, f := range Fields {
		vals, ok := form[f.Key]
		if !ok || len(vals) == 0 {
			continue
		}
		input := vals[len(vals)-1]
		e.Input[f.Key] = input
		old, loaded := e.Loaded.Values[f.Key]
		if !loaded {
			e.Problems[f.Key] = "The form does not say what this setting was when you loaded it. Reload the page."
			continue
		}
		if input == f.FormValue(old) {
			continue
		}
		raw, msg := f.Parse(input)
		if msg != "" {
			e.Problems[f.Key] = msg
			continue
		}
		if !Equal(raw, old) {
			e.Changes = append(e.Changes, Change{Key: f.Key, Old: old, New: raw})
		}
	}
	return e
}

// ParseConfirm reads the confirmation form: what was loaded and the new values, each
// checked again, as they may have been altered on the way. It returns the changes and
// the problems, keyed by setting key (or FormProblem).
func ParseConfirm(form url.Values) (Loaded, []Change, map[string]string) {
	loaded := parseLoaded(form)
	problems := map[string]string{}
	if !fingerprintPattern.MatchString(loaded.Fingerprint) {
		problems[FormProblem] = "This form does not say which settings it was loaded from. Reload the settings page and make your change again."
	}
	var changes []Change
	for _, f := range Fields {
		if !form.Has(NewField(f.Key)) {
			continue
		}
		raw := json.RawMessage(form.Get(NewField(f.Key)))
		old, ok := loaded.Values[f.Key]
		switch {
		case !ok:
			problems[f.Key] = "The form does not say what this setting was when you loaded it. Reload the settings page."
		case !json.Valid(raw):
			problems[f.Key] = f.Label + " is not a valid value."
		default:
			if msg := f.Check(raw); msg != "" {
				problems[f.Key] = f.Label + " " + msg
			} else if !Equal(raw, old) {
				changes = append(changes, Change{Key: f.Key, Old: old, New: json.RawMessage(compact(raw))})
			}
		}
	}
	return loaded, changes, problems
}

func parseLoaded(form url.Values) Loaded {
	l := Loaded{Fingerprint: form.Get(FingerprintField), Values: map[string]json.RawMessage{}}
	for _, f := range Fields {
		if !form.Has(WasField(f.Key)) {
			continue
		}
		s := form.Get(WasField(f.Key))
		switch {
		case s == "":
			l.Values[f.Key] = nil
		case json.Valid([]byte(s)):
			l.Values[f.Key] = json.RawMessage(s)
		}
	}
	return l
}
