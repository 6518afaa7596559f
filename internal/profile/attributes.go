package profile

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/raas-console/console/internal/synerise"
)

// Limits of a custom attribute typed in the form.
const (
	MaxAttributeKey   = 128
	MaxAttributeValue = 255
)

var attrKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// profileKeys are the names of a profile's own fields, lower-cased: an attribute may not
// take one.
var profileKeys = func() []string {
	var out []string
	t := reflect.TypeFor[synerise.Profile]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, strings.ToLower(name))
		}
	}
	return out
}()

// Reserved reports whether Synerise owns the attribute key: snrs_ keys and the profile's
// own field names, in any case.
func Reserved(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "snrs_") || slices.Contains(profileKeys, k)
}

// checkNewKey explains what is wrong with the key of a new attribute, or returns "".
// taken reports keys already listed in the form.
func checkNewKey(key string, r Rules, taken map[string]bool) string {
	switch msg := r.text(key, MaxAttributeKey); {
	case msg != "":
		return "The key " + msg + "."
	case key == "":
		return "Give the new attribute a key, or empty its value."
	case !attrKeyPattern.MatchString(key):
		return "A key may hold only letters, digits and _ . -"
	case Reserved(key):
		return "Synerise reserves " + key + " (snrs_ keys and profile field names)."
	case taken[key]:
		return "Attribute " + key + " is already listed; change it in its own row."
	}
	return ""
}

// AttributeInput is how a stored attribute appears in the edit form: its text, whether
// the form cannot show it faithfully (a list or an object: shown read-only), and what kind
// of value it is when the text alone would not say (null and empty text both show as an
// empty box, a number and its text look alike).
func AttributeInput(raw json.RawMessage) (text string, readOnly bool, kind string) {
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
func attributeEdited(raw json.RawMessage, row AttributeRow) bool {
	if row.Remove {
		return true
	}
	text, readOnly, _ := AttributeInput(raw)
	return !readOnly && row.Value != text
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

func attributeValue(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return v
}

// AttributeText is an attribute value as a person reads it: a string without quotes,
// anything else as compact JSON.
func AttributeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return compactJSON(raw)
}

// AttributeWords is an attribute value for reading: like AttributeText, but a null and
// an empty text say what they are instead of showing nothing.
func AttributeWords(raw json.RawMessage) string {
	switch compactJSON(raw) {
	case "null":
		return "(null)"
	case `""`:
		return "(empty text)"
	}
	return AttributeText(raw)
}

// attributeWordsIf is AttributeWords, or "(absent)" for an attribute the profile lacks.
func attributeWordsIf(raw json.RawMessage, present bool) string {
	if !present {
		return "(absent)"
	}
	return AttributeWords(raw)
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// valueWords is a value of a change as a person reads it.
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
