package profile

import (
	"bytes"
	"maps"
	"slices"
)

// Conflict is one value that changed in Synerise since the form was loaded.
type Conflict struct {
	Label, Before, After string
	// Yours marks a value the operator also changed in the form.
	Yours bool
}

// Merge answers a save whose profile changed since the form was loaded: the form showing
// the current values with the operator's own changes kept, and what changed meanwhile.
func Merge(loaded, current Info, f Form) (Form, []Conflict) {
	merged := FormOf(current)
	var conflicts []Conflict
	for _, fl := range Fields {
		yours := f.Fields[fl.Name] != loaded.Fields[fl.Name]
		if yours {
			merged.Fields[fl.Name] = f.Fields[fl.Name]
		}
		if loaded.Fields[fl.Name] != current.Fields[fl.Name] {
			conflicts = append(conflicts, Conflict{Label: fl.Label, Before: fl.Words(nilIfEmpty(loaded.Fields[fl.Name])),
				After: fl.Words(nilIfEmpty(current.Fields[fl.Name])), Yours: yours})
		}
	}
	for _, a := range Agreements {
		yours := f.Agreements[a.Name] != loaded.Agreements[a.Name]
		if yours {
			merged.Agreements[a.Name] = f.Agreements[a.Name]
		}
		if loaded.Agreements[a.Name] != current.Agreements[a.Name] {
			conflicts = append(conflicts, Conflict{Label: "Agreement: " + a.Label,
				Before: valueWords(loaded.Agreements[a.Name]), After: valueWords(current.Agreements[a.Name]), Yours: yours})
		}
	}
	typed := mergeAttributes(loaded, &merged, f.Attributes)
	return merged, append(conflicts, attributeConflicts(loaded, current, typed)...)
}

// mergeAttributes keeps the operator's edits of stored attributes that were edited and
// their new rows; it returns the stored attributes' rows as typed, by key.
func mergeAttributes(loaded Info, merged *Form, rows []AttributeRow) map[string]AttributeRow {
	typed := map[string]AttributeRow{}
	for _, row := range rows {
		if row.Orig != "" {
			typed[row.Orig] = row
		} else if row.Key != "" || row.Value != "" {
			merged.Attributes = append(merged.Attributes, row)
		}
	}
	for i, row := range merged.Attributes {
		t, ok := typed[row.Orig]
		if row.Orig == "" || !ok {
			continue
		}
		if raw, was := loaded.Attributes[row.Orig]; was && attributeEdited(raw, t) {
			merged.Attributes[i].Value, merged.Attributes[i].Remove = t.Value, t.Remove
		}
	}
	return typed
}

// attributeConflicts lists the attributes that changed since the form was loaded, by key.
func attributeConflicts(loaded, current Info, typed map[string]AttributeRow) []Conflict {
	keys := map[string]bool{}
	for k := range loaded.Attributes {
		keys[k] = true
	}
	for k := range current.Attributes {
		keys[k] = true
	}
	var out []Conflict
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		was, inLoaded := loaded.Attributes[k]
		now, inCurrent := current.Attributes[k]
		if inLoaded == inCurrent && bytes.Equal(was, now) {
			continue
		}
		t, typedRow := typed[k]
		yours := typedRow && inLoaded && attributeEdited(was, t)
		out = append(out, Conflict{Label: "Attribute " + k,
			Before: attributeWordsIf(was, inLoaded), After: attributeWordsIf(now, inCurrent), Yours: yours})
	}
	return out
}
