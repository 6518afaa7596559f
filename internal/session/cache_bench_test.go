package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/raas-console/console/internal/session"
)

// benchLoad loads the session cookie names on s b.N times, as the session middleware does
// once per request.
func benchLoad(b *testing.B, s *session.Store, cookie *http.Cookie) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		sess, err := s.New(r, s.CookieName())
		if err != nil || sess.IsNew {
			b.Fatalf("load: %v, new %v", err, sess.IsNew)
		}
	}
	// On a shared machine wall time says as much about the neighbours as about the load:
	// the console process's own CPU time per load (PostgreSQL's is not in it) says less.
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the test process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadUncached is a load without a listener: one query for the session and its
// operator.
func BenchmarkLoadUncached(b *testing.B) {
	c := &clock{t: time.Now()}
	s := newStore(b, c, false)
	benchLoad(b, s, signIn(b, s))
}

// BenchmarkLoadCached is a load with the listener connected: answered from memory.
func BenchmarkLoadCached(b *testing.B) {
	c := &clock{t: time.Now()}
	_, s := replicaStores(b, c)
	benchLoad(b, s, signIn(b, s))
	if st := s.CacheStats(); st.Misses != 1 {
		b.Fatalf("cache stats %+v: want one miss", st)
	}
}

// BenchmarkRevocationDelay measures how long after an operator's sessions are ended on
// replica A replica B has dropped the one it cached (so that its next load reads the
// database and refuses it): from the start of A's DELETE to B's drop. ns/op includes
// signing in and caching; the delay is reported as p50-ms, p99-ms and max-ms.
func BenchmarkRevocationDelay(b *testing.B) {
	c := &clock{t: time.Now()}
	a, bb := replicaStores(b, c)
	delays := make([]time.Duration, 0, b.N)
	for range b.N {
		cookie := signIn(b, a)
		for !bb.Cached(cookie) {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(cookie)
			if _, err := bb.New(r, bb.CookieName()); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if _, err := a.EndAll(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
		for bb.Cached(cookie) {
			if time.Since(start) > hangGuard {
				b.Fatal("B never dropped the session")
			}
			time.Sleep(20 * time.Microsecond)
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	ms := func(q float64) float64 {
		return float64(delays[min(len(delays)-1, int(q*float64(len(delays))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}
