package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkCustomerView is one customer page over HTTP: the profile read from Synerise,
// the audit row of the view, the history from the audit log and the rendered page.
func BenchmarkCustomerView(b *testing.B) {
	bc := newBenchConsole(b)
	path := "/customers/" + annaID
	var took []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		code, page := bc.send(http.MethodGet, path, nil, nil)
		took = append(took, time.Since(start))
		if code != http.StatusOK || !strings.Contains(page, annaMail) {
			b.Fatalf("view: %d", code)
		}
	}
	reportLatency(b, took)
}
