package synerise

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkGetProfile measures one GetByEmail against a local server: the client's own cost
// (headers, auth, retry and breaker layers, decoding) plus loopback HTTP.
func BenchmarkGetProfile(b *testing.B) {
	u := newUpstream(b)
	u.handle("GET /v4/clients/by-email/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, annJSON)
	})
	c := newTestClient(b, u)
	ctx := context.Background()
	if _, err := c.Profiles.GetByEmail(ctx, "ann+shop@example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Profiles.GetByEmail(ctx, "ann+shop@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
