package templates

// AuditFilter is the audit log's filter form as typed; every field is a URL query
// parameter, so a filtered view can be shared as a link.
type AuditFilter struct {
	From, To, Actor, Action, Target, Outcome, RequestID, Text string
}

// AuditOption is one choice of a select.
type AuditOption struct {
	Value, Label string
}

// AuditLog is the auditor's log page: the filter form and one page of results.
type AuditLog struct {
	Filter   AuditFilter
	Errors   FieldErrors
	Actions  []AuditOption
	Outcomes []AuditOption
	Rows     []AuditRow
	// Paging links, empty when there is no such page.
	NewestURL, NewerURL, OlderURL string
	ExportCSV, ExportNDJSON       string
	Filtered                      bool
}

// AuditRow is one event in a list.
type AuditRow struct {
	Seq          string
	Href         string
	Time         string
	ActorEmail   string
	ActorRole    string
	Action       string // in words
	ActionName   string // as stored, e.g. customer.update
	TargetType   string
	TargetLabel  string
	TargetID     string
	Outcome      string // in words
	OutcomeClass string // a badge class
	Reason       string
}

// AuditField is one labelled value of an event's detail page.
type AuditField struct {
	Label string
	Value string
	Code  bool // shown as code (hashes, ids, JSON)
}

// AuditChange is one field of a before → after diff.
type AuditChange struct {
	Path, Kind, KindClass, Before, After string
}

// AuditEvent is the detail page of one event.
type AuditEvent struct {
	Row       AuditRow
	Fields    []AuditField
	Intent    *AuditRow  // the intent, when the event is an outcome
	Outcomes  []AuditRow // the outcomes, when the event is an intent
	Pending   bool       // an intent with no outcome yet
	Changes   []AuditChange
	Detail    string // indented JSON
	ActorURL  string // the actor's other events
	TargetURL string // the target's timeline; empty when the target has no id to filter by
}

// AuditIntegrity is the integrity page: the chain verification and the checkpoints.
type AuditIntegrity struct {
	RowsChecked string
	HeadSeq     string
	HeadHash    string
	Intact      bool
	BreakSeq    string
	BreakURL    string
	Break       string
	Breaks      string
	CheckedAt   string
	// RewriteRisks, when not empty, say how the console's own database role could
	// rewrite the log (it owns the table, is a superuser, or may UPDATE it ...).
	RewriteRisks []string

	SigningOn       bool
	PublicKeyBase64 string
	PublicKeyHex    string
	Checkpoints     []AuditCheckpoint
}

// AuditCheckpoint is one recorded checkpoint with whether it still holds.
type AuditCheckpoint struct {
	Seq         string
	Hash        string
	Time        string
	Holds       bool
	Status      string
	DownloadURL string
}
