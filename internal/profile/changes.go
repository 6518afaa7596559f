package profile

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/raas-console/console/internal/synerise"
)

const (
	agreementPrefix = "agreements."
	attributePrefix = "attributes."
)

// Change is one value the operator changed: its path ("city", "agreements.sms",
// "attributes.tier"), label, and values (nil = absent or cleared).
type Change struct {
	Path, Label   string
	Before, After any
	// Remove deletes an attribute (sent as null); a nil After alone clears a field.
	Remove bool
}

// BeforeWords is the value before, as a person reads it.
func (c Change) BeforeWords() string { return words(c.Path, c.Before) }

// AfterWords is the value after, as a person reads it; a removed attribute says so.
func (c Change) AfterWords() string {
	if c.Remove {
		return "(removed)"
	}
	return words(c.Path, c.After)
}

func words(path string, v any) string {
	if f, ok := Lookup(path); ok {
		return f.Words(v)
	}
	if raw, ok := v.(json.RawMessage); ok {
		return AttributeWords(raw)
	}
	return valueWords(v)
}

// Diff compares the form with the basic info it was loaded from, checking every changed
// value. Unchanged values are not checked: a stored value the console would refuse must
// not block an edit of something else. Problems are keyed by form field name.
func Diff(loaded Info, f Form, r Rules) ([]Change, map[string]string) {
	var out []Change
	problems := map[string]string{}
	for _, fl := range Fields {
		was, now := loaded.Fields[fl.Name], f.Fields[fl.Name]
		if was == now {
			continue
		}
		if msg := fl.Check(now, r); msg != "" {
			problems[fl.Name] = fl.Label + " " + msg
			continue
		}
		out = append(out, Change{Path: fl.Name, Label: fl.Label, Before: nilIfEmpty(was), After: nilIfEmpty(now)})
	}
	for _, a := range Agreements {
		if was, now := loaded.Agreements[a.Name], f.Agreements[a.Name]; was != now {
			out = append(out, Change{Path: a.Path(), Label: "Agreement: " + a.Label, Before: was, After: now})
		}
	}
	return append(out, attributeChanges(loaded, f.Attributes, r, problems)...), problems
}

// attributeChanges is Diff for the attribute rows.
func attributeChanges(loaded Info, rows []AttributeRow, r Rules, problems map[string]string) []Change {
	var out []Change
	taken := map[string]bool{}
	for _, row := range rows {
		if row.Orig != "" {
			taken[row.Orig] = true
		}
	}
	for _, row := range rows {
		keyField, valueField := AttributeField(row.Index, "key"), AttributeField(row.Index, "value")
		if row.Orig != "" {
			ch, msg, changed := storedAttributeChange(loaded, row, r)
			if msg != "" {
				problems[valueField] = msg
			} else if changed {
				out = append(out, ch)
			}
			continue
		}
		if row.Key == "" && row.Value == "" {
			continue
		}
		if msg := checkNewKey(row.Key, r, taken); msg != "" {
			problems[keyField] = msg
		}
		if msg := r.text(row.Value, MaxAttributeValue); msg != "" {
			problems[valueField] = "The value " + msg + "."
		} else if row.Value == "" {
			problems[valueField] = "Give the new attribute a value."
		}
		if problems[keyField] != "" || problems[valueField] != "" {
			continue
		}
		taken[row.Key] = true
		out = append(out, Change{Path: attributePrefix + row.Key, Label: "Attribute " + row.Key, After: row.Value})
	}
	return out
}

// storedAttributeChange is the change of a stored attribute's row, if it changed, or what
// is wrong with it.
func storedAttributeChange(loaded Info, row AttributeRow, r Rules) (ch Change, problem string, changed bool) {
	raw, existed := loaded.Attributes[row.Orig]
	if !existed {
		return Change{}, "Attribute " + row.Orig + " is not editable here.", false
	}
	// The stored value as Synerise sent it: exact in the audit record (a large number
	// stays exact) and put in words as the customer page does.
	ch = Change{Path: attributePrefix + row.Orig, Label: "Attribute " + row.Orig, Before: json.RawMessage(raw)}
	switch {
	case !attributeEdited(raw, row):
		// What the form showed came back: nothing to send, whatever the value's type.
		return Change{}, "", false
	case row.Remove:
		ch.Remove = true
	default:
		if msg := r.text(row.Value, MaxAttributeValue); msg != "" {
			return Change{}, "The value " + msg + ".", false
		}
		ch.After = typedLike(raw, row.Value)
	}
	return ch, "", true
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AuditValues are the changes as an audit record's before and after: value by path.
func AuditValues(changes []Change) (before, after map[string]any) {
	before, after = map[string]any{}, map[string]any{}
	for _, ch := range changes {
		before[ch.Path], after[ch.Path] = ch.Before, ch.After
	}
	return before, after
}

// Update turns the changes into the partial update Synerise expects: only what changed,
// a cleared field or removed attribute as null.
func Update(changes []Change) (synerise.ProfileUpdate, error) {
	var u synerise.ProfileUpdate
	for _, ch := range changes {
		var err error
		switch {
		case strings.HasPrefix(ch.Path, agreementPrefix):
			err = u.SetAgreement(strings.TrimPrefix(ch.Path, agreementPrefix), ch.After.(bool))
		case strings.HasPrefix(ch.Path, attributePrefix):
			key := strings.TrimPrefix(ch.Path, attributePrefix)
			if ch.Remove {
				u.DeleteAttribute(key)
			} else {
				err = u.SetAttribute(key, ch.After)
			}
		case ch.After == nil:
			err = u.Clear(ch.Path)
		default:
			err = u.Set(ch.Path, ch.After.(string))
		}
		if err != nil {
			return u, err
		}
	}
	return u, nil
}

// Apply is p as it is after the changes: what the result page shows, since a read right
// after the asynchronous update may still be stale. p is not modified. A change of a path
// the tables do not know is left out.
func Apply(p *synerise.Profile, changes []Change) *synerise.Profile {
	out := *p
	out.Attributes = maps.Clone(p.Attributes)
	if out.Attributes == nil {
		out.Attributes = map[string]json.RawMessage{}
	}
	for _, ch := range changes {
		if key, ok := strings.CutPrefix(ch.Path, attributePrefix); ok {
			if ch.Remove {
				delete(out.Attributes, key)
			} else {
				out.Attributes[key], _ = json.Marshal(ch.After)
			}
			continue
		}
		for _, a := range Agreements {
			if a.Path() == ch.Path {
				a.Set(&out, ch.After.(bool))
			}
		}
		if f, ok := Lookup(ch.Path); ok {
			s, _ := ch.After.(string)
			f.Set(&out, s)
		}
	}
	return &out
}
