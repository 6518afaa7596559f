package profile

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Names of the edit form's fields beside the basic-info fields, which are named by
// Field.Name.
const (
	// AttributeRowsField holds how many attribute rows the form has.
	AttributeRowsField = "attr_rows"
	// maxAttributeRows bounds the rows read from one form.
	maxAttributeRows = 500
)

// AgreementField names an agreement's checkbox.
func AgreementField(name string) string { return "agreement_" + name }

// AttributeField names a part of attribute row i: "key", "value", "orig" or "remove".
func AttributeField(i, part string) string { return "attr." + i + "." + part }

// Form is the basic info as the edit form shows or returns it.
type Form struct {
	Fields     map[string]string
	Agreements map[string]bool
	Attributes []AttributeRow
}

// AttributeRow is one row of custom attributes. A stored attribute's row carries its key
// in Orig; a new one has an empty Orig.
type AttributeRow struct {
	Index  string // the row's number in the form
	Orig   string
	Key    string
	Value  string
	Remove bool
}

// Blank reports whether the row is an empty new one.
func (r AttributeRow) Blank() bool { return r.Orig == "" && r.Key == "" && r.Value == "" }

// ReadForm reads the form through value, which returns a field's value ("" when absent).
// Text fields and new keys are trimmed; attribute values are kept as typed.
func ReadForm(value func(name string) string) Form {
	f := Form{Fields: map[string]string{}, Agreements: map[string]bool{}}
	for _, fl := range Fields {
		f.Fields[fl.Name] = strings.TrimSpace(value(fl.Name))
	}
	for _, a := range Agreements {
		f.Agreements[a.Name] = value(AgreementField(a.Name)) == "on"
	}
	rows, _ := strconv.Atoi(value(AttributeRowsField))
	for i := range max(0, min(rows, maxAttributeRows)) {
		n := strconv.Itoa(i)
		row := AttributeRow{Index: n, Orig: value(AttributeField(n, "orig")),
			Key: strings.TrimSpace(value(AttributeField(n, "key"))), Value: value(AttributeField(n, "value")),
			Remove: value(AttributeField(n, "remove")) == "on"}
		if row.Orig != "" {
			row.Key = row.Orig
		}
		f.Attributes = append(f.Attributes, row)
	}
	return f
}

// FormOf is the form as loaded from b: attributes sorted by key.
func FormOf(b Info) Form {
	f := Form{Fields: maps.Clone(b.Fields), Agreements: maps.Clone(b.Agreements)}
	for _, k := range slices.Sorted(maps.Keys(b.Attributes)) {
		text, _, _ := AttributeInput(b.Attributes[k])
		f.Attributes = append(f.Attributes, AttributeRow{Orig: k, Key: k, Value: text})
	}
	return f
}
