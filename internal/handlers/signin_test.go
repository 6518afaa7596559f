package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
)

// trustLoopback makes the test client a trusted proxy, so each request may come "from"
// the address its X-Forwarded-For names.
func trustLoopback(d *handlers.Deps) {
	d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// loginFrom signs in from the address ip (through the trusted loopback proxy).
func (b *browser) loginFrom(ip, email, pw string) *http.Response {
	b.e.t.Helper()
	form := url.Values{"email": {email}, "password": {pw}, "_csrf": {b.csrf()}}
	return b.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "X-Forwarded-For": {ip}})
}

func (e *env) failedSignins(id int64) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT failed_signins FROM operators WHERE id = $1`, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) count(a audit.Action) int {
	n := 0
	for _, ev := range e.events() {
		if ev.Action == a {
			n++
		}
	}
	return n
}

// parallelGuesses sends n wrong passwords for email at once, each from its own address;
// while they are in flight, during(elapsed) runs after each 10 ms until it returns true.
func parallelGuesses(e *env, email string, n, firstIP int, during func(time.Duration) bool) []int {
	statuses := make([]int, n)
	browsers := make([]*browser, n)
	for i := range browsers {
		browsers[i] = e.browser()
		browsers[i].csrf()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res := browsers[i].loginFrom(fmt.Sprintf("198.51.100.%d", firstIP+i), email, fmt.Sprintf("wrong-password-%03d", i))
			statuses[i] = res.StatusCode
		}()
	}
	began := time.Now()
	close(start)
	for during != nil {
		time.Sleep(10 * time.Millisecond)
		if during(time.Since(began)) {
			break
		}
	}
	wg.Wait()
	return statuses
}

// SECURITY.md 28: no number of parallel wrong passwords, from any number of addresses,
// exceeds the lockout limit or lets the right password in once the account should be
// locked. Before the attempt was reserved in PostgreSQL ahead of the hash, all 20 guesses
// passed the lock check at once and the right password, sent right after, signed in.
func TestParallelGuessesCannotBeatTheLockout(t *testing.T) {
	e := newEnv(t, trustLoopback)
	op := e.operator("target@example.com", operators.RoleAdmin)

	// The right password, 120 ms after 20 wrong ones from 20 addresses, while their
	// hashes are still being checked.
	right := 0
	statuses := parallelGuesses(e, op.Email, 20, 1, func(elapsed time.Duration) bool {
		if elapsed < 120*time.Millisecond {
			return false
		}
		right = e.browser().loginFrom("198.51.100.200", op.Email, testPassword).StatusCode
		return true
	})
	for i, s := range statuses {
		if s != http.StatusUnauthorized {
			t.Errorf("guess %d: status %d, want 401", i, s)
		}
	}
	if right != http.StatusUnauthorized {
		t.Errorf("right password 120 ms after 20 parallel guesses: %d, want 401 (locked)", right)
	}
	if n := e.failedSignins(op.ID); n != operators.MaxFailures {
		t.Errorf("after 20 parallel guesses failed_signins = %d, want exactly %d", n, operators.MaxFailures)
	}
	if res := e.browser().loginFrom("198.51.100.201", op.Email, testPassword); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("right password after the guesses: %d, want 401 (locked)", res.StatusCode)
	}
	if n := e.count(audit.ActionLockout); n != 1 {
		t.Fatalf("%d lockouts audited, want 1", n)
	}

	// Once locked, more parallel guesses are refused without being counted.
	for i, s := range parallelGuesses(e, op.Email, 12, 100, nil) {
		if s != http.StatusUnauthorized {
			t.Fatalf("guess %d after the limit: status %d, want 401", i, s)
		}
	}
	if n := e.failedSignins(op.ID); n != operators.MaxFailures {
		t.Fatalf("after 12 more guesses failed_signins = %d, want %d", n, operators.MaxFailures)
	}
	var locked int
	for _, ev := range e.events() {
		if ev.Action == audit.ActionSignInFailed && strings.Contains(string(ev.Detail), "operator locked") {
			locked++
		}
	}
	if locked < 12+1 {
		t.Fatalf("%d refusals audited as 'operator locked', want at least 13", locked)
	}

	// The lock ends on time, and the right password then signs in and clears the count.
	e.clock.Add(operators.LockDuration + time.Second)
	if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password after the lock ended: %d", res.StatusCode)
	}
	if n := e.failedSignins(op.ID); n != 0 {
		t.Fatalf("failed_signins after a good sign-in = %d", n)
	}
}

// Fewer failures than the limit, with a good sign-in between, never lock.
func TestGoodSignInResetsTheCount(t *testing.T) {
	e := newEnv(t)
	op := e.operator("reset@example.com", operators.RoleSupport)
	for round := 0; round < 3; round++ {
		for i := 0; i < operators.MaxFailures-1; i++ {
			e.browser().login(op.Email, "wrong-password-123")
		}
		if res := e.browser().login(op.Email, testPassword); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("round %d: right password after %d failures: %d", round, operators.MaxFailures-1, res.StatusCode)
		}
	}
	if _, ok := e.lastEvent(audit.ActionLockout); ok {
		t.Fatal("locked without reaching the limit")
	}
}

// The per-IP limit is kept in PostgreSQL, so two replicas share it: before, each replica
// counted in its own memory and an address got the limit once per replica.
func TestSignInRateLimitSharedByReplicas(t *testing.T) {
	var deps *handlers.Deps
	e := newEnv(t, func(d *handlers.Deps) { d.SignInRate = 3; deps = d })
	second := httptest.NewServer(handlers.New(*deps).Echo())
	t.Cleanup(second.Close)
	other := *e
	other.srv = second

	a, b := e.browser(), other.browser()
	a.login("nobody@example.com", "whatever-password")
	b.login("nobody@example.com", "whatever-password")
	a.login("nobody@example.com", "whatever-password")
	if res := b.login("nobody@example.com", "whatever-password"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th attempt from one address, on the second replica: %d, want 429", res.StatusCode)
	}
	if res := a.login("nobody@example.com", "whatever-password"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("5th attempt from one address, on the first replica: %d, want 429", res.StatusCode)
	}
	// A forged X-Forwarded-For (the peer is no trusted proxy) stays in the same bucket.
	if res := e.browser().loginFrom("198.51.100.7", "nobody@example.com", "whatever-password"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For: %d, want 429", res.StatusCode)
	}
	e.clock.Add(time.Minute + time.Second)
	if res := b.login("nobody@example.com", "whatever-password"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the window: %d, want 401", res.StatusCode)
	}
}

// Old rate-limit windows are forgotten by the periodic job, not by a sign-in request: a
// sign-in never waits for (or fails with) the clean-up.
func TestSignInWindowsArePrunedByTheJob(t *testing.T) {
	e := newEnv(t)
	e.browser().login("nobody@example.com", "wrong-password-1234")
	count := func() int {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM signin_attempts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 1 {
		t.Fatalf("%d windows after one sign-in, want 1", count())
	}
	e.clock.Add(11 * time.Minute)
	e.browser().login("nobody@example.com", "wrong-password-1234")
	if count() != 2 {
		t.Fatalf("a sign-in pruned old windows: %d left, want 2", count())
	}
	if err := e.handler.PruneSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("%d windows after the job, want 1 (the current one)", count())
	}
}
