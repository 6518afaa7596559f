package handlers

import (
	"context"
	"strconv"
	"strings"

	"github.com/raas-console/console/internal/profile"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/web/templates"
)

// emptyAttributeRows is how many blank rows the form offers for new attributes.
const emptyAttributeRows = 3

// editView builds the form's view model from typed (or loaded) values.
func (h *Handler) editView(ctx context.Context, p *synerise.Profile, loaded profile.Info, f editForm) templates.CustomerEdit {
	v := templates.CustomerEdit{
		Details: h.details(ctx, p), Reason: f.reason,
		Fingerprint: loaded.Fingerprint(), Loaded: loaded.Encode(),
		Nonce: f.nonce, Errors: templates.FieldErrors{},
	}
	if !noncePattern.MatchString(v.Nonce) {
		v.Nonce = newToken()
	}
	for _, fl := range profile.Fields {
		if fl.Input == profile.InputChoice {
			sel := templates.CustomerSelect{Name: fl.Name, Label: fl.Label, Value: f.Fields[fl.Name]}
			for _, o := range fl.Options(sel.Value) {
				sel.Options = append(sel.Options, templates.CustomerOption{Value: o.Value, Label: o.Label})
			}
			v.Selects = append(v.Selects, sel)
			continue
		}
		v.Inputs = append(v.Inputs, templates.CustomerInput{Name: fl.Name, Label: fl.Label, Type: fl.InputType(),
			Value: f.Fields[fl.Name], Hint: fl.Hint})
	}
	for _, a := range profile.Agreements {
		v.Agreements = append(v.Agreements, templates.CustomerCheckbox{Name: a.Name, Label: a.Label, Checked: f.Agreements[a.Name]})
	}
	v.Attributes, v.AttrRows = attributeInputs(loaded, f.Attributes)
	return v
}

// attributeInputs are the form's attribute rows, renumbered without the blank ones, then
// emptyAttributeRows blank ones, and how many rows there are.
func attributeInputs(loaded profile.Info, rows []profile.AttributeRow) ([]templates.CustomerAttributeInput, string) {
	var out []templates.CustomerAttributeInput
	for _, r := range rows {
		if r.Blank() {
			continue
		}
		in := templates.CustomerAttributeInput{Orig: r.Orig, Key: r.Key, Value: r.Value, Remove: r.Remove}
		if raw, ok := loaded.Attributes[r.Orig]; ok && r.Orig != "" {
			var text string
			text, in.ReadOnly, in.Kind = profile.AttributeInput(raw)
			if in.ReadOnly {
				in.Value = text
			}
		}
		in.Index = strconv.Itoa(len(out))
		out = append(out, in)
	}
	for range emptyAttributeRows {
		out = append(out, templates.CustomerAttributeInput{Index: strconv.Itoa(len(out))})
	}
	return out, strconv.Itoa(len(out))
}

// reindexErrors moves attribute-row errors to the rows' new positions in the view.
func reindexErrors(f editForm, errs map[string]string) templates.FieldErrors {
	out := templates.FieldErrors{}
	for k, msg := range errs {
		if !strings.HasPrefix(k, "attr.") {
			out[k] = msg
		}
	}
	rows := 0
	for _, a := range f.Attributes {
		if a.Blank() {
			continue
		}
		for _, part := range []string{"key", "value"} {
			if msg, ok := errs[profile.AttributeField(a.Index, part)]; ok {
				out[profile.AttributeField(strconv.Itoa(rows), part)] = msg
			}
		}
		rows++
	}
	return out
}

// savedView is the answer to a saved edit: the customer as saved and what changed.
func savedView(d templates.CustomerDetails, changes []profile.Change) templates.CustomerSaved {
	saved := templates.CustomerSaved{Details: d}
	for _, ch := range changes {
		saved.Changes = append(saved.Changes, templates.CustomerChange{Label: ch.Label, Before: ch.BeforeWords(), After: ch.AfterWords()})
	}
	return saved
}
