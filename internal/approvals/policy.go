package approvals

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultActions are the kinds under approval when the configuration names none.
const DefaultActions = "customer.erase,customer.email,operator.role"

// DefaultTTL is how long a request waits for a decision when the configuration says nothing.
const DefaultTTL = 24 * time.Hour

// kind is one kind of change: its name, how a person reads it, and the roles of the
// operators who may approve it. Adding a kind is a row.
type kind struct {
	action    string
	words     string
	approvers []string
}

var kinds = [...]kind{
	{ActionSettings, "Change the RaaS settings", []string{"admin"}},
	{ActionCustomerEmail, "Change a customer's e-mail address", []string{"support", "admin"}},
	{ActionCustomerErase, "Erase a customer", []string{"support", "admin"}},
	{ActionOperatorRole, "Change an operator's role", []string{"admin"}},
}

func lookup(action string) (kind, bool) {
	for _, k := range kinds {
		if k.action == action {
			return k, true
		}
	}
	return kind{}, false
}

// Actions are the names of every kind, in the table's order.
func Actions() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.action
	}
	return out
}

// Describe is the kind of change in words; an unknown kind is its own name.
func Describe(action string) string {
	if k, ok := lookup(action); ok {
		return k.words
	}
	return action
}

// RoleMayApprove reports whether an operator of role may approve changes of this kind
// (someone else's: see Request.MayBeDecidedBy). Auditors never approve.
func RoleMayApprove(action, role string) bool {
	k, ok := lookup(action)
	return ok && slices.Contains(k.approvers, role)
}

// ApproverRoles are the roles that may approve some kind of change.
func ApproverRoles(actions []string) []string {
	var out []string
	for _, a := range actions {
		k, _ := lookup(a)
		for _, r := range k.approvers {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// MayBeDecidedBy says why operator id of role may not decide r, or "" when they may:
// never the requester, only a role the kind allows.
func (r Request) MayBeDecidedBy(id int64, role string) string {
	switch {
	case id == r.RequestedBy:
		return "You asked for this change, so another operator must approve or reject it."
	case !RoleMayApprove(r.Action, role):
		return "Your role (" + role + ") may not decide this kind of change; " + approverWords(r.Action) + " may."
	}
	return ""
}

func approverWords(action string) string {
	k, _ := lookup(action)
	if len(k.approvers) == 1 {
		return "another " + k.approvers[0]
	}
	return "another operator with the role " + strings.Join(k.approvers, " or ")
}

// Policy is which kinds of change need approval and how long a request waits.
type Policy struct {
	// Under are the kinds under approval; any other kind is made directly.
	Under []string
	// TTL is how long a request waits for a decision before it expires.
	TTL time.Duration
}

// Requires reports whether changes of this kind need approval.
func (p Policy) Requires(action string) bool { return slices.Contains(p.Under, action) }

// ParseActions reads a comma-separated list of kinds ("none" for no approvals); an
// unknown name is refused, naming the known ones.
func ParseActions(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return []string{}, nil
	}
	out := []string{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			continue
		}
		if _, ok := lookup(name); !ok {
			return nil, fmt.Errorf("unknown kind of change %q: use a comma-separated list of %s, or none",
				name, strings.Join(Actions(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kind of change named: use a comma-separated list of %s, or none", strings.Join(Actions(), ", "))
	}
	return out, nil
}
