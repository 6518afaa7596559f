package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/passkey"
	"github.com/raas-console/console/internal/passkey/passkeytest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

const origin = "http://localhost:8080"

type fixture struct {
	t    *testing.T
	pool *pgxpool.Pool
	svc  *passkey.Service
	now  time.Time
	auth *passkeytest.Authenticator
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, pool: dbtest.New(t), now: time.Now(), auth: passkeytest.New(origin)}
	svc, err := passkey.New(f.pool, origin, func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

var n atomic.Int64

func (f *fixture) operator() passkey.Owner {
	f.t.Helper()
	email := "op" + strconv.FormatInt(n.Add(1), 10) + "@example.com"
	op, err := operators.NewStore(f.pool).Create(context.Background(), email, "Op", operators.RoleSupport, "x")
	if err != nil {
		f.t.Fatal(err)
	}
	return passkey.Owner{ID: op.ID, Email: op.Email, Name: op.Name}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// register registers a passkey from f.auth for o.
func (f *fixture) register(o passkey.Owner, name string) passkey.Passkey {
	f.t.Helper()
	ctx := context.Background()
	creation, c, err := f.svc.BeginRegistration(ctx, o, name)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.auth.Create(mustJSON(f.t, creation))
	if err != nil {
		f.t.Fatal(err)
	}
	pk, err := f.svc.FinishRegistration(ctx, o, c, resp)
	if err != nil {
		f.t.Fatalf("finish registration: %v", err)
	}
	return pk
}

// login runs a second-factor login for o and returns the assertion and the result.
func (f *fixture) login(o passkey.Owner) (passkey.Ceremony, []byte, passkey.Passkey, error) {
	f.t.Helper()
	assertion, c, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeSecondFactor)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.auth.Get(mustJSON(f.t, assertion))
	if err != nil {
		f.t.Fatal(err)
	}
	pk, err := f.svc.FinishLogin(context.Background(), o.ID, c, resp)
	return c, resp, pk, err
}

func (f *fixture) storedCount(id int64) uint32 {
	f.t.Helper()
	var n *int64
	if err := f.pool.QueryRow(context.Background(),
		`SELECT (credential->'authenticator'->>'signCount')::bigint FROM operator_passkeys WHERE id = $1`, id).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	if n == nil {
		return 0
	}
	return uint32(*n)
}

func TestRegisterThenLoginUpdatesSignCount(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	if f.svc.AnyRegistered(context.Background()) {
		t.Fatal("AnyRegistered before any passkey")
	}
	pk := f.register(o, "Laptop")
	if pk.Name != "Laptop" || pk.LastUsedAt != nil || len(pk.CredentialID) != 32 {
		t.Fatalf("registered: %+v", pk)
	}
	var handle []byte
	if err := f.pool.QueryRow(context.Background(), `SELECT webauthn_handle FROM operators WHERE id = $1`, o.ID).Scan(&handle); err != nil {
		t.Fatal(err)
	}
	if len(handle) != 64 || !bytes.Equal(handle, f.auth.Credentials()[0].Handle) {
		t.Fatalf("user handle: %d bytes, want the 64 random bytes the authenticator got", len(handle))
	}
	if n, _ := f.svc.Count(context.Background(), o.ID); n != 1 || !f.svc.AnyRegistered(context.Background()) {
		t.Fatalf("count %d", n)
	}
	for want := uint32(1); want <= 2; want++ {
		f.now = f.now.Add(time.Minute)
		_, _, used, err := f.login(o)
		if err != nil {
			t.Fatalf("login %d: %v", want, err)
		}
		if used.ID != pk.ID || used.LastUsedAt == nil || !used.LastUsedAt.Equal(f.now.Truncate(time.Microsecond)) {
			t.Fatalf("used: %+v", used)
		}
		if got := f.storedCount(pk.ID); got != want {
			t.Fatalf("stored sign count %d, want %d", got, want)
		}
	}
}

func TestDiscoverableLoginFindsTheOperator(t *testing.T) {
	f := newFixture(t)
	other := f.operator()
	f.register(other, "Other's key")
	o := f.operator()
	pk := f.register(o, "Phone")
	assertion, c, err := f.svc.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	if len(assertion.Response.AllowedCredentials) != 0 {
		t.Fatal("a discoverable login must not name credentials")
	}
	resp, err := f.auth.Get(mustJSON(t, assertion)) // the newest credential: o's
	if err != nil {
		t.Fatal(err)
	}
	id, used, err := f.svc.FinishDiscoverableLogin(context.Background(), c, resp)
	if err != nil || id != o.ID || used.ID != pk.ID {
		t.Fatalf("discoverable login: operator %d passkey %+v err %v; want operator %d", id, used, err, o.ID)
	}
}

func TestWrongOriginRefused(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	f.auth.Origin = "http://localhost.evil.example"
	creation, c, err := f.svc.BeginRegistration(context.Background(), o, "Phished")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := f.auth.Create(mustJSON(t, creation))
	var r *passkey.Refusal
	if _, err := f.svc.FinishRegistration(context.Background(), o, c, resp); !errors.As(err, &r) {
		t.Fatalf("registration from a foreign origin: %v, want a refusal", err)
	}
	f.auth.Origin = origin
	f.register(o, "Real")
	f.auth.Origin = "https://localhost:8080"
	if _, _, _, err := f.login(o); !errors.As(err, &r) {
		t.Fatalf("login from another origin: %v, want a refusal", err)
	}
}

func TestUsedChallengeRefused(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	f.register(o, "Key")
	c, resp, _, err := f.login(o)
	if err != nil {
		t.Fatal(err)
	}
	// The state is single-use: once taken from the session, it is gone.
	values := map[any]any{}
	if err := passkey.Put(values, c); err != nil {
		t.Fatal(err)
	}
	if _, err := passkey.Take(values, passkey.PurposeSecondFactor, o.ID, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := passkey.Take(values, passkey.PurposeSecondFactor, o.ID, f.now); !errors.Is(err, passkey.ErrNoCeremony) {
		t.Fatalf("second take: %v", err)
	}
	// The same assertion sent against a new ceremony carries the old challenge.
	_, fresh, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeSecondFactor)
	if err != nil {
		t.Fatal(err)
	}
	var r *passkey.Refusal
	if _, err := f.svc.FinishLogin(context.Background(), o.ID, fresh, resp); !errors.As(err, &r) {
		t.Fatalf("replayed assertion: %v, want a refusal", err)
	}
}

func TestCeremonyStateChecks(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	f.register(o, "Key")
	_, c, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeStepUp)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		purpose  string
		operator int64
		at       time.Time
	}{
		{"another purpose", passkey.PurposeSecondFactor, o.ID, f.now},
		{"another operator", passkey.PurposeStepUp, o.ID + 1, f.now},
		{"expired", passkey.PurposeStepUp, o.ID, f.now.Add(4 * time.Minute)},
	}
	for _, tc := range cases {
		values := map[any]any{}
		_ = passkey.Put(values, c)
		if _, err := passkey.Take(values, tc.purpose, tc.operator, tc.at); !errors.Is(err, passkey.ErrNoCeremony) {
			t.Errorf("%s: %v, want ErrNoCeremony", tc.name, err)
		}
		if _, left := values[passkey.SessionKey]; left {
			t.Errorf("%s: the state stayed in the session", tc.name)
		}
	}
	f.now = f.now.Add(4 * time.Minute)
	resp, _ := f.auth.Get(mustJSON(t, mustAssertion(t, f, o)))
	if _, err := f.svc.FinishLogin(context.Background(), o.ID, c, resp); !errors.Is(err, passkey.ErrNoCeremony) {
		t.Fatalf("finish after expiry: %v", err)
	}
}

func mustAssertion(t *testing.T, f *fixture, o passkey.Owner) any {
	t.Helper()
	a, _, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeStepUp)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestClonedAuthenticatorRefused(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	pk := f.register(o, "Key")
	if _, _, _, err := f.login(o); err != nil { // counter 1
		t.Fatal(err)
	}
	if _, _, _, err := f.login(o); err != nil { // counter 2
		t.Fatal(err)
	}
	// A copy of the key that never saw the second login answers with counter 1.
	assertion, c, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeSecondFactor)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.auth.Assert(f.auth.Credentials()[0], assertion.Response.Challenge.String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var r *passkey.Refusal
	if _, err := f.svc.FinishLogin(context.Background(), o.ID, c, resp); !errors.As(err, &r) {
		t.Fatalf("cloned authenticator: %v, want a refusal", err)
	}
	if got := f.storedCount(pk.ID); got != 2 {
		t.Fatalf("stored count %d after a refused clone, want 2", got)
	}
}

func TestUserVerificationRequired(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	f.auth.NoUserVerification = true
	creation, c, err := f.svc.BeginRegistration(context.Background(), o, "No PIN")
	if err != nil {
		t.Fatal(err)
	}
	if creation.Response.AuthenticatorSelection.UserVerification != "required" ||
		creation.Response.AuthenticatorSelection.ResidentKey != "required" {
		t.Fatalf("selection: %+v", creation.Response.AuthenticatorSelection)
	}
	resp, _ := f.auth.Create(mustJSON(t, creation))
	var r *passkey.Refusal
	if _, err := f.svc.FinishRegistration(context.Background(), o, c, resp); !errors.As(err, &r) {
		t.Fatalf("registration without user verification: %v", err)
	}
}

func TestExistingPasskeysExcludedAndRemove(t *testing.T) {
	f := newFixture(t)
	o := f.operator()
	other := f.operator()
	pk := f.register(o, "Key")
	creation, _, err := f.svc.BeginRegistration(context.Background(), o, "Again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Create(mustJSON(t, creation)); err == nil {
		t.Fatal("the authenticator that holds a passkey was not excluded")
	}
	if _, err := f.svc.Remove(context.Background(), other.ID, pk.ID); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("removing another operator's passkey: %v", err)
	}
	got, err := f.svc.Remove(context.Background(), o.ID, pk.ID)
	if err != nil || got.Name != "Key" {
		t.Fatalf("remove: %+v %v", got, err)
	}
	if list, _ := f.svc.List(context.Background(), o.ID); len(list) != 0 {
		t.Fatalf("left: %+v", list)
	}
	if _, _, err := f.svc.BeginLogin(context.Background(), o.ID, passkey.PurposeStepUp); !errors.Is(err, passkey.ErrNoPasskeys) {
		t.Fatalf("login without passkeys: %v", err)
	}
}
