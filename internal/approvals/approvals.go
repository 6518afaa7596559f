// Package approvals keeps four-eyes change requests: a change one operator asked for,
// which another operator allowed to approve it approves or rejects before the console
// executes it. The table of kinds says who may approve what.
package approvals

import (
	"encoding/json"
	"errors"
	"time"
)

// The kinds of change that may be put under approval.
const (
	ActionSettings      = "settings"
	ActionCustomerEmail = "customer.email"
	ActionCustomerErase = "customer.erase"
	ActionOperatorRole  = "operator.role"
)

// The states of a request. A pending request is decided once: approved (then executed or
// failed), rejected, or expired unanswered.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateRejected = "rejected"
	StateExpired  = "expired"
	StateExecuted = "executed"
	StateFailed   = "failed"
)

// Errors of the store.
var (
	// ErrNotFound means there is no such request.
	ErrNotFound = errors.New("approvals: no such request")
	// ErrNotPending means the request was already decided, or has expired.
	ErrNotPending = errors.New("approvals: the request is no longer waiting for a decision")
)

// Change is one line of "what will change": the old and the new value, in words.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Request is one change waiting for, or past, a second operator's decision.
type Request struct {
	ID int64
	// Action is the kind of change: ActionSettings, ActionCustomerEmail, ….
	Action                            string
	TargetType, TargetID, TargetLabel string
	// Changes is what will change, shown to the approver.
	Changes []Change
	// Payload is what the executor needs to make the change.
	Payload json.RawMessage
	// Fingerprint is the target's state when the change was asked for.
	Fingerprint string
	Reason      string

	RequestedBy            int64
	RequestedByEmail       string
	RequestedAt, ExpiresAt time.Time

	State          string
	DecidedBy      *int64
	DecidedByEmail string
	Comment        string
	DecidedAt      *time.Time
	// Outcome says in words what happened at execution.
	Outcome string
}

// Pending reports whether r still waits for a decision at now.
func (r Request) Pending(now time.Time) bool {
	return r.State == StatePending && now.Before(r.ExpiresAt)
}
