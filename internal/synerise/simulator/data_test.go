package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// phonePattern is the looser form generated phones may be stored in ("+48 (600) 100-200");
// such values are returned and kept as they are.
var phonePattern = regexp.MustCompile(`^\+?[0-9 \-()]{6,20}$`)

func allProfiles(s *Simulator) []byte {
	var buf bytes.Buffer
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.customers {
		buf.Write(c.json())
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestGenerationDeterministic(t *testing.T) {
	a, b := New(Options{Seed: 42}), New(Options{Seed: 42})
	if !bytes.Equal(allProfiles(a), allProfiles(b)) {
		t.Fatal("same seed, different customers")
	}
	c := New(Options{Seed: 43})
	if bytes.Equal(allProfiles(a), allProfiles(c)) {
		t.Fatal("different seeds, same customers")
	}
	if fmt.Sprint(a.Examples()) != fmt.Sprint(c.Examples()) {
		t.Fatal("examples depend on the seed")
	}
}

func TestGenerationFast(t *testing.T) {
	best := time.Hour
	for range 3 {
		start := time.Now()
		generate(1, DefaultCustomers)
		best = min(best, time.Since(start))
	}
	if best > 100*time.Millisecond {
		t.Fatalf("generating %d customers took %s", DefaultCustomers, best)
	}
}

func TestGeneratedDataIsValidAndVaried(t *testing.T) {
	s := New(Options{})
	if len(s.customers) != DefaultCustomers {
		t.Fatalf("%d customers", len(s.customers))
	}
	states := map[string]int{}
	var plus, nonASCII, iso, dial int
	emails := map[string]bool{}
	for _, c := range s.customers {
		states[stateOf(c)]++
		p := c.p
		if p.Phone != nil && !phonePattern.MatchString(*p.Phone) {
			t.Fatalf("phone %q does not match the contract pattern", *p.Phone)
		}
		if p.BirthDate != nil && checkBirthDate(*p.BirthDate) != "" {
			t.Fatalf("birthDate %q", *p.BirthDate)
		}
		if p.UUID == nil || !uuidPattern.MatchString(*p.UUID) {
			t.Fatalf("uuid %v", p.UUID)
		}
		if p.Anonymous != (p.Email == nil) {
			t.Fatalf("anonymous=%v with email %v", p.Anonymous, p.Email)
		}
		if p.Email != nil {
			e := strings.ToLower(*p.Email)
			if emails[e] {
				t.Fatalf("duplicate email %s", e)
			}
			emails[e] = true
			if strings.Contains(e, "+") {
				plus++
			}
		}
		if p.FirstName != nil && strings.ContainsFunc(*p.FirstName, func(r rune) bool { return r > 127 }) {
			nonASCII++
		}
		switch cc := deref(p.CountryCode); {
		case strings.HasPrefix(cc, "+"):
			dial++
		case cc != "":
			iso++
		}
		var m map[string]any
		if err := json.Unmarshal(c.json(), &m); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{StateActivated, StateUnconfirmed, StateAwaitingEmailActivation, StateAwaitingPIN, StateNotRegistered, StateAnonymous} {
		if states[st] < 50 {
			t.Fatalf("only %d customers in state %s: %v", states[st], st, states)
		}
	}
	if plus < 100 || nonASCII < 100 || iso < 100 || dial < 100 {
		t.Fatalf("not varied: plus=%d nonASCII=%d iso=%d dial=%d", plus, nonASCII, iso, dial)
	}
}

func TestMarkupCustomersPresent(t *testing.T) {
	s := New(Options{Customers: 10})
	want := []string{`<script>alert(1)</script>`, `" hx-get="/x`, `hx-on:click=alert(1)`, `javascript:alert(1)`}
	var all []byte
	for _, e := range s.Examples() {
		raw, _ := s.Profile(e.ClientID)
		var p profile
		json.Unmarshal(raw, &p)
		all = fmt.Appendf(all, "%s|%s|%s|%s\n", deref(p.FirstName), deref(p.LastName), deref(p.DisplayName), deref(p.City))
	}
	for _, w := range want {
		if !bytes.Contains(all, []byte(w)) {
			t.Fatalf("no customer holds %q", w)
		}
	}
	// On the wire the markup is plain JSON text, as Synerise sends it: `<`, `>` and `&`
	// are not escaped to \u003c the way encoding/json does by default.
	var wire []byte
	for _, e := range s.Examples() {
		raw, _ := s.Profile(e.ClientID)
		wire = append(wire, raw...)
	}
	if !bytes.Contains(wire, []byte(`<script>alert(1)</script>`)) || bytes.Contains(wire, []byte(`\u003c`)) {
		t.Fatal("the simulator escapes markup in profile JSON")
	}
}

func TestExamplesStable(t *testing.T) {
	s := New(Options{})
	ex := s.Examples()
	if ex[0].ClientID != firstClientID || ex[0].Email != "anna.kowalska+shop@example.com" {
		t.Fatalf("first example %+v", ex[0])
	}
	for _, e := range ex {
		a, ok := s.Account(e.ClientID)
		if !ok || a.State != e.State || a.PINDeviceID != e.DeviceID {
			t.Fatalf("example %+v has account %+v", e, a)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{Customers: 500})
	h.sim.SetFault(RouteProfileList, Fault{ErrorRate: 0.1})
	john := h.example(StateAwaitingPIN)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				switch i % 5 {
				case 0:
					h.get("/v4/clients/4812300001")
				case 1:
					h.get("/v4/clients?sortBy=email&pageSize=50")
				case 2:
					h.post("/v4/clients/4812300002", fmt.Sprintf(`{"attributes":{"g%d":%d}}`, g, i))
				case 3:
					h.post(pinRequest, pinBody(john, john.DeviceID))
				case 4:
					h.post("/sauth/settings/general", map[string]any{"pinConfirmationLength": 4 + g%8})
					h.sim.Outbox()
					h.sim.Settings()
				}
			}
		})
	}
	wg.Wait()
	attrs := h.profile(4812300002)["attributes"].(map[string]any)
	for g := range 16 {
		if _, ok := attrs[fmt.Sprintf("g%d", g)]; !ok {
			t.Fatalf("lost attribute g%d", g)
		}
	}
}

func TestStartAndMain(t *testing.T) {
	srv, err := Start(Options{Customers: 20}, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.URL+"/uauth/v2/auth/login/profile", "application/json", strings.NewReader(`{"apiKey":"`+DefaultAPIKey+`"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login on Start: %v %v", err, res)
	}
	res.Body.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(errOut.String(), "--api-key") && !strings.Contains(errOut.String(), "-api-key") {
		t.Fatalf("usage: %s", errOut.String())
	}
	if err := Main(context.Background(), []string{"--customers", "0"}, &out, &errOut); err == nil {
		t.Fatal("--customers 0 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out.Reset()
	go func() {
		done <- Main(ctx, []string{"--addr", "127.0.0.1:0", "--api-key", "k1", "--api-key", "k2", "--customers", "30"}, &syncWriter{w: &out}, &errOut)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "API key: k1") || !strings.Contains(out.String(), "API key: k2") ||
		!strings.Contains(out.String(), "john.doe+pin@example.com") {
		t.Fatalf("banner: %s", out.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestMainRefusesOtherExpiredTokenStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"--expired-token-status", "500"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "401 or 403") {
		t.Fatalf("--expired-token-status 500: %v", err)
	}
}
