package operators_test

import (
	"context"
	"errors"
	"os"
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
		locked, err := s.RecordFailure(ctx, op.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		if locked != (i == operators.MaxFailures) {
			t.Fatalf("failure %d: locked = %v", i, locked)
		}
	}
	op, _ = s.ByID(ctx, op.ID)
	if !op.Locked(now) || op.Locked(now.Add(operators.LockDuration+time.Second)) {
		t.Fatalf("lock window wrong: %v", op.LockedUntil)
	}
	if err := s.RecordSuccess(ctx, op.ID, now); err != nil {
		t.Fatal(err)
	}
	op, _ = s.ByID(ctx, op.ID)
	if op.Locked(now) || op.FailedSignins != 0 {
		t.Fatalf("success did not clear the lock: %+v", op)
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
