package drafts_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/drafts"
	"github.com/raas-console/console/internal/operators"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var editForm = drafts.Form{Names: []string{"firstName", "fingerprint", "pinConfirmationLength"}, Prefixes: []string{"attr."}}

func setup(t *testing.T) (*drafts.Store, *pgxpool.Pool, int64) {
	t.Helper()
	pool := dbtest.New(t)
	op, err := operators.NewStore(pool).Create(context.Background(), "ann@example.com", "Ann", operators.RoleSupport, "x")
	if err != nil {
		t.Fatal(err)
	}
	return drafts.NewStore(pool), pool, op.ID
}

func TestSaveGetReplaceDelete(t *testing.T) {
	s, _, op := setup(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 14, 5, 0, 0, time.UTC)
	d := drafts.Draft{OperatorID: op, Page: "/customers/7/edit", Action: "/customers/7",
		Fields:  []drafts.Field{{Name: "firstName", Value: "Zoë"}, {Name: "fingerprint", Value: "abc"}},
		SavedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.Save(ctx, editForm, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, op, d.Page, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != d.Action || len(got.Fields) != 2 || got.Fields[0] != d.Fields[0] || !got.SavedAt.Equal(now) {
		t.Fatalf("got %+v, want %+v", got, d)
	}
	d.Fields = []drafts.Field{{Name: "firstName", Value: "Zoe"}}
	d.SavedAt = now.Add(2 * time.Minute)
	if err := s.Save(ctx, editForm, d); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, op, d.Page, now.Add(3*time.Minute))
	if len(got.Fields) != 1 || got.Fields[0].Value != "Zoe" || !got.SavedAt.Equal(d.SavedAt) {
		t.Fatalf("the second save did not replace the first: %+v", got)
	}
	if _, err := s.Get(ctx, op, "/settings", now); !errors.Is(err, drafts.ErrNotFound) {
		t.Fatalf("another page's draft: err %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, op, d.Page); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, op, d.Page, now); !errors.Is(err, drafts.ErrNotFound) {
		t.Fatalf("after delete: err %v, want ErrNotFound", err)
	}
}

func TestExpiredDraftIsNeverRestoredAndPruned(t *testing.T) {
	s, pool, op := setup(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 14, 5, 0, 0, time.UTC)
	for _, d := range []drafts.Draft{
		{OperatorID: op, Page: "/old", Action: "/old", SavedAt: now, ExpiresAt: now.Add(time.Hour)},
		{OperatorID: op, Page: "/new", Action: "/new", SavedAt: now.Add(50 * time.Minute), ExpiresAt: now.Add(110 * time.Minute)},
	} {
		d.Fields = []drafts.Field{{Name: "firstName", Value: "x"}}
		if err := s.Save(ctx, editForm, d); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Hour)
	if _, err := s.Get(ctx, op, "/old", later); !errors.Is(err, drafts.ErrNotFound) {
		t.Fatalf("an expired draft was restored: err %v", err)
	}
	n, err := s.Prune(ctx, later)
	if err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want 1 deleted", n, err)
	}
	var left int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM drafts`).Scan(&left)
	if left != 1 {
		t.Fatalf("%d drafts left, want the live one", left)
	}
	if _, err := s.Get(ctx, op, "/new", later); err != nil {
		t.Fatalf("the live draft: %v", err)
	}
}

// TestSecretsNeverReachTheTable plants a canary in every kind of secret field a form
// could send and searches the whole table for it.
func TestSecretsNeverReachTheTable(t *testing.T) {
	s, pool, op := setup(t)
	ctx := context.Background()
	const canary = "canary-Pa55word-7f3e"
	now := time.Now()
	fields := []drafts.Field{{Name: "firstName", Value: "Ann"}, {Name: "pinConfirmationLength", Value: "6"}}
	for _, n := range []string{"password", "newPassword", "current_password", "_csrf", "nonce", "code", "totp_code",
		"recovery-codes", "pin", "secret", "apiKey", "token", "attr.1.token", "attr.2.password", "unlisted", "attr.3.pin"} {
		fields = append(fields, drafts.Field{Name: n, Value: canary})
	}
	d := drafts.Draft{OperatorID: op, Page: "/p", Action: "/a", Fields: fields, SavedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.Save(ctx, editForm, d); err != nil {
		t.Fatal(err)
	}
	var dump string
	if err := pool.QueryRow(ctx, `SELECT string_agg(d::text, ' ') FROM drafts d`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, canary) {
		t.Fatalf("a secret was stored: %s", dump)
	}
	if !strings.Contains(dump, "Ann") || !strings.Contains(dump, "pinConfirmationLength") {
		t.Fatalf("the form's own fields were not kept: %s", dump)
	}
}

func TestIsSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "newPassword": true, "new_password_again": true, "totp_code": true, "recovery-codes": true,
		"pin": true, "PIN": true, "otp": true, "apiKey": true, "client_secret": true, "_csrf": true, "nonce": true,
		"reason": false, "deviceId": false, "firstName": false, "attr.1.value": false, "email": false, "opinion": false,
	} {
		if got := drafts.IsSecret(name); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFormKeepsOnlyItsFieldsWithinLimits(t *testing.T) {
	long := strings.Repeat("x", drafts.MaxValueBytes+1)
	got := editForm.Keep([]drafts.Field{{Name: "firstName", Value: long}, {Name: "attr.1.value", Value: "v"},
		{Name: "lastName", Value: "not listed"}, {Name: "fingerprint", Value: "f"}})
	if len(got) != 2 || got[0].Name != "attr.1.value" || got[1].Name != "fingerprint" {
		t.Fatalf("kept %+v", got)
	}
}
