package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestApprovalsPolicy(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		under   []string
		ttl     time.Duration
		problem string
	}{
		{"default", nil, []string{"customer.erase", "customer.email", "operator.role"}, 24 * time.Hour, ""},
		{"every kind", map[string]string{"CONSOLE_APPROVALS": " settings, customer.email,customer.erase ,operator.role"},
			[]string{"settings", "customer.email", "customer.erase", "operator.role"}, 24 * time.Hour, ""},
		{"none", map[string]string{"CONSOLE_APPROVALS": "none", "CONSOLE_APPROVAL_TTL": "2h"}, []string{}, 2 * time.Hour, ""},
		{"unknown kind", map[string]string{"CONSOLE_APPROVALS": "settings,customer.delete"}, nil, 24 * time.Hour,
			`CONSOLE_APPROVALS: unknown kind of change "customer.delete"`},
		{"only commas", map[string]string{"CONSOLE_APPROVALS": ",,"}, nil, 24 * time.Hour, "CONSOLE_APPROVALS: no kind of change named"},
		{"bad ttl", map[string]string{"CONSOLE_APPROVAL_TTL": "tomorrow"}, []string{"customer.erase", "customer.email", "operator.role"},
			24 * time.Hour, "CONSOLE_APPROVAL_TTL: want a duration"},
		{"ttl too short", map[string]string{"CONSOLE_APPROVAL_TTL": "5s"}, []string{"customer.erase", "customer.email", "operator.role"},
			24 * time.Hour, "CONSOLE_APPROVAL_TTL: want a duration of at least 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &envReader{getenv: env(tt.env)}
			p := r.approvals()
			problems := strings.Join(r.problems, "\n")
			if tt.problem == "" && problems != "" || !strings.Contains(problems, tt.problem) {
				t.Fatalf("problems = %q, want %q", problems, tt.problem)
			}
			if tt.problem == "" || tt.under != nil {
				if !slices.Equal(p.Under, tt.under) || p.TTL != tt.ttl {
					t.Fatalf("policy = %+v, want %v for %s", p, tt.under, tt.ttl)
				}
			}
		})
	}
}

func TestApprovalVariablesDocumented(t *testing.T) {
	for _, v := range approvalVariables() {
		if v.Name == "" || v.Default == "" || v.Meaning == "" {
			t.Fatalf("variable not documented: %+v", v)
		}
	}
}
