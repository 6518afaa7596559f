package operators_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
)

// An operator created by single sign-on has no password, is marked SSO and is found by
// the provider's subject; a second one with the same e-mail or subject is refused.
func TestCreateSSOAndFindBySubject(t *testing.T) {
	ctx := context.Background()
	s := operators.NewStore(dbtest.New(t))
	op, err := s.CreateSSO(ctx, "Sam@Example.com", "Sam", operators.RoleSupport, "https://idp|sam")
	if err != nil {
		t.Fatal(err)
	}
	if !op.SSO || op.PasswordHash != "" || op.MustChangePassword || op.SSOSubject == nil || *op.SSOSubject != "https://idp|sam" {
		t.Fatalf("created %+v", op)
	}
	got, err := s.BySubject(ctx, "https://idp|sam")
	if err != nil || got.ID != op.ID {
		t.Fatalf("BySubject = %+v, %v", got, err)
	}
	if _, err := s.BySubject(ctx, "https://idp|other"); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("unknown subject: %v", err)
	}
	if _, err := s.CreateSSO(ctx, "sam@example.com", "Sam 2", operators.RoleSupport, "https://idp|sam2"); !errors.Is(err, operators.ErrExists) {
		t.Fatalf("same e-mail: %v", err)
	}
	if _, err := s.CreateSSO(ctx, "sam2@example.com", "Sam 2", operators.RoleSupport, "https://idp|sam"); !errors.Is(err, operators.ErrExists) {
		t.Fatalf("same subject: %v", err)
	}
}

// An admin's link lets a password operator bind a subject at their first single sign-on
// and ends their sessions; unlinking forgets the subject; an operator created by single
// sign-on cannot be unlinked; an unlinked one cannot be bound.
func TestSSOLinkAndBind(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := operators.NewStore(pool)
	op, err := s.Create(ctx, "pat@example.com", "Pat", operators.RoleAdmin, "$argon2id$x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BindSubject(ctx, op.ID, "iss|pat"); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("bound an operator no admin linked: %v", err)
	}
	addSession(t, ctx, pool, op.ID)
	linked, err := s.SetSSOLink(ctx, op.ID, true)
	if err != nil || !linked.SSO || linked.PasswordHash == "" {
		t.Fatalf("link: %+v, %v", linked, err)
	}
	if n := sessionCount(t, ctx, pool, op.ID); n != 0 {
		t.Fatalf("%d sessions survived the link", n)
	}
	bound, err := s.BindSubject(ctx, op.ID, "iss|pat")
	if err != nil || bound.SSOSubject == nil || *bound.SSOSubject != "iss|pat" {
		t.Fatalf("bind: %+v, %v", bound, err)
	}
	if _, err := s.BindSubject(ctx, op.ID, "iss|someone-else"); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("rebound to another subject: %v", err)
	}
	unlinked, err := s.SetSSOLink(ctx, op.ID, false)
	if err != nil || unlinked.SSO || unlinked.SSOSubject != nil {
		t.Fatalf("unlink: %+v, %v", unlinked, err)
	}
	sso, _ := s.CreateSSO(ctx, "only@example.com", "Only", operators.RoleSupport, "iss|only")
	if _, err := s.SetSSOLink(ctx, sso.ID, false); !errors.Is(err, operators.ErrSSOOnly) {
		t.Fatalf("unlinked a single sign-on operator: %v", err)
	}
}

// Break-glass is a mark that does not touch sessions; the provider's role is set without
// ending the sessions and reports whether it changed.
func TestBreakGlassAndRoleFromProvider(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := operators.NewStore(pool)
	op, _ := s.Create(ctx, "bg@example.com", "Bg", operators.RoleAdmin, "h")
	got, err := s.SetBreakGlass(ctx, op.ID, true)
	if err != nil || !got.BreakGlass {
		t.Fatalf("break-glass on: %+v, %v", got, err)
	}
	if got, _ = s.SetBreakGlass(ctx, op.ID, false); got.BreakGlass {
		t.Fatal("break-glass still on")
	}
	if _, err := s.SetBreakGlass(ctx, 999999, true); !errors.Is(err, operators.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	sso, _ := s.CreateSSO(ctx, "r@example.com", "R", operators.RoleSupport, "iss|r")
	addSession(t, ctx, pool, sso.ID)
	if _, changed, err := s.SetRoleFromProvider(ctx, sso.ID, operators.RoleSupport); err != nil || changed {
		t.Fatalf("same role: changed %v, %v", changed, err)
	}
	after, changed, err := s.SetRoleFromProvider(ctx, sso.ID, operators.RoleAuditor)
	if err != nil || !changed || after.Role != operators.RoleAuditor {
		t.Fatalf("new role: %+v, %v, %v", after, changed, err)
	}
	if n := sessionCount(t, ctx, pool, sso.ID); n != 1 {
		t.Fatalf("%d sessions after the provider's role, want 1 (not ended here)", n)
	}
}

// addSession gives the operator a live session.
func addSession(t *testing.T, ctx context.Context, pool *pgxpool.Pool, operatorID int64) {
	t.Helper()
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, created_at, last_seen_at, expires_at)
		VALUES (gen_random_uuid()::text::bytea, $1, now(), now(), now() + interval '1 hour')`, operatorID); err != nil {
		t.Fatal(err)
	}
}

// sessionCount is how many sessions the operator has.
func sessionCount(t *testing.T, ctx context.Context, pool *pgxpool.Pool, operatorID int64) (n int) {
	t.Helper()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE operator_id = $1`, operatorID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
