package synerise_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// simClock is shared by the simulator (token expiry) and the client (token refresh, backoff).
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep returns at once but moves the clock on, as a real wait would: backoff waits are
// not what these tests are about, but the time they stand for is (Retry-After).
func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

type simEnv struct {
	url   string
	sim   *simulator.Simulator
	clock *simClock
	c     *synerise.Client
}

func newSim(t *testing.T, opts ...synerise.Option) simEnv {
	t.Helper()
	clk := &simClock{now: time.Now()}
	sim := simulator.New(simulator.Options{Customers: 300, Now: clk.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	all := append([]synerise.Option{synerise.WithClock(clk), synerise.WithRetry(2, time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := synerise.NewClient(srv.URL, simulator.DefaultAPIKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return simEnv{srv.URL, sim, clk, c}
}

func example(t *testing.T, sim *simulator.Simulator, state string) simulator.ExampleCustomer {
	t.Helper()
	ex, ok := sim.ExampleIn(state)
	if !ok {
		t.Fatalf("no example customer in state %s", state)
	}
	return ex
}

func TestSimulatorProfiles(t *testing.T) {
	env := newSim(t)
	ctx := context.Background()
	ann := example(t, env.sim, simulator.StateActivated)

	byID, err := env.c.Profiles.Get(ctx, ann.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	byEmail, err := env.c.Profiles.GetByEmail(ctx, ann.Email) // contains '+'
	if err != nil {
		t.Fatal(err)
	}
	byCustom, err := env.c.Profiles.GetByCustomID(ctx, ann.CustomID)
	if err != nil {
		t.Fatal(err)
	}
	byUUID, err := env.c.Profiles.GetByUUID(ctx, ann.UUID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*synerise.Profile{byID, byEmail, byCustom, byUUID} {
		if p.ClientID != ann.ClientID || p.Email != ann.Email || p.FirstName != ann.FirstName {
			t.Errorf("profile %+v, want %+v", p, ann)
		}
	}
	if ok, known := byID.EmailConfirmed(); !ok || !known {
		t.Errorf("activated customer: EmailConfirmed = %v %v", ok, known)
	}
	if _, err := env.c.Profiles.GetByEmail(ctx, "nobody+x@example.com"); !synerise.IsNotFound(err) {
		t.Errorf("unknown e-mail: %v", err)
	}
	if _, err := env.c.Profiles.Get(ctx, 999_999_999); !synerise.IsNotFound(err) {
		t.Errorf("unknown id: %v", err)
	}

	page, err := env.c.Profiles.List(ctx, synerise.ListOptions{PageSize: 5, SortBy: "email", SortOrder: "ASC"})
	if err != nil || len(page) != 5 {
		t.Fatalf("list: %d, %v", len(page), err)
	}
	for i := 1; i < len(page); i++ {
		if strings.ToLower(page[i-1].Email) > strings.ToLower(page[i].Email) {
			t.Errorf("not sorted by email: %q > %q", page[i-1].Email, page[i].Email)
		}
	}
	next, err := env.c.Profiles.List(ctx, synerise.ListOptions{PageIndex: 1, PageSize: 5, SortBy: "email", SortOrder: "ASC"})
	if err != nil || len(next) != 5 || next[0].ClientID == page[0].ClientID {
		t.Errorf("page 2: %v", err)
	}
	found, err := env.c.Profiles.List(ctx, synerise.ListOptions{Filters: synerise.ListFilters{Email: "ANNA.KOWALSKA+"}})
	if err != nil || len(found) != 1 || found[0].ClientID != ann.ClientID {
		t.Errorf("filter by e-mail prefix: %d found, %v", len(found), err)
	}
	anon := true
	anons, err := env.c.Profiles.List(ctx, synerise.ListOptions{Filters: synerise.ListFilters{Anonymous: &anon}, PageSize: 100})
	if err != nil || len(anons) == 0 {
		t.Errorf("anonymous filter: %d, %v", len(anons), err)
	}
	for _, p := range anons {
		if !p.Anonymous {
			t.Errorf("non-anonymous %d in anonymous filter", p.ClientID)
		}
	}
	if _, err := env.c.Profiles.List(ctx, synerise.ListOptions{SortBy: "password"}); !synerise.IsBadRequest(err) {
		t.Errorf("bad sortBy: %v", err)
	}
}

func TestSimulatorProfileUpdate(t *testing.T) {
	env := newSim(t)
	ctx := context.Background()
	ann := example(t, env.sim, simulator.StateActivated)

	var up synerise.ProfileUpdate
	for _, err := range []error{up.Set("firstName", "Annette"), up.Clear("city"), up.SetAttribute("tier", "gold"),
		up.SetAgreement("sms", false)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := env.c.Profiles.Update(ctx, ann.ClientID, up); err != nil {
		t.Fatal(err)
	}
	p, err := env.c.Profiles.Get(ctx, ann.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if p.FirstName != "Annette" || p.City != "" || string(p.Attributes["tier"]) != `"gold"` || p.Agreements.SMS ||
		!p.Agreements.Email || p.LastName != ann.LastName {
		t.Errorf("after update: %+v", p)
	}

	var del synerise.ProfileUpdate
	del.DeleteAttribute("tier")
	if err := env.c.Profiles.Update(ctx, ann.ClientID, del); err != nil {
		t.Fatal(err)
	}
	p, _ = env.c.Profiles.Get(ctx, ann.ClientID)
	if _, ok := p.Attributes["tier"]; ok {
		t.Error("attribute not deleted")
	}

	var bad synerise.ProfileUpdate
	if err := bad.Set("birthDate", "1850-01-01"); err != nil {
		t.Fatal(err)
	}
	err = env.c.Profiles.Update(ctx, ann.ClientID, bad)
	var ae *synerise.APIError
	if !synerise.IsBadRequest(err) || !errors.As(err, &ae) || len(ae.FieldErrors) == 0 || ae.FieldErrors[0].Field != "birthDate" {
		t.Errorf("invalid birthDate: %v", err)
	}
}

func TestSimulatorAccountActions(t *testing.T) {
	env := newSim(t)
	ctx := context.Background()
	sim := env.sim

	ann := example(t, sim, simulator.StateActivated)
	if err := env.c.Accounts.RequestPasswordReset(ctx, ann.Email); err != nil {
		t.Fatal(err)
	}
	if m, ok := sim.LastMessage(ann.Email, simulator.KindPasswordReset); !ok || m.Secret == "" {
		t.Error("no reset e-mail in the outbox")
	}
	never := example(t, sim, simulator.StateNotRegistered)
	if err := env.c.Accounts.RequestPasswordReset(ctx, never.Email); !synerise.IsBadRequest(err) {
		t.Errorf("reset for a profile without an account: %v", err)
	}
	if err := env.c.Accounts.RequestPasswordReset(ctx, "ghost@example.com"); !synerise.IsNotFound(err) {
		t.Errorf("reset for nobody: %v", err)
	}

	zoe := example(t, sim, simulator.StateAwaitingEmailActivation)
	if err := env.c.Accounts.ResendActivationEmail(ctx, zoe.Email); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.LastMessage(zoe.Email, simulator.KindActivation); !ok {
		t.Error("no activation e-mail in the outbox")
	}
	if err := env.c.Accounts.ResendActivationEmail(ctx, ann.Email); !synerise.IsBadRequest(err) {
		t.Errorf("activation for an activated account: %v", err)
	}

	john := example(t, sim, simulator.StateAwaitingPIN)
	if john.DeviceID == "" {
		t.Fatal("example awaiting a PIN has no device")
	}
	err := env.c.Accounts.RequestActivationPIN(ctx, synerise.PINRequest{Email: john.Email, UUID: john.UUID, DeviceID: john.DeviceID})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := sim.LastMessage(john.Email, simulator.KindPIN); !ok || m.DeviceID != john.DeviceID {
		t.Errorf("PIN message %+v", m)
	}
	err = env.c.Accounts.RequestActivationPIN(ctx, synerise.PINRequest{Email: john.Email, UUID: john.UUID, DeviceID: "console-device"})
	if !synerise.IsForbidden(err) {
		t.Errorf("PIN from another device: %v", err)
	}
	if acc, _ := sim.Account(john.ClientID); acc.PINDeviceID != john.DeviceID {
		t.Errorf("refused request moved the PIN binding to %q", acc.PINDeviceID)
	}
}

func TestSimulatorSettingsReadModifyWrite(t *testing.T) {
	env := newSim(t)
	ctx := context.Background()
	s, err := env.c.Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	for _, k := range s.Keys() {
		known := false
		for _, kk := range synerise.KnownKeys {
			known = known || k == kk
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		t.Fatal("the simulator should hold a key the console does not model")
	}
	before := map[string]json.RawMessage{}
	for _, k := range unknown {
		before[k], _ = s.Raw(k)
	}

	s.SetPinConfirmationLength(8)
	s.SetAllowPinResendFromDifferentDeviceID(true)
	out, err := env.c.Settings.Set(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := out.PinConfirmationLength(); n != 8 {
		t.Errorf("pinConfirmationLength = %d", n)
	}
	again, err := env.c.Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range unknown {
		if raw, _ := again.Raw(k); string(raw) != string(before[k]) {
			t.Errorf("unknown key %s: %s became %s", k, before[k], raw)
		}
	}
	if again.Fingerprint() != out.Fingerprint() {
		t.Error("read-back differs from the answer to the write")
	}

	bad := again.Clone()
	bad.SetTokenLifetimeInSeconds(-5)
	_, err = env.c.Settings.Set(ctx, bad)
	var ae *synerise.APIError
	if !synerise.IsBadRequest(err) || !errors.As(err, &ae) || len(ae.FieldErrors) == 0 {
		t.Errorf("invalid setting: %v", err)
	}

	alt := newSim(t, synerise.WithSettingsPath("/sauth/settings"))
	if _, err := alt.c.Settings.Get(ctx); err != nil {
		t.Errorf("/sauth/settings: %v", err)
	}
}

func TestSimulatorAuthAndExpiry(t *testing.T) {
	env := newSim(t)
	ctx := context.Background()
	ann := example(t, env.sim, simulator.StateActivated)
	if _, err := env.c.Profiles.Get(ctx, ann.ClientID); err != nil {
		t.Fatal(err)
	}
	if n := env.sim.RequestCount(simulator.RouteLogin); n != 1 {
		t.Fatalf("logins %d", n)
	}

	// Within the refresh window the client refreshes instead of logging in.
	env.clock.Advance(59*time.Minute + 30*time.Second)
	if _, err := env.c.Profiles.Get(ctx, ann.ClientID); err != nil {
		t.Fatal(err)
	}
	if env.sim.RequestCount(simulator.RouteRefresh) != 1 || env.sim.RequestCount(simulator.RouteLogin) != 1 {
		t.Errorf("refresh %d login %d", env.sim.RequestCount(simulator.RouteRefresh), env.sim.RequestCount(simulator.RouteLogin))
	}

	// Past expiry, 50 concurrent callers cause exactly one login.
	env.clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := env.c.Profiles.Get(ctx, ann.ClientID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := env.sim.RequestCount(simulator.RouteLogin); n != 2 {
		t.Errorf("logins %d, want 2", n)
	}

	bad, _ := synerise.NewClient(env.url, "wrong-key")
	if _, err := bad.Profiles.Get(ctx, ann.ClientID); !synerise.IsUnauthorized(err) || strings.Contains(err.Error(), "wrong-key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestSimulatorFaults(t *testing.T) {
	env := newSim(t, synerise.WithBreaker(0, time.Second))
	ctx := context.Background()
	sim := env.sim
	ann := example(t, sim, simulator.StateActivated)
	if _, err := env.c.Profiles.Get(ctx, ann.ClientID); err != nil {
		t.Fatal(err)
	}

	sim.ResetRequestCounts()
	sim.SetFault(simulator.RouteProfileGet, simulator.Fault{RateLimitRate: 1, RetryAfter: time.Second})
	_, err := env.c.Profiles.Get(ctx, ann.ClientID)
	var rl *synerise.RateLimitError
	// Retry-After 1s is within what a call waits: one retry, so two requests in all.
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second || sim.RequestCount(simulator.RouteProfileGet) != 2 {
		t.Errorf("429: err %v, attempts %d", err, sim.RequestCount(simulator.RouteProfileGet))
	}

	sim.SetFault(simulator.RoutePasswordReset, simulator.Fault{ErrorRate: 1, ErrorStatus: 503})
	// A 503 without Retry-After is "unavailable", not back-pressure.
	if err := env.c.Accounts.RequestPasswordReset(ctx, ann.Email); !synerise.IsUnavailable(err) || synerise.IsRateLimited(err) ||
		sim.RequestCount(simulator.RoutePasswordReset) != 1 {
		t.Errorf("POST 503: err %v, attempts %d", err, sim.RequestCount(simulator.RoutePasswordReset))
	}
	sim.SetFault(simulator.RoutePIN, simulator.Fault{DropRate: 1})
	john := example(t, sim, simulator.StateAwaitingPIN)
	err = env.c.Accounts.RequestActivationPIN(ctx, synerise.PINRequest{Email: john.Email, UUID: john.UUID, DeviceID: john.DeviceID})
	if err == nil || sim.RequestCount(simulator.RoutePIN) != 1 {
		t.Errorf("POST dropped: err %v, attempts %d", err, sim.RequestCount(simulator.RoutePIN))
	}
	sim.ClearFaults()

	// With a breaker, a failing Synerise is soon not called at all.
	brk := newSim(t, synerise.WithBreaker(3, time.Minute), synerise.WithRetry(1, 0, 0))
	brk.sim.SetFault(simulator.AllRoutes, simulator.Fault{ErrorRate: 1, ErrorStatus: 500})
	brk.sim.ClearFault(simulator.RouteLogin)
	for i := 0; i < 3; i++ {
		brk.c.Profiles.Get(ctx, ann.ClientID)
	}
	if _, err := brk.c.Profiles.Get(ctx, ann.ClientID); !errors.Is(err, synerise.ErrCircuitOpen) || brk.c.BreakerState() != "open" {
		t.Errorf("breaker: %v, %s", err, brk.c.BreakerState())
	}
	brk.sim.ClearFaults()
	brk.clock.Advance(time.Minute)
	if _, err := brk.c.Profiles.Get(ctx, ann.ClientID); err != nil || brk.c.BreakerState() != "closed" {
		t.Errorf("after recovery: %v, %s", err, brk.c.BreakerState())
	}
}

func TestSimulatorEmailChangeAndErasure(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	anna, other := example(t, s.sim, simulator.StateActivated), example(t, s.sim, simulator.StateUnconfirmed)

	err := s.c.Profiles.ChangeEmail(ctx, anna.ClientID, other.Email)
	if !synerise.IsEmailTaken(err) {
		t.Fatalf("another profile's address: %v", err)
	}
	if err := s.c.Profiles.ChangeEmail(ctx, anna.ClientID, "anna.moved@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.Profiles.GetByEmail(ctx, anna.Email); !synerise.IsNotFound(err) {
		t.Fatalf("old address: %v", err)
	}
	p, err := s.c.Profiles.GetByEmail(ctx, "anna.moved@example.com")
	if err != nil || p.ClientID != anna.ClientID {
		t.Fatalf("new address: %+v %v", p, err)
	}
	raw, err := s.c.Profiles.GetRaw(ctx, anna.ClientID)
	want, _ := s.sim.Profile(anna.ClientID)
	if err != nil || string(raw) != string(want) {
		t.Fatalf("GetRaw %q, %v; simulator has %q", raw, err, want)
	}

	if err := s.c.Profiles.Erase(ctx, anna.ClientID); err != nil {
		t.Fatal(err)
	}
	lookups := map[string]func() error{
		"id":       func() error { _, err := s.c.Profiles.Get(ctx, anna.ClientID); return err },
		"raw":      func() error { _, err := s.c.Profiles.GetRaw(ctx, anna.ClientID); return err },
		"email":    func() error { _, err := s.c.Profiles.GetByEmail(ctx, "anna.moved@example.com"); return err },
		"customId": func() error { _, err := s.c.Profiles.GetByCustomID(ctx, anna.CustomID); return err },
		"uuid":     func() error { _, err := s.c.Profiles.GetByUUID(ctx, anna.UUID); return err },
		"again":    func() error { return s.c.Profiles.Erase(ctx, anna.ClientID) },
	}
	for name, f := range lookups {
		if err := f(); !synerise.IsNotFound(err) {
			t.Errorf("%s after erasure: %v", name, err)
		}
	}
	found, err := s.c.Profiles.List(ctx, synerise.ListOptions{Filters: synerise.ListFilters{Email: "anna.moved@"}})
	if err != nil || len(found) != 0 {
		t.Errorf("list after erasure: %v %v", found, err)
	}
}
