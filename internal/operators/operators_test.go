package operators_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestCreateAndFindCaseInsensitively(t *testing.T) {
	ctx := context.Background()
	s := operators.NewStore(dbtest.New(t))
	op, err := s.Create(ctx, "Ann.Support@Example.com", "Ann", operators.RoleSupport, "$argon2id$x")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ByEmail(ctx, "ann.support@example.COM")
	if err != nil || got.ID != op.ID {
		t.Fatalf("ByEmail = %+v, %v", got, err)
	}
	if _, err := s.Create(ctx, "ann.support@example.com", "Other", operators.RoleAdmin, "h"); !errors.Is(err, operators.ErrExists) {
		t.Fatalf("duplicate e-mail: err = %v, want ErrExists", err)
	}
	if _, err := s.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("unknown e-mail: err = %v, want ErrNotFound", err)
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	ctx := context.Background()
	s := operators.NewStore(dbtest.New(t))
	op, err := s.Create(ctx, "bob@example.com", "Bob", operators.RoleAdmin, "h")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 1; i <= operators.MaxFailures; i++ {
		attempt, ok, err := s.ReserveSignIn(ctx, op.ID, now)
		if err != nil || !ok || attempt != i {
			t.Fatalf("attempt %d: got %d, %v, %v", i, attempt, ok, err)
		}
	}
	if _, ok, err := s.ReserveSignIn(ctx, op.ID, now); ok || err != nil {
		t.Fatalf("attempt past the limit reserved: %v, %v", ok, err)
	}
	op, _ = s.ByID(ctx, op.ID)
	if op.FailedSignins != operators.MaxFailures || !op.Locked(now) || op.Locked(now.Add(operators.LockDuration+time.Second)) {
		t.Fatalf("lock wrong: %d failures, until %v", op.FailedSignins, op.LockedUntil)
	}
	// A lock that has run out starts a new series.
	later := now.Add(operators.LockDuration + time.Second)
	if attempt, ok, err := s.ReserveSignIn(ctx, op.ID, later); !ok || err != nil || attempt != 1 {
		t.Fatalf("after the lock: %d, %v, %v", attempt, ok, err)
	}
	op, _ = s.ByID(ctx, op.ID)
	if op.Locked(later) {
		t.Fatalf("still locked after the lock ran out: %v", op.LockedUntil)
	}
	if err := s.RecordSuccess(ctx, op.ID, later); err != nil {
		t.Fatal(err)
	}
	op, _ = s.ByID(ctx, op.ID)
	if op.Locked(now) || op.FailedSignins != 0 {
		t.Fatalf("success did not clear the count: %+v", op)
	}
	disabled, _ := s.Create(ctx, "dis@example.com", "Dis", operators.RoleSupport, "h")
	if _, err := s.SetDisabled(ctx, disabled.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ReserveSignIn(ctx, disabled.ID, now); ok {
		t.Fatal("a disabled operator's attempt was reserved")
	}
}

// Parallel attempts never count past the limit.
func TestReserveSignInInParallel(t *testing.T) {
	ctx := context.Background()
	s := operators.NewStore(dbtest.New(t))
	op, _ := s.Create(ctx, "par@example.com", "Par", operators.RoleSupport, "h")
	now := time.Now()
	var wg sync.WaitGroup
	var reserved atomic.Int32
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := s.ReserveSignIn(ctx, op.ID, now); err == nil && ok {
				reserved.Add(1)
			}
		}()
	}
	wg.Wait()
	op, _ = s.ByID(ctx, op.ID)
	if reserved.Load() != operators.MaxFailures || op.FailedSignins != operators.MaxFailures {
		t.Fatalf("%d of 40 parallel attempts reserved, %d counted; want %d", reserved.Load(), op.FailedSignins, operators.MaxFailures)
	}
}

func TestOneTimePasswordLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := operators.NewStore(pool)
	own, _ := s.Create(ctx, "own@example.com", "Own", operators.RoleSupport, "h")
	if own.MustChangePassword {
		t.Fatal("an operator who chose their password must change it")
	}
	op, err := s.CreateWithOneTimePassword(ctx, "dave@example.com", "Dave", operators.RoleSupport, "h1")
	if err != nil || !op.MustChangePassword {
		t.Fatalf("one-time: %+v, %v", op, err)
	}
	sessions := func() (n int) {
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE operator_id = $1`, op.ID).Scan(&n)
		return n
	}
	addSession := func() {
		if _, err := pool.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, created_at, last_seen_at, expires_at)
			VALUES (gen_random_uuid()::text::bytea, $1, now(), now(), now() + interval '1 hour')`, op.ID); err != nil {
			t.Fatal(err)
		}
	}
	addSession()
	now := time.Now()
	op, err = s.ChangePassword(ctx, op.ID, "h2", now)
	if err != nil || op.MustChangePassword || op.PasswordHash != "h2" || op.PasswordChangedAt == nil || sessions() != 0 {
		t.Fatalf("change: %+v, %v, %d sessions", op, err, sessions())
	}
	addSession()
	for range operators.MaxFailures {
		_, _, _ = s.ReserveSignIn(ctx, op.ID, now)
	}
	op, err = s.ResetPassword(ctx, op.ID, "h3")
	if err != nil || !op.MustChangePassword || op.PasswordHash != "h3" || op.Locked(now) || op.FailedSignins != 0 || sessions() != 0 {
		t.Fatalf("reset: %+v, %v, %d sessions", op, err, sessions())
	}
	if _, err := s.ResetPassword(ctx, 999999, "h"); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("reset of nobody: %v", err)
	}
}

func TestRoleChangeAndDisableEndSessions(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := operators.NewStore(pool)
	op, _ := s.Create(ctx, "carol@example.com", "Carol", operators.RoleSupport, "h")
	addSession := func() {
		_, err := pool.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, created_at, last_seen_at, expires_at)
			VALUES (gen_random_uuid()::text::bytea, $1, now(), now(), now() + interval '1 hour')`, op.ID)
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int) {
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE operator_id = $1`, op.ID).Scan(&n)
		return n
	}
	addSession()
	if _, err := s.SetRole(ctx, op.ID, operators.RoleAuditor); err != nil || count() != 0 {
		t.Fatalf("role change left %d sessions (err %v)", count(), err)
	}
	addSession()
	if _, err := s.SetDisabled(ctx, op.ID, true); err != nil || count() != 0 {
		t.Fatalf("disable left %d sessions (err %v)", count(), err)
	}
	if _, err := s.SetRole(ctx, 999999, operators.RoleAdmin); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}
