package simulator

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func benchRequest(b *testing.B, path string) {
	s := New(Options{})
	tok := s.issueToken("bench")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func BenchmarkGetProfile(b *testing.B) {
	benchRequest(b, "/v4/clients/by-email/anna.kowalska%2Bshop%40example.com")
}

func BenchmarkList(b *testing.B) {
	benchRequest(b, "/v4/clients?pageSize=50&sortBy=lastName&filters[email]=a")
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		generate(1, DefaultCustomers)
	}
}
