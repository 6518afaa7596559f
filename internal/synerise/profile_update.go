package synerise

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// ProfileUpdateFields are the profile fields ProfileUpdate.Set and Clear accept: the
// writable, non-identifying string fields (the SDK's "basic information" plus avatarUrl).
var ProfileUpdateFields = []string{
	"firstName", "lastName", "displayName", "sex", "phone", "birthDate", "company",
	"address", "city", "province", "zipCode", "countryCode", "avatarUrl",
}

// AgreementNames are the consents ProfileUpdate.SetAgreement accepts.
var AgreementNames = []string{"email", "sms", "push", "webPush", "bluetooth", "rfid", "wifi"}

// ProfileUpdate is a partial profile change: only what was set is sent, and a cleared field
// or deleted attribute is sent as null. The zero value is an empty update.
type ProfileUpdate struct {
	fields     map[string]json.RawMessage
	attrs      map[string]json.RawMessage
	agreements map[string]bool
}

// Set sets a string field. Identifiers (clientId, uuid, email, customId) and unknown names
// are refused.
func (u *ProfileUpdate) Set(field, value string) error {
	if err := checkUpdateField(field); err != nil {
		return err
	}
	raw, _ := json.Marshal(value)
	u.setField(field, raw)
	return nil
}

// Clear sends null for field, which clears it in Synerise.
func (u *ProfileUpdate) Clear(field string) error {
	if err := checkUpdateField(field); err != nil {
		return err
	}
	u.setField(field, json.RawMessage("null"))
	return nil
}

func (u *ProfileUpdate) setField(field string, raw json.RawMessage) {
	if u.fields == nil {
		u.fields = map[string]json.RawMessage{}
	}
	u.fields[field] = raw
}

func checkUpdateField(field string) error {
	switch field {
	case "clientId", "uuid", "email", "customId":
		return fmt.Errorf("synerise: profile update: %q is an identifier and cannot be changed here", field)
	}
	if !slices.Contains(ProfileUpdateFields, field) {
		return fmt.Errorf("synerise: profile update: unknown field %q", field)
	}
	return nil
}

// SetAgreement sets one consent (see AgreementNames).
func (u *ProfileUpdate) SetAgreement(name string, v bool) error {
	if !slices.Contains(AgreementNames, name) {
		return fmt.Errorf("synerise: profile update: unknown agreement %q", name)
	}
	if u.agreements == nil {
		u.agreements = map[string]bool{}
	}
	u.agreements[name] = v
	return nil
}

// SetAttribute sets a custom attribute to v (any JSON-encodable value); other attributes
// are left alone.
func (u *ProfileUpdate) SetAttribute(key string, v any) error {
	if key == "" {
		return fmt.Errorf("synerise: profile update: empty attribute key")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("synerise: profile update: attribute %q: %w", key, err)
	}
	u.setAttr(key, raw)
	return nil
}

// DeleteAttribute sends null for the attribute, which deletes it in Synerise.
func (u *ProfileUpdate) DeleteAttribute(key string) {
	if key != "" {
		u.setAttr(key, json.RawMessage("null"))
	}
}

func (u *ProfileUpdate) setAttr(key string, raw json.RawMessage) {
	if u.attrs == nil {
		u.attrs = map[string]json.RawMessage{}
	}
	u.attrs[key] = raw
}

// IsEmpty reports whether nothing would be sent.
func (u ProfileUpdate) IsEmpty() bool {
	return len(u.fields) == 0 && len(u.attrs) == 0 && len(u.agreements) == 0
}

// Fields names what the update changes, sorted: "city", "agreements.sms",
// "attributes.tier" — suitable for an audit record.
func (u ProfileUpdate) Fields() []string {
	out := make([]string, 0, len(u.fields)+len(u.attrs)+len(u.agreements))
	for k := range u.fields {
		out = append(out, k)
	}
	for k := range u.agreements {
		out = append(out, "agreements."+k)
	}
	for k := range u.attrs {
		out = append(out, "attributes."+k)
	}
	sort.Strings(out)
	return out
}

// MarshalJSON encodes the update as Synerise expects it, e.g.
// {"agreements":{"sms":true},"attributes":{"old":null,"tier":"gold"},"city":null,"firstName":"Ann"}.
func (u ProfileUpdate) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(u.fields)+2)
	for k, v := range u.fields {
		m[k] = v
	}
	if len(u.attrs) > 0 {
		m["attributes"] = u.attrs
	}
	if len(u.agreements) > 0 {
		m["agreements"] = u.agreements
	}
	return json.Marshal(m)
}
