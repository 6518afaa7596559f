package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/mfa"
	"github.com/raas-console/console/internal/operators"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var sessionSecret = bytes.Repeat([]byte("s"), 32)

// enrolled makes an operator with a confirmed authenticator app; it returns the store,
// the pool, the operator id, the base32 secret and the recovery codes.
func enrolled(t *testing.T, now time.Time) (*mfa.Store, *pgxpool.Pool, int64, string, []string) {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	op, err := operators.NewStore(pool).Create(ctx, "ann@example.com", "Ann", operators.RoleAdmin, "h")
	if err != nil {
		t.Fatal(err)
	}
	s, err := mfa.NewStore(pool, sessionSecret)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := s.Begin(ctx, op.ID, op.Email)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(enr.URL, "issuer=RaaS%20Console") || !strings.Contains(enr.URL, "ann@example.com") {
		t.Fatalf("otpauth URL %q lacks issuer or account", enr.URL)
	}
	if ok, _ := s.Enrolled(ctx, op.ID); ok {
		t.Fatal("enrolled before confirming")
	}
	if _, err := s.Confirm(ctx, op.ID, wrongCode(t, enr.Secret, now), now); !errors.Is(err, mfa.ErrWrongCode) {
		t.Fatalf("wrong code confirmed: %v", err)
	}
	// The confirming code comes from the step before: confirming spends that step only.
	codes, err := s.Confirm(ctx, op.ID, code(t, enr.Secret, now.Add(-30*time.Second)), now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Enrolled(ctx, op.ID); !ok {
		t.Fatal("not enrolled after confirming")
	}
	return s, pool, op.ID, enr.Secret, codes
}

// wrongCode is a six-digit code that is none of the secret's codes around now.
func wrongCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != code(t, secret, now) && c != code(t, secret, now.Add(-30*time.Second)) && c != code(t, secret, now.Add(30*time.Second)) {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodeAcceptedOnceWithSkew(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s, _, id, secret, _ := enrolled(t, now)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"the code of the step before, already spent by the confirmation", now.Add(-30 * time.Second), false},
		{"the current code", now, true},
		{"the same code again (replay)", now, false},
		{"the next step's code (clock skew)", now.Add(30 * time.Second), true},
		{"two steps ahead (beyond the skew)", now.Add(90 * time.Second), false},
		{"an older code after a newer one", now, false},
	} {
		ok, err := s.Verify(ctx, id, code(t, secret, tc.at), now)
		if err != nil || ok != tc.want {
			t.Errorf("%s: Verify = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}
	later := now.Add(5 * time.Minute)
	if ok, _ := s.Verify(ctx, id, code(t, secret, later.Add(-30*time.Second)), later); !ok {
		t.Error("the previous step's code (skew) refused later on")
	}
	if ok, _ := s.Verify(ctx, id, "12345", later); ok {
		t.Error("a five-digit code accepted")
	}
}

func TestParallelUseOfOneCodeAcceptsOne(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s, _, id, secret, codes := enrolled(t, now)
	c := code(t, secret, now.Add(30*time.Second))
	var totpOK, recoveryOK atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if ok, err := s.Verify(ctx, id, c, now); err == nil && ok {
				totpOK.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			if ok, _, err := s.UseRecoveryCode(ctx, id, codes[3], now); err == nil && ok {
				recoveryOK.Add(1)
			}
		}()
	}
	wg.Wait()
	if totpOK.Load() != 1 || recoveryOK.Load() != 1 {
		t.Fatalf("20 parallel uses: TOTP code accepted %d times, recovery code %d times; want 1 each", totpOK.Load(), recoveryOK.Load())
	}
}

func TestRecoveryCodesWorkOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s, pool, id, _, codes := enrolled(t, now)
	if len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("%d recovery codes, want %d", len(codes), mfa.RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("recovery code %q: want a distinct xxxxx-xxxxx", c)
		}
		seen[c] = true
	}
	// Typed in upper case without the hyphen, it is the same code.
	typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
	if ok, left, err := s.UseRecoveryCode(ctx, id, typed, now); !ok || left != 9 || err != nil {
		t.Fatalf("first use: %v, %d left, %v", ok, left, err)
	}
	if ok, left, _ := s.UseRecoveryCode(ctx, id, codes[0], now); ok || left != 9 {
		t.Fatalf("second use of the same code: %v, %d left", ok, left)
	}
	if ok, _, _ := s.UseRecoveryCode(ctx, id, "zzzzz-zzzzz", now); ok {
		t.Fatal("an unknown code accepted")
	}
	var stored int
	for _, c := range codes {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM operator_recovery_codes WHERE position($1::bytea in code_hash) > 0`,
			[]byte(mfa.NormalizeRecoveryCode(c))).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("recovery code %q found in the table (%d rows, %v)", c, stored, err)
		}
	}
	fresh, err := s.RegenerateRecoveryCodes(ctx, id, now)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %d codes, %v", len(fresh), err)
	}
	if ok, _, _ := s.UseRecoveryCode(ctx, id, codes[1], now); ok {
		t.Fatal("an old recovery code still works after making new ones")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, id); n != 10 {
		t.Fatalf("%d left after making new ones", n)
	}
	if err := s.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.UseRecoveryCode(ctx, id, fresh[0], now); ok {
		t.Fatal("a recovery code works after the authenticator app was removed")
	}
	if ok, _ := s.Enrolled(ctx, id); ok {
		t.Fatal("still enrolled after Remove")
	}
}

func TestSecretSealedAtRest(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s, pool, id, secret, _ := enrolled(t, now)
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT secret FROM operator_totp WHERE operator_id = $1`, id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{secret, strings.ToLower(secret), secret[:16]} {
		if bytes.Contains(sealed, []byte(clear)) {
			t.Fatalf("the secret is stored in clear: %q", sealed)
		}
	}
	other, err := mfa.NewStore(pool, bytes.Repeat([]byte("x"), 32))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := other.Verify(ctx, id, code(t, secret, now.Add(30*time.Second)), now); ok || !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("another key opened the secret: %v, %v", ok, err)
	}
	// Copied to another operator's row, the sealed secret does not open either.
	bob, _ := operators.NewStore(pool).Create(ctx, "bob@example.com", "Bob", operators.RoleSupport, "h")
	if _, err := pool.Exec(ctx, `INSERT INTO operator_totp (operator_id, secret, confirmed_at) VALUES ($1, $2, now())`, bob.ID, sealed); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Verify(ctx, bob.ID, code(t, secret, now.Add(30*time.Second)), now); ok || !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("a secret copied to another operator opened: %v, %v", ok, err)
	}
}

func TestNewSetupKeepsTheConfirmedApp(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s, _, id, secret, _ := enrolled(t, now)
	enr, err := s.Begin(ctx, id, "ann@example.com")
	if err != nil || enr.Secret == secret {
		t.Fatalf("Begin: %v (same secret: %v)", err, enr.Secret == secret)
	}
	if ok, _ := s.Verify(ctx, id, code(t, secret, now), now); !ok {
		t.Fatal("the confirmed app stopped working when a new one was being set up")
	}
	if got, err := s.Pending(ctx, id); err != nil || got.Secret != enr.Secret {
		t.Fatalf("Pending = %v, %v", got.Secret, err)
	}
	png, err := enr.QRCode()
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("QR code: %v", err)
	}
	later := now.Add(time.Minute)
	if _, err := s.Confirm(ctx, id, code(t, enr.Secret, later), later); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Verify(ctx, id, code(t, secret, later.Add(30*time.Second)), later); ok {
		t.Fatal("the old app still works after the new one was confirmed")
	}
	if _, err := s.Pending(ctx, id); !errors.Is(err, mfa.ErrNoPending) {
		t.Fatalf("Pending after confirming: %v", err)
	}
}
