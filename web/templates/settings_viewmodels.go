package templates

import "strings"

// SettingsEdit is the RaaS settings form.
type SettingsEdit struct {
	Fingerprint string // of the settings as loaded
	Fields      []SettingField
	Others      []OtherSetting
	Errors      FieldErrors // by setting key
	// Problem is a message above the form: Synerise refused or did not confirm a change,
	// the form was out of date.
	Problem string
}

// SettingField is one modelled setting with its input.
type SettingField struct {
	Key     string
	Label   string
	Help    string
	Kind    string // "select", "number", "url", "text" or "checkbox"
	Current string // the value as loaded, in words
	Was     string // the value as loaded, as JSON ("" when missing)
	Value   string // what the input shows
	Options []SettingOption
	Min     string
	Max     string
	Unit    string
}

// ID is the input's id.
func (f SettingField) ID() string { return "setting-" + f.Key }

// HelpID is the id of the help text.
func (f SettingField) HelpID() string { return f.Key + "-help" }

// CurrentID is the id of the current value.
func (f SettingField) CurrentID() string { return f.Key + "-current" }

// KeyID is the id of the setting's key as Synerise names it.
func (f SettingField) KeyID() string { return f.Key + "-key" }

// DescribedBy links the input to its key, its current value, its help and its error, if any.
func (f SettingField) DescribedBy(errs FieldErrors) string {
	return strings.TrimSpace(f.KeyID() + " " + f.CurrentID() + " " + f.HelpID() + " " + DescribedBy(f.Key, errs))
}

// Checked reports whether a checkbox is ticked.
func (f SettingField) Checked() bool { return f.Value == "true" }

// SettingOption is one choice of a select.
type SettingOption struct {
	Value, Label string
}

// OtherSetting is a key the console does not model, shown read-only.
type OtherSetting struct {
	Key, Value string
}

// HiddenValue is a hidden form field.
type HiddenValue struct {
	Name, Value string
}

// SettingChange is one setting old → new, in words.
type SettingChange struct {
	Key    string
	Label  string
	Old    string
	New    string
	Effect string // what the new value does to customers
}

// SettingsPreview asks the admin to confirm changes and give a reason.
type SettingsPreview struct {
	Fingerprint string
	Hidden      []HiddenValue // loaded values and new values
	Changes     []SettingChange
	Reason      string
	Errors      FieldErrors // "reason"
	Problem     string      // Synerise busy, and the like
	// RestoringFrom names the past change whose values are being restored, if any.
	RestoringFrom string
	Skipped       []string // past values that cannot be restored, and why
}

// SettingsConflict shows that the settings changed after the admin loaded them.
type SettingsConflict struct {
	Rows        []ConflictRow   // the admin's changes
	AlsoChanged []SettingChange // other settings changed meanwhile: loaded → now
	// UnmodelledChanged says that settings the console does not model changed too.
	UnmodelledChanged bool
	// Reapply are the hidden fields of the form that previews the admin's change again
	// on the current values.
	Reapply []HiddenValue
}

// ConflictRow is one of the admin's changes against what is there now.
type ConflictRow struct {
	Key, Label, Loaded, Now, Yours string
}

// SettingsResult reports a finished or uncertain write.
type SettingsResult struct {
	Heading     string
	Message     string
	Changes     []SettingChange // what was sent
	Differences []SettingChange // Old is what was sent, New what Synerise holds
}

// SettingsHistory lists the settings changes made through the console.
type SettingsHistory struct {
	Rows []SettingsHistoryRow
}

// SettingsHistoryRow is one change.
type SettingsHistoryRow struct {
	Seq          string // of the audit record, for the anchor and the restore address only
	Title        string // when and by whom: "2 Dec 2026, 14:05 UTC — Ada Admin"
	When         string
	Who          string
	Reason       string
	Outcome      string // succeeded, failed, unknown, pending
	OutcomeClass string // badge class
	Changes      []SettingChange
	Notes        []string
	RestoreURL   string // empty when the change cannot be restored
}
