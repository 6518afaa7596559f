// Package audit is the console's append-only, tamper-evident audit log in PostgreSQL.
//
// Every event is one row of audit_events with a gap-free seq. Each row carries the hash of
// the row before it and its own hash, SHA-256(prev_hash || canonical encoding), so a
// changed, removed or reordered row breaks the chain and Store.Verify names it. The table
// rejects UPDATE, DELETE and TRUNCATE with triggers; in production the console connects as
// a role that holds only INSERT and SELECT on it (see migrations/00003_audit.sql).
//
// One-phase events (a sign-in, a view, a denial) are written with Store.Append. A change
// made outside the console is written twice: Store.Intent before the outside call (if it
// fails, the caller must not act) and Store.Outcome after it. Intents left without an
// outcome are closed as OutcomeUnknown by Store.CloseStaleIntents.
package audit

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned when an audit event does not exist.
var ErrNotFound = errors.New("audit: event not found")

// Outcome is how an audited action ended.
type Outcome string

// The outcomes an event may record.
const (
	// OutcomePending marks an intent: the action is about to be attempted.
	OutcomePending Outcome = "pending"
	// OutcomeSucceeded means the action was carried out.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed means the action was attempted and failed.
	OutcomeFailed Outcome = "failed"
	// OutcomeDenied means the operator was not allowed to act.
	OutcomeDenied Outcome = "denied"
	// OutcomeUnknown means an intent was never followed by an outcome (a crash, a lost
	// database connection), so whether the action happened is not known.
	OutcomeUnknown Outcome = "unknown"
)

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomePending, OutcomeSucceeded, OutcomeFailed, OutcomeDenied, OutcomeUnknown:
		return true
	}
	return false
}

// Action names what an operator did, as "group.verb". Only the actions defined here may
// be recorded.
type Action string

// The defined actions.
const (
	ActionSignIn       Action = "auth.signin"
	ActionSignInFailed Action = "auth.signin_failed"
	ActionLockout      Action = "auth.lockout"
	ActionSignOut      Action = "auth.signout"
	// ActionPasswordChange is an operator changing their own password.
	ActionPasswordChange Action = "auth.password_change"

	ActionAccessDenied Action = "access.denied"
	// Identity: a refused single sign-on, second factors, step-up and sessions.
	ActionSSORefused         Action = "auth.sso_refused"
	ActionSecondFactor       Action = "auth.second_factor"
	ActionStepUp             Action = "auth.step_up"
	ActionTOTPEnrol          Action = "auth.totp_enrol"
	ActionTOTPRemove         Action = "auth.totp_remove"
	ActionRecoveryCodes      Action = "auth.recovery_codes"
	ActionPasskeyAdd         Action = "auth.passkey_add"
	ActionPasskeyRemove      Action = "auth.passkey_remove"
	ActionSessionEnd         Action = "auth.session_end"
	ActionOperatorSessions   Action = "operator.sessions_end"
	ActionOperatorSSO        Action = "operator.sso_link"
	ActionOperatorBreakGlass Action = "operator.break_glass"

	ActionOperatorCreate        Action = "operator.create"
	ActionOperatorDisable       Action = "operator.disable"
	ActionOperatorEnable        Action = "operator.enable"
	ActionOperatorRoleChange    Action = "operator.role_change"
	ActionOperatorPasswordReset Action = "operator.password_reset"

	ActionCustomerSearch           Action = "customer.search"
	ActionCustomerView             Action = "customer.view"
	ActionCustomerUpdate           Action = "customer.update"
	ActionCustomerPasswordReset    Action = "customer.password_reset"
	ActionCustomerActivationResend Action = "customer.activation_resend"
	ActionCustomerPINResend        Action = "customer.pin_resend"
	ActionCustomerEmailChange      Action = "customer.email_change"
	ActionCustomerErase            Action = "customer.erase"
	ActionCustomerExport           Action = "customer.export"
	// Four-eyes approvals: a change requested, approved, rejected, or expired unanswered.
	ActionApprovalRequest Action = "approval.request"
	ActionApprovalApprove Action = "approval.approve"
	ActionApprovalReject  Action = "approval.reject"
	ActionApprovalExpire  Action = "approval.expire"

	ActionSettingsView   Action = "settings.view"
	ActionSettingsUpdate Action = "settings.update"

	ActionAuditSearch     Action = "audit.search"
	ActionAuditView       Action = "audit.view"
	ActionAuditExport     Action = "audit.export"
	ActionAuditVerify     Action = "audit.verify"
	ActionAuditCheckpoint Action = "audit.checkpoint"
	// The audit stream: its configuration changed, a sink started failing, it recovered.
	ActionAuditSinkConfig    Action = "audit.sink_config"
	ActionAuditSinkFailure   Action = "audit.sink_failure"
	ActionAuditSinkRecovered Action = "audit.sink_recovered"
)

// actionEntry is one defined action and how a person reads it.
type actionEntry struct {
	action Action
	words  string
}

// actionTable is the table of defined actions; adding an action is a row. It is an
// array, so the lookups made for every event and every timeline row allocate nothing.
var actionTable = [...]actionEntry{
	{ActionSignIn, "Signed in"},
	{ActionSignInFailed, "Failed to sign in"},
	{ActionLockout, "Was locked out after failed sign-ins"},
	{ActionSignOut, "Signed out"},
	{ActionPasswordChange, "Changed their own password"},
	{ActionAccessDenied, "Was denied access"},
	{ActionSSORefused, "Was refused single sign-on"},
	{ActionSecondFactor, "Gave a second factor at sign-in"},
	{ActionStepUp, "Confirmed a risky action with a second factor"},
	{ActionTOTPEnrol, "Set up an authenticator app"},
	{ActionTOTPRemove, "Removed an authenticator app"},
	{ActionRecoveryCodes, "Made new recovery codes"},
	{ActionPasskeyAdd, "Registered a passkey"},
	{ActionPasskeyRemove, "Removed a passkey"},
	{ActionSessionEnd, "Ended a session"},
	{ActionOperatorSessions, "Ended all sessions of an operator"},
	{ActionOperatorSSO, "Changed an operator's single sign-on link"},
	{ActionOperatorBreakGlass, "Changed an operator's break-glass access"},
	{ActionOperatorCreate, "Created an operator"},
	{ActionOperatorDisable, "Disabled an operator"},
	{ActionOperatorEnable, "Enabled an operator"},
	{ActionOperatorRoleChange, "Changed an operator's role"},
	{ActionOperatorPasswordReset, "Reset an operator's password"},
	{ActionCustomerSearch, "Searched customers"},
	{ActionCustomerView, "Viewed a customer"},
	{ActionCustomerUpdate, "Updated a customer"},
	{ActionCustomerPasswordReset, "Sent a customer a password reset"},
	{ActionCustomerActivationResend, "Resent a customer's activation e-mail"},
	{ActionCustomerPINResend, "Resent a customer's PIN"},
	{ActionCustomerEmailChange, "Changed a customer's e-mail address"},
	{ActionCustomerErase, "Erased a customer"},
	{ActionCustomerExport, "Downloaded a customer's data"},
	{ActionApprovalRequest, "Asked for approval of a change"},
	{ActionApprovalApprove, "Approved a change"},
	{ActionApprovalReject, "Rejected a change"},
	{ActionApprovalExpire, "A change expired without approval"},
	{ActionSettingsView, "Viewed the settings"},
	{ActionSettingsUpdate, "Updated the settings"},
	{ActionAuditSearch, "Searched the audit log"},
	{ActionAuditView, "Viewed an audit event"},
	{ActionAuditExport, "Exported the audit log"},
	{ActionAuditVerify, "Verified the audit chain"},
	{ActionAuditCheckpoint, "Recorded an audit checkpoint"},
	{ActionAuditSinkConfig, "Changed where the audit log is streamed"},
	{ActionAuditSinkFailure, "The audit stream to a sink failed"},
	{ActionAuditSinkRecovered, "The audit stream to a sink recovered"},
}

func lookupAction(a Action) (string, bool) {
	for _, e := range actionTable {
		if e.action == a {
			return e.words, true
		}
	}
	return "", false
}

// Describe is the action in words, such as "Viewed a customer". An unknown action is
// described by its own name.
func (a Action) Describe() string {
	if d, ok := lookupAction(a); ok {
		return d
	}
	return string(a)
}

// Group is the part of the action before the dot, such as "customer".
func (a Action) Group() string {
	group, _, _ := strings.Cut(string(a), ".")
	return group
}

// Known reports whether a is one of the defined actions.
func Known(a Action) bool {
	_, ok := lookupAction(a)
	return ok
}

// Actions lists every defined action in name order.
func Actions() []Action {
	actions := make([]Action, 0, len(actionTable))
	for _, e := range actionTable {
		actions = append(actions, e.action)
	}
	slices.Sort(actions)
	return actions
}

// Actor is who acted. OperatorID is zero when no operator is known, such as a failed
// sign-in with an unknown e-mail.
type Actor struct {
	OperatorID int64
	Email      string
	Role       string
}

// Target is what was acted on, such as Type "customer", ID the clientId and Label the
// customer's e-mail.
type Target struct {
	Type  string
	ID    string
	Label string
}

// Event is one row of the audit log.
//
// Seq, Time, PrevHash and Hash are set by the Store when the event is written. Detail,
// Before and After are JSON built by the caller (see DetailJSON); values under keys named
// like secrets are replaced by "[redacted]" before they are stored. They must never hold
// passwords, tokens, PINs, API keys or session ids in the first place.
type Event struct {
	Seq            int64
	Time           time.Time
	Actor          Actor
	Action         Action
	Target         Target
	Reason         string // free text or a ticket reference given by the operator
	Outcome        Outcome
	Detail         json.RawMessage
	Before         json.RawMessage // state before a change, nil when not applicable
	After          json.RawMessage // state after a change, nil when not applicable
	UpstreamStatus int             // HTTP status from Synerise, zero when none
	UpstreamError  string
	TraceID        string
	RequestID      string
	ClientIP       string
	UserAgent      string
	IntentSeq      int64 // on an outcome row, the seq of its intent; zero otherwise
	PrevHash       []byte
	Hash           []byte
}
