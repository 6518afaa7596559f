package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
)

// A password given on stdin to `console operator add` is the operator's own: they keep it.
// One the console generates — a reset on the command line — is one-time: printed once, to
// be changed at the next sign-in; the reset ends their sessions, and neither the audit log
// nor stderr holds it.
func TestOperatorAddKeepsPasswordResetIsOneTime(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t)
	env := map[string]string{"DATABASE_URL": url, "CONSOLE_SESSION_SECRET": strings.Repeat("ab", 32), "CONSOLE_LOG_LEVEL": "debug"}
	var stderr bytes.Buffer
	console := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &stderr)
		return out.String(), err
	}
	const typed = "typed-By-The-Admin-1234"
	if out, err := console(typed+"\n", "operator", "add", "--email", "cli@example.com", "--name", "Cli", "--role", "support"); err != nil ||
		strings.Contains(out, "must change the password") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	state := func() (hash string, mustChange bool) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT password_hash, must_change_password FROM operators WHERE email = 'cli@example.com'`).Scan(&hash, &mustChange); err != nil {
			t.Fatal(err)
		}
		return hash, mustChange
	}
	if hash, must := state(); must || !password.Verify(typed, hash) {
		t.Fatalf("an operator added on the command line with their own password: must change %v", must)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, created_at, last_seen_at, expires_at)
		SELECT 'x'::bytea, id, now(), now(), now() + interval '1 hour' FROM operators WHERE email = 'cli@example.com'`); err != nil {
		t.Fatal(err)
	}

	out, err := console("", "operator", "reset-password", "--email", "cli@example.com")
	if err != nil {
		t.Fatalf("reset-password: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	oneTime := ""
	if len(lines) >= 2 {
		oneTime = strings.TrimSpace(lines[1])
	}
	hash, must := state()
	if !must || oneTime == "" || !password.Verify(oneTime, hash) || password.Verify(typed, hash) {
		t.Fatalf("after reset-password: must change %v, printed %q\n%s", must, oneTime, out)
	}
	var sessions, stored int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions)
	if sessions != 0 {
		t.Fatalf("%d sessions survived the reset", sessions)
	}
	for _, pw := range []string{oneTime, typed} {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_events a WHERE strpos(row_to_json(a)::text, $1) > 0`, pw).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("%d audit rows hold a password (%v)", stored, err)
		}
		if strings.Contains(stderr.String(), pw) {
			t.Fatal("stderr holds a password")
		}
	}
	var actions []string
	rows, _ := conn.Query(ctx, `SELECT action || ':' || outcome FROM audit_events ORDER BY seq`)
	actions, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	if got := strings.Join(actions, " "); got != "operator.create:pending operator.create:succeeded operator.password_reset:pending operator.password_reset:succeeded" {
		t.Fatalf("audit: %s", got)
	}
	if _, err := console("", "operator", "reset-password", "--email", "nobody@example.com"); err == nil {
		t.Fatal("reset-password of nobody succeeded")
	}
}

// An operator added with --break-glass is marked so (password sign-in stays open for them
// when CONSOLE_LOCAL_SIGNIN=off) and the audit record says so; without it nobody is.
func TestOperatorAddBreakGlass(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	ops, auditLog := operators.NewStore(pool), audit.NewStore(pool)
	actor := audit.Actor{Email: "console-cli", Role: "system"}
	var out bytes.Buffer
	const pw = "typed-By-The-Admin-1234\n"
	n := newOperator{email: "bg@example.com", name: "Bg", role: "admin", breakGlass: true}
	if err := addOperator(ctx, ops, auditLog, actor, n, strings.NewReader(pw), &out); err != nil || !strings.Contains(out.String(), "break-glass") {
		t.Fatalf("add --break-glass: %v\n%s", err, out.String())
	}
	if op, err := ops.ByEmail(ctx, "bg@example.com"); err != nil || !op.BreakGlass || op.Role != operators.RoleAdmin {
		t.Fatalf("break-glass operator: %+v, %v", op, err)
	}
	n = newOperator{email: "plain@example.com", name: "Plain", role: "support"}
	if err := addOperator(ctx, ops, auditLog, actor, n, strings.NewReader(pw), &out); err != nil {
		t.Fatal(err)
	}
	if op, _ := ops.ByEmail(ctx, "plain@example.com"); op.BreakGlass {
		t.Fatal("an operator added without --break-glass is break-glass")
	}
	var marked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'operator.create'
		AND target_label = 'bg@example.com' AND after->>'break_glass' = 'true'`).Scan(&marked); err != nil || marked == 0 {
		t.Fatalf("no audit row records the break-glass mark (%v)", err)
	}
}
