package approvals

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMayBeDecidedBy(t *testing.T) {
	tests := []struct {
		action, role string
		by           int64
		want         string // "" when allowed, else a part of the refusal
	}{
		{ActionCustomerEmail, "support", 2, ""},
		{ActionCustomerErase, "admin", 2, ""},
		{ActionSettings, "admin", 2, ""},
		{ActionOperatorRole, "admin", 2, ""},
		{ActionSettings, "support", 2, "another admin may"},
		{ActionOperatorRole, "support", 2, "another admin may"},
		{ActionCustomerErase, "auditor", 2, "support or admin may"},
		{ActionSettings, "auditor", 2, "may not decide"},
		{ActionCustomerEmail, "support", 1, "You asked for this change"},
		{ActionSettings, "admin", 1, "You asked for this change"},
	}
	for _, tt := range tests {
		r := Request{Action: tt.action, RequestedBy: 1}
		got := r.MayBeDecidedBy(tt.by, tt.role)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s by %s #%d: %q, want %q", tt.action, tt.role, tt.by, got, tt.want)
		}
	}
}

func TestParseActions(t *testing.T) {
	if got, err := ParseActions(DefaultActions); err != nil || !slices.Equal(got, []string{"customer.erase", "customer.email", "operator.role"}) {
		t.Fatalf("default: %v %v", got, err)
	}
	if got, err := ParseActions("NONE"); err != nil || len(got) != 0 {
		t.Fatalf("none: %v %v", got, err)
	}
	if got, err := ParseActions("settings,settings"); err != nil || !slices.Equal(got, []string{"settings"}) {
		t.Fatalf("duplicate: %v %v", got, err)
	}
	if _, err := ParseActions("settings,customer.delete"); err == nil || !strings.Contains(err.Error(), `"customer.delete"`) {
		t.Fatalf("unknown: %v", err)
	}
	p := Policy{Under: []string{ActionSettings}}
	if !p.Requires(ActionSettings) || p.Requires(ActionCustomerErase) {
		t.Fatal("Requires")
	}
}

func TestPending(t *testing.T) {
	now := time.Now()
	r := Request{State: StatePending, ExpiresAt: now.Add(time.Minute)}
	if !r.Pending(now) || r.Pending(now.Add(time.Minute)) {
		t.Fatal("pending until the expiry, not at it")
	}
	r.State = StateRejected
	if r.Pending(now) {
		t.Fatal("a decided request is not pending")
	}
}
