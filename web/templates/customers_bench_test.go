package templates

import (
	"context"
	"io"
	"strconv"
	"testing"
)

// benchCustomerPage is a customer page as the console shows it for a typical
// registered customer with a full console history (50 events, the timeline's length).
func benchCustomerPage() (Page, CustomerPage) {
	page := Page{
		Title: "Anna Kowalska", CSRF: "0123456789abcdef0123456789abcdef",
		Operator: &Operator{Name: "bench", Email: "bench@example.com", Role: "support"},
		Nav: []NavItem{{"Customers", "/customers", true}, {"Settings", "/settings", false},
			{"Audit log", "/audit", false}, {"Operators", "/operators", false}},
		Sandbox: true, RequestID: "req-0123456789",
	}
	v := CustomerPage{
		Details: CustomerDetails{
			Base: "/customers/7000001", ClientID: "7000001", Title: "Anna Kowalska",
			Identifiers: []CustomerField{{"clientId", "7000001"}, {"E-mail", "anna.kowalska@example.com"},
				{"UUID", "5b0c7a0e-6b6e-4c1e-9a43-2d4f0c9e1a11"}, {"customId", "CRM-000123"}, {"Phone", "+48 600 100 200"}},
			Basic: []CustomerField{{"First name", "Anna"}, {"Last name", "Kowalska"}, {"Display name", "Anna K."},
				{"Sex", "FEMALE"}, {"Phone", "+48 600 100 200"}, {"Birth date", "1990-04-12"}, {"Company", "ACME"},
				{"City", "Kraków"}, {"Address", "ul. Długa 1"}, {"Zip code", "31-000"}, {"Province", "małopolskie"}, {"Country", "PL"}},
			Agreements: []CustomerAgreement{{"E-mail", true}, {"SMS", false}, {"Push", true}, {"BTooth", false},
				{"RFID", false}, {"WiFi", false}},
			Attributes: []CustomerField{{"loyaltyTier", "gold"}, {"favouriteStore", "Kraków Rynek"}, {"marketingSegment", "A"}},
			Activation: CustomerState{Text: "Activated", Class: "badge-ok"},
		},
		CanResetPassword: true,
	}
	for i := range 50 {
		v.Timeline = append(v.Timeline, CustomerEvent{
			Time: "2026-03-01 09:00:" + strconv.Itoa(10+i%50), Actor: "agent" + strconv.Itoa(i%5) + "@example.com", Role: "support",
			Action: "viewed the customer", Outcome: "Succeeded", OutcomeClass: "badge-ok", Reason: "TICKET-" + strconv.Itoa(1000+i),
		})
	}
	return page, v
}

// BenchmarkCustomerPageRender renders the full customer page (layout included) with a
// 50-event history: the template cost of one customer view, without I/O.
func BenchmarkCustomerPageRender(b *testing.B) {
	page, v := benchCustomerPage()
	ctx := context.Background()
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		w := &countWriter{}
		if err := CustomerPageView(page, v).Render(ctx, w); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "bytes/page")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
