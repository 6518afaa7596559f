package config

import (
	"time"

	"github.com/raas-console/console/internal/approvals"
)

// approvalVariables document the variables of four-eyes approvals.
func approvalVariables() []Variable {
	return []Variable{
		{"CONSOLE_APPROVALS", approvals.DefaultActions, "changes that need another operator's approval: a comma-separated list of " +
			"settings, customer.email, customer.erase, operator.role, or none (a one-person team)"},
		{"CONSOLE_APPROVAL_TTL", "24h", "how long a change request waits for a decision before it expires"},
	}
}

// approvals reads which changes need approval (CONSOLE_APPROVALS, unknown names refused)
// and how long a request waits (CONSOLE_APPROVAL_TTL, at least a minute).
func (r *envReader) approvals() approvals.Policy {
	under, err := approvals.ParseActions(r.get("CONSOLE_APPROVALS", approvals.DefaultActions))
	if err != nil {
		r.bad("CONSOLE_APPROVALS", "%s", err.Error())
	}
	return approvals.Policy{Under: under, TTL: r.duration("CONSOLE_APPROVAL_TTL", "24h", time.Minute)}
}
